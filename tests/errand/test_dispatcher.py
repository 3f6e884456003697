"""The live dispatcher: who gets an offer (filters and the full cost), offers that time out or
are declined, the grab pool after N cycles, zone modes, the per-zone lock, the CLI."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import reachable_postgres
from tests.factories import errand_world, make_errand, make_runner, make_user
from tongban.cli import app
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service
from tongban.errand.dispatch import Pairs, assign
from tongban.errand.dispatcher import CostModel, ZoneLocks, run_cycle
from tongban.errand.enums import ErrandAction, ErrandState, ZoneMode
from tongban.errand.models import ErrandZone, Offer
from tongban.org.service import actor_for

SEAT = (31.867, 106.747)  # 巴州区


def _zone(db: Session, code: str = "511902") -> ErrandZone:
    from tongban.org import service as org_service

    org = org_service.resolve_org(db, ref=code)
    zone = db.scalar(select(ErrandZone).where(ErrandZone.org_id == org.id))
    assert zone is not None
    return zone


def _cycle(db: Session) -> dict[int, int]:
    """One cycle of 巴州区; errand id → runner id of its offers."""
    result = run_cycle(db, zone=_zone(db))
    return {o["errand_id"]: o["runner_id"] for o in result.offers}


def test_a_cycle_offers_the_nearest_runner_and_audits_it(db: Session) -> None:
    item, _ = errand_world(db)
    far = make_runner(db, at=(31.880, 106.747))  # ≈ 1.4 km
    near = make_runner(db, at=(31.868, 106.749))  # ≈ 0.1 km
    errand = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {errand.id: near.id}
    db.refresh(errand)
    assert errand.state == ErrandState.offered.value and errand.runner_id == near.id
    offer = db.scalar(select(Offer).where(Offer.errand_id == errand.id))
    assert offer is not None and offer.by_dispatcher and offer.outcome == "pending"
    assert offer.cost is not None and offer.distance_km == pytest.approx(0.2, abs=0.1)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "errand.offer",
                                               AuditEntry.object_id == str(errand.id)))
    assert entry is not None and entry.actor == "dispatcher"
    assert far.id != near.id


@pytest.mark.parametrize("why", ["off_duty", "suspended", "full", "stale", "far", "unqualified"])
def test_an_ineligible_runner_gets_no_offer(db: Session, why: str) -> None:
    plain, skilled = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749), capacity=1)
    errand = make_errand(db, item=skilled if why == "unqualified" else plain, at=SEAT)
    if why == "off_duty":
        runner.on_duty = False
    elif why == "suspended":
        runner.suspended = True
    elif why == "full":
        runner.active_count = 1
    elif why == "stale":
        runner.position_at = utcnow() - timedelta(
            seconds=get_settings().errand_position_max_age_seconds + 5)
    elif why == "far":
        runner.lat = SEAT[0] + (get_settings().errand_radius_km + 0.5) / 111.19
    db.flush()
    assert _cycle(db) == {}
    db.refresh(errand)
    assert errand.state == "open" and errand.dispatch_cycles == 1


def test_a_pending_offer_takes_the_runners_slot(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749), capacity=1)
    first = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {first.id: runner.id}
    second = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {}
    db.refresh(second)
    assert second.state == "open"


def test_an_expired_offer_goes_back_and_the_next_runner_is_offered(db: Session) -> None:
    item, _ = errand_world(db)
    slow = make_runner(db, at=(31.868, 106.749))
    other = make_runner(db, at=(31.875, 106.749))
    errand = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {errand.id: slow.id}
    errand.offered_at = utcnow() - timedelta(seconds=get_settings().errand_offer_seconds + 1)
    db.flush()
    result = run_cycle(db, zone=_zone(db))
    assert result.expired == 1
    # never offered again to the runner who let it expire
    assert {o["errand_id"]: o["runner_id"] for o in result.offers} == {errand.id: other.id}
    outcomes = db.scalars(select(Offer.outcome).where(Offer.errand_id == errand.id)
                          .order_by(Offer.id)).all()
    assert outcomes == ["expired", "pending"]


def test_a_declined_offer_is_not_offered_again_and_an_accepted_one_is_recorded(
        db: Session) -> None:
    item, _ = errand_world(db)
    first = make_runner(db, at=(31.868, 106.749))
    errand = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {errand.id: first.id}
    service.transition(db, actor=actor_for(first.user), errand=errand,
                       action=ErrandAction.decline)
    assert _cycle(db) == {}  # the only runner near declined it
    second = make_runner(db, at=(31.875, 106.749))
    assert _cycle(db) == {errand.id: second.id}
    service.transition(db, actor=actor_for(second.user), errand=errand,
                       action=ErrandAction.accept)
    assert errand.state == "accepted" and second.active_count == 1
    assert db.scalars(select(Offer.outcome).where(Offer.errand_id == errand.id)
                      .order_by(Offer.id)).all() == ["declined", "accepted"]


def test_recent_declines_weigh_on_a_runner(db: Session) -> None:
    item, _ = errand_world(db)
    declining = make_runner(db, at=(31.868, 106.749))
    steady = make_runner(db, at=(31.872, 106.749))  # ≈ 0.5 km farther: ~2 minutes
    for _ in range(2):  # two declines elsewhere today
        other = make_errand(db, item=item, at=(31.90, 106.75))
        service.transition(db, actor=SYSTEM_ACTOR, errand=other, action=ErrandAction.offer,
                           offer_to=declining)
        service.transition(db, actor=actor_for(declining.user), errand=other,
                           action=ErrandAction.decline)
        service.transition(db, actor=SYSTEM_ACTOR, errand=other, action=ErrandAction.cancel,
                           reason="测试")
    errand = make_errand(db, item=item, at=SEAT)
    assert _cycle(db) == {errand.id: steady.id}


def _at(x_km: float, y_km: float) -> tuple[float, float]:
    """A point x km east and y km north of the seat."""
    return SEAT[0] + y_km / 111.19, SEAT[1] + x_km / (111.19 * 0.8493)


def test_an_urgent_errand_gets_the_runner_who_makes_its_sla(db: Session) -> None:
    item, _ = errand_world(db)
    # U at the origin; A 2 km south of it, B 1.5 km north; R 3.5 km from A, 2.5 km from B.
    # On distance alone A→U + B→R (4.5 km) beats B→U + A→R (5 km) by 2 minutes of riding;
    # U's deadline leaves 6.5 minutes for the ride: A (8 minutes) would be 1.5 minutes late.
    a = make_runner(db, at=_at(0, -2), capacity=1)
    b = make_runner(db, at=_at(0, 1.5), capacity=1)
    urgent = make_errand(db, item=item, at=_at(0, 0))
    relaxed = make_errand(db, item=item, at=_at(2.335, 0.607))
    assert _cycle(db) == {urgent.id: a.id, relaxed.id: b.id}  # no SLA: distance decides
    for errand in (urgent, relaxed):
        service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.cancel,
                           reason="重新测试")
    urgent = make_errand(db, item=item, at=_at(0, 0))
    relaxed = make_errand(db, item=item, at=_at(2.335, 0.607))
    urgent.due_at = utcnow() + timedelta(minutes=get_settings().errand_handling_minutes + 6.5)
    db.flush()
    assert _cycle(db) == {urgent.id: b.id, relaxed.id: a.id}


def test_a_young_errand_waits_for_a_better_runner_and_an_old_one_does_not(
        db: Session) -> None:
    item, _ = errand_world(db)
    # 4.9 km away (~20 min) at full load with a poor rating: dearer than waiting
    poor = make_runner(db, at=(31.867 + 4.9 / 111.19, 106.747), capacity=2)
    poor.active_count, poor.rating = 1, 2.0
    errand = make_errand(db, item=item, at=SEAT)
    db.flush()
    assert _cycle(db) == {}
    errand.open_at = utcnow() - timedelta(minutes=30)
    db.flush()
    assert _cycle(db) == {errand.id: poor.id}


def test_a_dispatch_only_zone_opens_an_errand_to_grabs_after_n_cycles(db: Session) -> None:
    item, _ = errand_world(db)
    zone = _zone(db)
    service.set_zone_mode(db, actor=SYSTEM_ACTOR, zone_org_id=zone.org_id,
                          mode=ZoneMode.dispatch)
    grabber = make_runner(db, at=(31.868, 106.749))
    grabber.position_at = utcnow() - timedelta(hours=1)  # stale: the dispatcher skips it
    db.flush()
    errand = make_errand(db, item=item, at=SEAT)
    with pytest.raises(service.NotEligible, match="智能派单"):
        service.grab(db, actor=actor_for(grabber.user), errand_id=errand.id,
                     runner_id=grabber.id)
    assert service.pool(db, actor=actor_for(grabber.user), runner=grabber) == []
    n = get_settings().errand_pool_after_cycles
    for cycle in range(n):
        result = run_cycle(db, zone=zone)
        assert result.pooled == (1 if cycle == n - 1 else 0)
    db.refresh(errand)
    assert errand.pooled_at is not None and errand.dispatch_cycles == n
    assert [e.id for e, _ in service.pool(db, actor=actor_for(grabber.user),
                                          runner=grabber)] == [errand.id]
    service.grab(db, actor=actor_for(grabber.user), errand_id=errand.id, runner_id=grabber.id)
    assert errand.state == "accepted"
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "errand.pooled")) is not None


def test_a_grab_only_zone_gets_no_offers_and_both_takes_grabs_at_once(db: Session) -> None:
    item, _ = errand_world(db)
    zone = _zone(db)
    runner = make_runner(db, at=(31.868, 106.749))
    service.set_zone_mode(db, actor=SYSTEM_ACTOR, zone_org_id=zone.org_id, mode=ZoneMode.grab)
    errand = make_errand(db, item=item, at=SEAT)
    result = run_cycle(db, zone=zone)
    assert result.mode == "grab" and result.offers == [] and result.errands == 0
    service.set_zone_mode(db, actor=SYSTEM_ACTOR, zone_org_id=zone.org_id, mode=ZoneMode.both)
    assert [e.id for e, _ in service.pool(db, actor=actor_for(runner.user),
                                          runner=runner)] == [errand.id]


def test_only_city_managers_set_a_zones_mode(db: Session) -> None:
    from tongban.core.errors import PermissionDenied

    errand_world(db)
    zone = _zone(db)
    liaison = make_user(db, role=Role.liaison, org="511902")
    with pytest.raises(PermissionDenied):
        service.set_zone_mode(db, actor=actor_for(liaison), zone_org_id=zone.org_id,
                              mode=ZoneMode.grab)
    assert zone.mode is None


def test_the_cost_model_adds_its_terms() -> None:
    model = CostModel(speed_kmh=12.0, handling_minutes=60, late_weight=2, load_weight=10,
                      rating_weight=4, decline_weight=10)
    cost = model.pair_costs(km=np.array([2.0, 2.0]), slack_minutes=np.array([np.inf, 65.0]),
                            load=np.array([0.5, 0.0]), rating=np.array([4.5, 5.0]),
                            declines=np.array([1.0, 0.0]))
    # 2 km at 12 km/h = 10 minutes; the second passes its slack by 10 + 60 − 65 = 5 minutes
    assert cost.tolist() == pytest.approx([10 + 5 + 2 + 10, 10 + 2 * 5])
    assert model.waiting(np.array([0.0, 10.0])).tolist() == [30.0, 50.0]


def _brute(n: int, capacity: list[int], pairs: list[tuple[int, int, float]],
           not_now: list[float]) -> float:
    best = float("inf")
    options = [[None, *[(r, c) for e2, r, c in pairs if e2 == e]] for e in range(n)]
    for pick in itertools.product(*options):
        load = [0] * len(capacity)
        total = 0.0
        for e, choice in enumerate(pick):
            if choice is None:
                total += not_now[e]
            else:
                load[choice[0]] += 1
                total += choice[1]
        if all(load[r] <= capacity[r] for r in range(len(capacity))):
            best = min(best, total)
    return best


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(0, 2), min_size=1, max_size=3).flatmap(
        lambda caps: st.tuples(st.just(caps), st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, len(caps) - 1),
                      st.floats(0, 50)), max_size=8, unique_by=lambda p: (p[0], p[1])))),
    st.lists(st.floats(0, 60), min_size=n, max_size=n))))
def test_assign_is_the_brute_force_optimum_with_waiting(case: tuple) -> None:  # type: ignore[type-arg]
    n, (capacity, pairs), not_now = case
    arrays = Pairs(np.array([p[0] for p in pairs], dtype=np.int64),
                   np.array([p[1] for p in pairs], dtype=np.int64),
                   np.array([p[2] for p in pairs]))
    chosen = assign(n, capacity, arrays, arrays.km, np.array(not_now))
    cost = {(e, r): c for e, r, c in pairs}
    total = sum(cost[(e, r)] for e, r in chosen.items()) + sum(
        not_now[e] for e in range(n) if e not in chosen)
    assert total == pytest.approx(_brute(n, capacity, pairs, not_now), abs=1e-6)
    assert all(list(chosen.values()).count(r) <= capacity[r] for r in set(chosen.values()))


def test_one_process_holds_a_zones_lock() -> None:
    url = reachable_postgres()
    first, second = ZoneLocks(url), ZoneLocks(url)
    try:
        assert first.take(424242)
        assert not second.take(424242)
        assert second.take(424243)
        first.release()
        assert second.take(424242)
    finally:
        first.release()
        second.release()


def test_the_cli_runs_one_cycle_and_lists_and_sets_modes(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749))
    errand = make_errand(db, item=item, at=SEAT)
    cli = CliRunner()
    out = cli.invoke(app, ["errand", "zones", "--json"])
    assert out.exit_code == 0, out.output
    zones = json.loads(out.stdout)
    assert zones["total"] == 5 and {z["mode"] for z in zones["items"]} == {"both"}
    out = cli.invoke(app, ["errand", "mode", "通江县", "dispatch", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["mode"] == "dispatch"
    assert cli.invoke(app, ["errand", "mode", "通江县", "fastest"]).exit_code == 2
    out = cli.invoke(app, ["errand", "dispatcher", "--once", "--zone", "巴州区", "--json"])
    assert out.exit_code == 0, out.output
    cycles = json.loads(out.stdout)["items"]
    assert [c["zone"] for c in cycles] == ["巴州区"]
    assert cycles[0]["offers"][0] == {"errand_id": errand.id, "runner_id": runner.id,
                                      "distance_km": pytest.approx(0.2, abs=0.1),
                                      "cost": pytest.approx(cycles[0]["offers"][0]["cost"])}


def test_simulate_compares_the_modes_on_the_same_world() -> None:
    cli = CliRunner()
    args = ["errand", "simulate", "--requests", "120", "--runners", "25", "--minutes", "240",
            "--seed", "7", "--json"]
    first = json.loads(cli.invoke(app, args).stdout)
    second = json.loads(cli.invoke(app, args).stdout)
    keys = {"assignment_rate", "mean_pickup_km", "late_share", "workload_gini",
            "solve_ms_p50", "solve_ms_p99"}
    assert set(first["modes"]) == {"dispatch", "grab", "greedy"}
    for mode, row in first["modes"].items():
        assert set(row) == keys
        assert 0 < row["assignment_rate"] <= 1 and row["mean_pickup_km"] <= 5.0
        # the same seed, the same day (only the solve times differ)
        assert {k: v for k, v in row.items() if not k.startswith("solve")} == \
            {k: v for k, v in second["modes"][mode].items() if not k.startswith("solve")}
    assert first["modes"]["dispatch"]["mean_pickup_km"] < first["modes"]["greedy"]["mean_pickup_km"]
    out = cli.invoke(app, ["errand", "simulate", "--requests", "5", "--runners", "2",
                           "--minutes", "10", "--modes", "dispatch,teleport"])
    assert out.exit_code == 2


def test_the_runner_page_shows_an_offer_with_its_deadline_and_the_pulse_moves(
        db: Session) -> None:
    from tests.factories import logged_in_client

    item, _ = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749))
    client = logged_in_client(db, runner.user)
    before = client.get("/errands/runner/pulse").json()["pulse"]
    errand = make_errand(db, item=item, at=SEAT)
    grabbable = client.get("/errands/runner/pulse").json()["pulse"]
    assert grabbable != before and f"p{errand.id}" in grabbable
    assert _cycle(db) == {errand.id: runner.id}
    offered = client.get("/errands/runner/pulse").json()["pulse"]
    assert offered == f"{errand.id}:offered"
    page = client.get("/errands/runner").text
    assert f'data-testid="offer-{errand.id}"' in page and "逾时将派给他人" in page
    assert f'data-testid="act-{errand.id}-accept"' in page
    assert f'data-testid="act-{errand.id}-decline"' in page
    assert f'data-value="{offered}"' in page
    assert client.get("/errands/runner/pulse").status_code == 200
    staff = logged_in_client(db, make_user(db, role=Role.analyst))
    assert staff.get("/errands/runner/pulse").status_code == 404


def test_the_server_runs_the_dispatcher_beside_its_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tongban serve`` (and ``worker``) start the dispatcher with the background lock: an
    open errand is offered within a cycle or two, with no command run."""
    from datetime import date

    from sqlalchemy.orm import sessionmaker

    from tongban.cli.serve import background_work
    from tongban.core import db as core_db
    from tongban.errand.models import Errand, ErrandItem, Runner
    from tongban.models_registry import import_all_models
    from tongban.org.models import Org, User

    url = f"sqlite:///{tmp_path / 'live.db'}"
    monkeypatch.setenv("TONGBAN_DATABASE_URL", url)
    monkeypatch.setenv("TONGBAN_BACKGROUND_JOBS", "true")
    monkeypatch.setenv("TONGBAN_ERRAND_DISPATCH_SECONDS", "1")
    get_settings.cache_clear()
    import_all_models()
    engine = core_db.make_engine(url)
    core_db.Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    monkeypatch.setattr(core_db, "get_sessionmaker", lambda: factory)
    with factory() as db:
        org = Org(code="511902", name="巴州区", short_name="巴州区", level="county", path="/1/")
        db.add(org)
        db.flush()
        db.add(ErrandZone(org_id=org.id, seat_lat=SEAT[0], seat_lng=SEAT[1]))
        item = ErrandItem(item_code="LIVE", name="派单进程", published_on=date(2026, 12, 1))
        user = User(username="live-runner", password_hash="x", role="runner", org_id=org.id)
        db.add_all([item, user])
        db.flush()
        runner = Runner(user_id=user.id, team_org_id=org.id, capacity=1, on_duty=True,
                        lat=31.868, lng=106.749, position_at=utcnow())
        errand = Errand(item_id=item.id, zone_org_id=org.id, pickup_lat=SEAT[0],
                        pickup_lng=SEAT[1], state="open", authorised=True, open_at=utcnow())
        db.add_all([runner, errand])
        db.commit()
        errand_id, runner_id = errand.id, runner.id
    state = ""
    with background_work(server=False) as running:
        assert running
        for _ in range(100):
            with factory() as db:
                found = db.get(Errand, errand_id)
                assert found is not None
                state = found.state
            if state == "offered":
                break
            time.sleep(0.1)
    with factory() as db:
        found = db.get(Errand, errand_id)
        assert found is not None and state == "offered" and found.runner_id == runner_id
    engine.dispose()
