"""Grab: the pool's filters, exactly one winner under concurrent grabs (SQLite and PostgreSQL,
real threads on a committed database), capacity never exceeded, the winner's retry idempotent."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import reachable_postgres
from tests.factories import errand_world, make_errand, make_runner
from tongban.core import db as core_db
from tongban.core.audit import AuditEntry
from tongban.core.db import Base, utcnow
from tongban.core.errors import PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service
from tongban.errand.models import Errand, ErrandItem, Runner
from tongban.models_registry import import_all_models
from tongban.org.models import Org, User
from tongban.org.service import actor_for

BAZHOU = (31.867, 106.747)


def test_the_pool_holds_eligible_errands_nearest_first(db: Session) -> None:
    plain, skilled = errand_world(db)
    runner = make_runner(db, at=BAZHOU)
    far = make_errand(db, item=plain, at=(31.90, 106.76))  # ≈ 3.9 km
    near = make_errand(db, item=plain, at=(31.870, 106.750))
    make_errand(db, item=plain, at=(32.346, 106.828))  # 南江: out of the 5 km radius
    make_errand(db, item=skilled, at=(31.868, 106.748))  # needs 不动产
    ids = [e.id for e, _ in service.pool(db, actor=actor_for(runner.user), runner=runner)]
    assert ids == [near.id, far.id]


@pytest.mark.parametrize("change, reason", [
    ({"on_duty": False}, "未在岗"), ({"suspended": True}, "暂停"),
    ({"active_count": 2}, "上限"), ({"lat": 32.346, "lng": 106.828}, "超出"),
])
def test_an_ineligible_runner_sees_an_empty_pool_and_cannot_grab(
        db: Session, change: dict[str, object], reason: str) -> None:
    plain, _ = errand_world(db)
    runner = make_runner(db, at=BAZHOU)
    errand = make_errand(db, item=plain)
    for key, value in change.items():
        setattr(runner, key, value)
    db.flush()
    actor = actor_for(runner.user)
    assert service.pool(db, actor=actor, runner=runner) == []
    with pytest.raises(service.NotEligible, match=reason):
        service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    assert errand.state == "open" and errand.runner_id is None


def test_a_qualified_runner_may_grab_what_needs_the_qualification(db: Session) -> None:
    _, skilled = errand_world(db)
    errand = make_errand(db, item=skilled)
    plain_runner, skilled_runner = make_runner(db), make_runner(db, qualifications="不动产,企业")
    with pytest.raises(service.NotEligible, match="资质"):
        service.grab(db, actor=actor_for(plain_runner.user), errand_id=errand.id,
                     runner_id=plain_runner.id)
    won = service.grab(db, actor=actor_for(skilled_runner.user), errand_id=errand.id,
                       runner_id=skilled_runner.id)
    assert not won.retry and errand.runner_id == skilled_runner.id


def test_the_second_grab_is_taken_and_the_winners_retry_is_the_same(db: Session) -> None:
    plain, _ = errand_world(db)
    errand = make_errand(db, item=plain)
    first, second = make_runner(db), make_runner(db)
    service.grab(db, actor=actor_for(first.user), errand_id=errand.id, runner_id=first.id)
    with pytest.raises(service.Taken, match="已被抢"):
        service.grab(db, actor=actor_for(second.user), errand_id=errand.id, runner_id=second.id)
    again = service.grab(db, actor=actor_for(first.user), errand_id=errand.id, runner_id=first.id)
    assert again.retry and again.errand.runner_id == first.id
    assert (first.active_count, second.active_count) == (1, 0)


def test_a_runner_grabs_only_for_itself(db: Session) -> None:
    plain, _ = errand_world(db)
    errand = make_errand(db, item=plain)
    first, second = make_runner(db), make_runner(db)
    with pytest.raises(PermissionDenied):
        service.grab(db, actor=actor_for(first.user), errand_id=errand.id, runner_id=second.id)


# ---------------------------------------------------------------- races on a committed database


@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh database with the whole schema, its sessions the app's (committed for real)."""
    import_all_models()
    admin = reachable_postgres() if request.param == "postgresql" else None
    with core_db.scratch_database(admin) as url:
        engine = core_db.make_engine(url)
        Base.metadata.create_all(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        monkeypatch.setattr(core_db, "get_sessionmaker", lambda: factory)
        monkeypatch.setattr(core_db, "get_engine", lambda: engine)
        try:
            yield engine
        finally:
            engine.dispose()


def _seed(engine: Engine, *, runners: int, errands: int, capacity: int) -> tuple[list[int], list[int]]:
    with Session(engine) as db:
        org = Org(code="511902", name="巴州区", short_name="巴州区", level="county", path="/1/")
        db.add(org)
        db.flush()
        item = ErrandItem(item_code="RACE", name="抢单测试", published_on=date(2026, 3, 1))
        db.add(item)
        db.flush()
        runner_ids, errand_ids = [], []
        for n in range(runners):
            user = User(username=f"race-{n}", password_hash="x", role=Role.runner.value,
                        org_id=org.id)
            db.add(user)
            db.flush()
            runner = Runner(user_id=user.id, team_org_id=org.id, capacity=capacity, on_duty=True,
                            lat=BAZHOU[0], lng=BAZHOU[1], position_at=utcnow())
            db.add(runner)
            db.flush()
            runner_ids.append(runner.id)
        for _ in range(errands):
            errand = Errand(item_id=item.id, zone_org_id=org.id, pickup_lat=BAZHOU[0],
                            pickup_lng=BAZHOU[1], state="open", authorised=True)
            db.add(errand)
            db.flush()
            errand_ids.append(errand.id)
        db.commit()
    return runner_ids, errand_ids


def _race(calls: list[tuple[int, int]]) -> Counter[str]:
    """Every (errand, runner) grab at once, each in its own committed transaction."""
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[int, int]) -> str:
        errand_id, runner_id = call
        barrier.wait()
        try:
            with core_db.session_scope() as db:
                won = service.grab(db, actor=SYSTEM_ACTOR, errand_id=errand_id,
                                   runner_id=runner_id)
                return "retry" if won.retry else "won"
        except service.Taken:
            return "taken"
        except service.NotEligible:
            return "not_eligible"

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(one, calls))


def test_concurrent_grabs_of_one_errand_have_exactly_one_winner(race_engine: Engine) -> None:
    runners, (errand_id,) = _seed(race_engine, runners=12, errands=1, capacity=1)
    outcome = _race([(errand_id, r) for r in runners])
    assert outcome == Counter({"won": 1, "taken": 11})
    with Session(race_engine) as db:
        errand = db.get(Errand, errand_id)
        assert errand is not None and errand.state == "accepted"
        counts = dict(db.execute(select(Runner.id, Runner.active_count)).all())
        assert sum(counts.values()) == 1 and counts[errand.runner_id] == 1
        entries = db.scalar(select(func.count()).where(AuditEntry.action == "errand.grab"))
        assert entries == 1


def test_one_runner_racing_for_many_errands_never_exceeds_its_capacity(
        race_engine: Engine) -> None:
    (runner_id,), errands = _seed(race_engine, runners=1, errands=8, capacity=3)
    outcome = _race([(e, runner_id) for e in errands])
    assert outcome == Counter({"won": 3, "not_eligible": 5})
    with Session(race_engine) as db:
        runner = db.get(Runner, runner_id)
        assert runner is not None and runner.active_count == 3
        assert db.scalar(select(func.count()).where(Errand.runner_id == runner_id)) == 3


#: One contender in a process of its own: waits for the agreed instant, grabs, says how.
_CONTENDER = """
import sys, time
from tongban.core import db
from tongban.core.security import SYSTEM_ACTOR
from tongban.errand import service
from tongban.errand.models import Errand
errand, runner, at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
with db.session_scope() as s:
    s.get(Errand, errand)  # connect before the start (no transaction held while waiting)
time.sleep(max(0.0, at - time.time()))
try:
    with db.session_scope() as s:
        won = service.grab(s, actor=SYSTEM_ACTOR, errand_id=errand, runner_id=runner)
        print("retry" if won.retry else "won")
except service.Taken:
    print("taken")
"""


def test_processes_racing_for_one_errand_have_exactly_one_winner(race_engine: Engine) -> None:
    import subprocess
    import sys
    import time

    runners, (errand_id,) = _seed(race_engine, runners=6, errands=1, capacity=1)
    env = {**os.environ, "TONGBAN_ENV": "test",
           "TONGBAN_DATABASE_URL": race_engine.url.render_as_string(hide_password=False)}
    start = time.time() + 8  # every process imported and connected by then
    procs = [subprocess.Popen([sys.executable, "-c", _CONTENDER, str(errand_id), str(r),
                               str(start)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in runners]
    outcomes = Counter()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outcomes[out.strip()] += 1
    assert outcomes == Counter({"won": 1, "taken": 5})
    with Session(race_engine) as db:
        errand = db.get(Errand, errand_id)
        assert errand is not None and errand.state == "accepted"
        assert db.scalar(select(func.sum(Runner.active_count))) == 1
        assert db.scalar(select(func.count()).where(AuditEntry.action == "errand.grab")) == 1
