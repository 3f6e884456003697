"""Benchmark: score 180 indicators × 60 orgs × 12 months from metric values.

Measures, in one run on a fresh database:
  load     — merely reading the year's metric rows (the same query scoring uses)
  score    — computing and storing the 12 draft sheets from those rows (load and score: best
             of three runs each, taken in turns in the same process)
  rescore  — recomputing all 12 after a new scheme version changes weights
  whatif   — one what-if on a stored sheet (median of 50)
Targets (issue #3): score ≤ 1 s, score ≤ 3 × load, what-if ≤ 50 ms.

    .venv/bin/python bench/assessment/bench_scoring.py                 # SQLite (temp file)
    .venv/bin/python bench/assessment/bench_scoring.py --postgres URL  # a fresh PG database
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

os.environ.setdefault("TONGBAN_ENV", "test")
# 60 counties to score: the whole province's tree, as a provincial deployment holds it
os.environ.setdefault("TONGBAN_REFERENCE_SCOPE", "province")

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.assessment import analysis, service
from tongban.assessment.models import MetricValue
from tongban.core import db as core_db
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service
from tongban.org.models import Org

ORGS, INDICATORS, MONTHS = 60, 180, 12
REPEAT = 3
PERIODS = [f"2026-{m:02d}" for m in range(1, MONTHS + 1)]


def scheme_yaml(version: str, bump: float) -> str:
    """180 indicators over 12 categories, every rule type, 2 metrics each on average."""
    lines = [f"code: bench\nname: 基准方案\nversion: \"{version}\"\neffective_from: 2026-01",
             "cohort: bench-60\ntotal_points: 180\ngrading: {good_top: 10, poor_bottom: 10}",
             "categories:"]
    for c in range(12):
        lines.append(f"  - code: C{c:02d}\n    name: 大类{c}\n    indicators:")
        for i in range(15):
            n = c * 15 + i
            points = 1 + (bump if n % 2 == 0 else -bump)
            kind = n % 6
            rule = [
                f"{{type: ratio, numerator: [m{n}a, m{n}b], denominator: m{n}c}}",
                f"{{type: threshold, metric: m{n}a, target: 90, below: linear, floor: 50}}",
                f"{{type: per_event_deduction, metric: m{n}a, points_each: 0.1}}",
                f"{{type: formula, expression: 'min(1, m{n}a / max(m{n}b, 1)) * {points}'}}",
                f"{{type: rank_based, metric: m{n}a, min_points: 0}}",
                f"{{type: given, metric: m{n}a}}",
            ][kind]
            lines.append(f"      - {{code: I{n:03d}, name: 指标{n}, max_points: {points}, "
                         f"rule: {rule}}}")
    return "\n".join(lines) + "\n"


def metric_rows(org_ids: list[int]) -> list[dict[str, object]]:
    rng = random.Random(7)
    rows: list[dict[str, object]] = []
    now = core_db.utcnow()
    for period in PERIODS:
        for org_id in org_ids:
            for n in range(INDICATORS):
                kind = n % 6
                names = ["a", "b", "c"] if kind == 0 else (["a", "b"] if kind == 3 else ["a"])
                for suffix in names:
                    value = {"a": rng.uniform(40, 100), "b": rng.uniform(0, 20),
                             "c": rng.uniform(100, 130)}[suffix]
                    if kind == 2:
                        value = float(rng.randint(0, 5))
                    if kind == 5:
                        value = rng.uniform(0.5, 1)
                    rows.append({"period": period, "org_id": org_id, "metric": f"m{n}{suffix}",
                                 "value": value, "source": "bench", "evidence": "",
                                 "updated_at": now})
    return rows


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(url: str) -> dict[str, float]:
    engine = core_db.make_engine(url)
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        org_service.load_reference_divisions(db)
        counties = list(db.scalars(select(Org).where(Org.level == "county")
                                   .order_by(Org.code).limit(ORGS)))
        org_service.create_cohort(db, actor=SYSTEM_ACTOR, code="bench-60", name="基准60",
                                  members=counties)
        service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml("1", 0.0))
        rows = metric_rows([o.id for o in counties])
        for start in range(0, len(rows), 20000):
            db.execute(insert(MetricValue), rows[start:start + 20000])
        db.commit()
        org_ids = [o.id for o in counties]
        cohort = service.get_cohort(db, code="bench-60")
        scheme = service.scheme_for(db, cohort=cohort, period=PERIODS[0])
        metrics = service.scheme_definition(scheme).metrics()

        def load() -> None:
            for period in PERIODS:
                service.metric_values(db, period=period, org_ids=org_ids, metrics=metrics)

        def score() -> None:
            for period in PERIODS:
                service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bench-60",
                                      period=period)
            db.commit()

        load()  # warm the connection and caches the same way for both measurements
        # Best of three for each, taken in turns (load, score, load, score …) so that a change in
        # the shared machine's pace falls on both; the first score computes, the rest recompute.
        t_load = t_score = float("inf")
        for _ in range(REPEAT):
            t_load = min(t_load, timed(load))
            t_score = min(t_score, timed(score))
        service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml("2", 0.25))
        db.commit()
        t_rescore = timed(score)
        sheet = service.require_sheet(db, cohort_code="bench-60", period="2026-06")
        target = sheet.lines[30].org.code
        samples = [timed(lambda: analysis.whatif(
            db, actor=SYSTEM_ACTOR, cohort_code="bench-60", period="2026-06", org_ref=target,
            set_points={"I000": 0.5}, set_metrics={"m4a": 99.0})) for _ in range(50)]
    engine.dispose()
    return {"rows": float(len(rows)), "load": t_load, "score": t_score, "rescore": t_rescore,
            "whatif_median": statistics.median(samples), "whatif_p95": sorted(samples)[47]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    with core_db.scratch_database(args.postgres) as url:
        result = run(url)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}: {int(result['rows']):,} metric rows, {ORGS} orgs × {INDICATORS} "
          f"indicators × {MONTHS} months")
    print(f"  load metric rows     {result['load'] * 1000:8.0f} ms")
    print(f"  score full year      {result['score'] * 1000:8.0f} ms   "
          f"({result['score'] / result['load']:.1f} × load)")
    print(f"  rescore after change {result['rescore'] * 1000:8.0f} ms")
    print(f"  what-if              {result['whatif_median'] * 1000:8.1f} ms median, "
          f"{result['whatif_p95'] * 1000:.1f} ms p95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
