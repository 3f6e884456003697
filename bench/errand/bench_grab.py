"""Benchmark: grab races on PostgreSQL — 100,000 attempts in all, about 3,100 errands with 32
contenders each, offered at 200 attempts a second.

A fresh database (the whole schema) holds the errands, open, and 320 runners on duty beside
them (capacity high enough never to bind). The attempts of one errand are its 32 contenders'
grabs, scheduled within a few milliseconds of each other; errands follow one another so that
the attempts are offered at ``--rate`` a second (open loop: an attempt starts on schedule
whether or not the earlier ones have finished), by ``--workers`` threads, each attempt
``service.grab`` in its own committed transaction — exactly what the API does per request.

At the end: every errand has exactly one runner, one ``errand.grab`` audit entry and one
winning attempt; the runners' counts add up to the winners (0 double assignments).

    .venv/bin/python bench/errand/bench_grab.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/errand/bench_grab.py --attempts 20000 --postgres URL   # a shorter run

Target (issue #16): 0 double assignments, p99 ≤ 50 ms at 200 attempts/s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

os.environ.setdefault("TONGBAN_ENV", "test")

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.core import db as core_db
from tongban.core.audit import AuditEntry
from tongban.core.db import Base, utcnow
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service
from tongban.errand.models import Errand, ErrandItem, Runner
from tongban.models_registry import import_all_models
from tongban.org.models import Org, User

SEAT = (31.867, 106.747)
CONTENDERS = 32
RUNNERS = 320


def seed(engine: object, errands: int) -> tuple[list[int], list[int]]:
    with Session(engine) as db:  # type: ignore[call-overload]
        org = Org(code="511902", name="巴州区", short_name="巴州区", level="county", path="/1/")
        db.add(org)
        db.flush()
        item = ErrandItem(item_code="BENCH", name="抢单基准", published_on=date(2026, 12, 1))
        db.add(item)
        db.flush()
        users = [User(username=f"bench-{n}", password_hash="x", role=Role.runner.value,
                      org_id=org.id) for n in range(RUNNERS)]
        db.add_all(users)
        db.flush()
        runners = [Runner(user_id=u.id, team_org_id=org.id, capacity=errands, on_duty=True,
                          lat=SEAT[0], lng=SEAT[1], position_at=utcnow()) for u in users]
        db.add_all(runners)
        found = [Errand(item_id=item.id, zone_org_id=org.id, pickup_lat=SEAT[0],
                        pickup_lng=SEAT[1], state="open", authorised=True)
                 for _ in range(errands)]
        db.add_all(found)
        db.commit()
        return [r.id for r in runners], [e.id for e in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, help="an admin URL of PostgreSQL")
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0, help="attempts offered a second")
    parser.add_argument("--workers", type=int, default=24)
    args = parser.parse_args()
    import_all_models()
    errands = max(1, args.attempts // CONTENDERS)
    with core_db.scratch_database(args.postgres) as url:
        engine = core_db.make_engine(url, pool_size=args.workers)  # a connection per worker
        Base.metadata.create_all(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        core_db.get_sessionmaker = lambda: factory  # type: ignore[assignment]
        core_db.get_engine = lambda: engine  # type: ignore[assignment]
        runner_ids, errand_ids = seed(engine, errands)
        rng = random.Random(16)
        plan = [(errand, runner) for errand in errand_ids
                for runner in rng.sample(runner_ids, CONTENDERS)]
        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        start = time.perf_counter() + 0.5

        def attempt(n: int) -> None:
            errand_id, runner_id = plan[n]
            due = start + n / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                with core_db.session_scope() as db:
                    won = service.grab(db, actor=SYSTEM_ACTOR, errand_id=errand_id,
                                       runner_id=runner_id)
                    outcome = "retry" if won.retry else "won"
            except service.Taken:
                outcome = "taken"
            except service.NotEligible:
                outcome = "not_eligible"
            spent = (time.perf_counter() - began) * 1000
            with lock:
                outcomes[outcome] += 1
                latencies.append(spent)

        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(attempt, range(len(plan))))
        elapsed = time.perf_counter() - start
        with Session(engine) as db:
            owned = db.scalar(select(func.count()).where(Errand.runner_id.is_not(None)))
            accepted = db.scalar(select(func.count()).where(Errand.state == "accepted"))
            held = db.scalar(select(func.sum(Runner.active_count)))
            entries = db.execute(select(AuditEntry.object_id, func.count())
                                 .where(AuditEntry.action == "errand.grab")
                                 .group_by(AuditEntry.object_id)).all()
        engine.dispose()
    doubles = sum(1 for _, n in entries if n > 1)
    latencies.sort()
    p = {q: latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))]
         for q in (50, 95, 99)}
    print(f"{len(plan)} attempts on {errands} errands ({CONTENDERS} contenders each), offered "
          f"at {args.rate:g}/s by {args.workers} threads: {len(plan) / elapsed:.0f} attempts/s "
          f"achieved over {elapsed:.0f} s")
    print(f"outcomes: {dict(outcomes)}")
    print(f"latency ms: p50 {p[50]:.1f}, p95 {p[95]:.1f}, p99 {p[99]:.1f}, max {latencies[-1]:.1f}"
          f", mean {statistics.fmean(latencies):.1f}")
    print(f"errands with a runner {owned}/{errands}, accepted {accepted}, runner slots held "
          f"{held}, grab entries {len(entries)}, errands with more than one grab entry {doubles}")
    ok = outcomes["won"] == errands == owned == accepted == held == len(entries) and not doubles
    print("0 double assignments" if ok else "DOUBLE ASSIGNMENT OR LOST GRAB")


if __name__ == "__main__":
    main()
