"""The live dispatcher (就近智能派单): a cycle per zone every ``TONGBAN_ERRAND_DISPATCH_SECONDS``.

A cycle, in one transaction per zone:

1. offers not accepted within ``TONGBAN_ERRAND_OFFER_SECONDS`` go back to open;
2. in a grab-only zone nothing more; otherwise the zone's open errands are matched to the
   runners available now (on duty, a free slot after pending offers, a fresh position,
   qualified, within the radius, never a runner who declined or let that errand expire)
   by :func:`tongban.errand.dispatch.assign` on the :class:`CostModel` below, each errand
   with the choice to wait for the next cycle at a cost that grows with its age;
3. the chosen pairs become offers (派单) the runner accepts or declines on the runner page;
   each errand left over counts a cycle, and in a dispatch-only zone it opens to grabs after
   ``TONGBAN_ERRAND_POOL_AFTER_CYCLES``.

One dispatcher per zone at a time: on PostgreSQL a process takes each zone's advisory lock
(held on a connection of its own while the process lives) before it runs the zone; on SQLite
only the process holding the background lock (the server, or ``tongban errand dispatcher``
when no server runs one) dispatches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tongban.core import audit, notify
from tongban.core.config import get_settings
from tongban.core.db import make_engine, session_scope, utcnow
from tongban.errand import service
from tongban.errand.dispatch import ErrandPoint, Pairs, RunnerPoint, assign, candidate_pairs, haversine_km
from tongban.errand.enums import ErrandAction, ErrandState, OfferOutcome, ZoneMode
from tongban.errand.models import Errand, ErrandZone, Offer, Runner
from tongban.org import service as org_service

log = logging.getLogger("tongban.dispatcher")

#: The zone locks' first key ("跑" in the two-int advisory lock space).
ZONE_LOCK_KEY = 0x8DD1


@dataclass(frozen=True)
class CostModel:
    """What an offer costs, in minutes: the pickup ETA, the SLA risk, the runner's load, its
    rating and its recent declines; and what waiting a cycle costs."""

    speed_kmh: float = 15.0
    handling_minutes: float = 90.0
    late_weight: float = 2.0
    load_weight: float = 10.0
    rating_weight: float = 4.0
    decline_weight: float = 10.0
    postpone_minutes: float = 30.0
    postpone_per_minute: float = 2.0

    @classmethod
    def from_settings(cls) -> CostModel:
        s = get_settings()
        return cls(speed_kmh=s.errand_speed_kmh, handling_minutes=s.errand_handling_minutes,
                   late_weight=s.errand_late_weight, load_weight=s.errand_load_weight,
                   rating_weight=s.errand_rating_weight, decline_weight=s.errand_decline_weight,
                   postpone_minutes=s.errand_postpone_minutes,
                   postpone_per_minute=s.errand_postpone_per_minute)

    def eta_minutes(self, km: np.ndarray) -> np.ndarray:
        minutes: np.ndarray = km / self.speed_kmh * 60.0
        return minutes

    def pair_costs(self, *, km: np.ndarray, slack_minutes: np.ndarray, load: np.ndarray,
                   rating: np.ndarray, declines: np.ndarray) -> np.ndarray:
        """Per pair: ETA + late_weight × minutes past the SLA (ETA + handling beyond the
        errand's slack) + load_weight × load + rating_weight × (5 − rating) +
        decline_weight × recent declines."""
        eta = self.eta_minutes(km)
        late = np.maximum(0.0, eta + self.handling_minutes - slack_minutes)
        cost: np.ndarray = (eta + self.late_weight * late + self.load_weight * load
                            + self.rating_weight * np.clip(5.0 - rating, 0.0, 5.0)
                            + self.decline_weight * declines)
        return cost

    def waiting(self, age_minutes: np.ndarray) -> np.ndarray:
        """Postponing an errand to the next cycle: dearer the longer it has waited."""
        cost: np.ndarray = self.postpone_minutes + self.postpone_per_minute * age_minutes
        return cost


@dataclass
class CycleResult:
    zone_org_id: int
    zone: str
    mode: str
    expired: int = 0
    errands: int = 0
    runners: int = 0
    offered: int = 0
    waiting: int = 0
    pooled: int = 0
    solve_ms: float = 0.0
    offers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


def plan(errands: Sequence[Errand], runners: Sequence[Runner], *, now: datetime,
         model: CostModel, radius_km: float, nearest: int,
         declines: dict[int, int], refused: set[tuple[int, int]],
         pending: dict[int, int]) -> tuple[dict[int, tuple[int, float, float]], float]:
    """errand index → (runner index, km, cost) of the cycle's least-cost offers, and the
    solve time in ms."""
    started = time.perf_counter()
    points = [RunnerPoint(str(r.id), r.lat or 0.0, r.lng or 0.0,
                          max(r.capacity - r.active_count - pending.get(r.id, 0), 0))
              for r in runners]
    wanted = [ErrandPoint(str(e.id), e.pickup_lat, e.pickup_lng) for e in errands]
    pairs = candidate_pairs(points, wanted, radius_km, nearest=nearest)
    keep = np.fromiter(
        ((not errands[e].item.qualification
          or errands[e].item.qualification in runners[r].qualification_set)
         and (errands[e].id, runners[r].id) not in refused
         for e, r in zip(pairs.errand.tolist(), pairs.runner.tolist(), strict=True)),
        bool, len(pairs))
    pairs = Pairs(pairs.errand[keep], pairs.runner[keep], pairs.km[keep])
    slack = np.array([_minutes_between(e.due_at, now) if e.due_at else np.inf for e in errands])
    load = np.array([r.active_count / max(r.capacity, 1) for r in runners])
    rating = np.array([r.rating for r in runners])
    declined = np.array([declines.get(r.id, 0) for r in runners], dtype=float)
    cost = model.pair_costs(km=pairs.km, slack_minutes=slack[pairs.errand],
                            load=load[pairs.runner], rating=rating[pairs.runner],
                            declines=declined[pairs.runner]) if len(pairs) else np.empty(0)
    age = np.array([_minutes_between(now, e.open_at or e.submitted_at) for e in errands])
    chosen = assign(len(errands), [p.capacity for p in points], pairs, cost, model.waiting(age))
    found: dict[int, tuple[int, float, float]] = {}
    index = {(int(e), int(r)): i for i, (e, r) in enumerate(zip(pairs.errand, pairs.runner,
                                                                strict=True))}
    for e, r in chosen.items():
        i = index[(e, r)]
        found[e] = (r, float(pairs.km[i]), float(cost[i]))
    return found, (time.perf_counter() - started) * 1000


def run_cycle(db: Session, *, zone: ErrandZone, now: datetime | None = None,
              model: CostModel | None = None) -> CycleResult:
    """One cycle of one zone (see the module's docstring)."""
    now = now or utcnow()
    settings = get_settings()
    mode = service.zone_modes(db).get(zone.org_id, ZoneMode(settings.errand_mode))
    result = CycleResult(zone_org_id=zone.org_id, zone=zone.org.name, mode=mode.value)
    result.expired = service.expire_offers(db, actor=service.DISPATCHER,
                                           zone_org_id=zone.org_id)
    service.alert_waiting(db, zone_org_id=zone.org_id, now=now)
    if mode is ZoneMode.grab:
        return result
    errands = dispatchable(db, zone_org_id=zone.org_id)
    runners = available_runners(db, near=errands, now=now)
    result.errands, result.runners = len(errands), len(runners)
    if not errands:
        return result
    ids = [r.id for r in runners]
    chosen, result.solve_ms = plan(
        errands, runners, now=now, model=model or CostModel.from_settings(),
        radius_km=settings.errand_radius_km, nearest=settings.errand_dispatch_candidates,
        declines=recent_declines(db, runner_ids=ids, now=now),
        refused=refused_pairs(db, errand_ids=[e.id for e in errands]),
        pending=pending_offers(db, runner_ids=ids))
    for e, (r, km, cost) in chosen.items():
        dispatch_offer(db, errand=errands[e], runner=runners[r], cost=cost)
        result.offers.append({"errand_id": errands[e].id, "runner_id": runners[r].id,
                              "distance_km": round(km, 3), "cost": round(cost, 2)})
    left = [errand for e, errand in enumerate(errands) if e not in chosen]
    result.offered, result.waiting = len(chosen), len(left)
    result.pooled = note_unassigned(db, errands=left, mode=mode, now=now)
    return result


class ZoneLocks:
    """The zones this process dispatches. On PostgreSQL each zone's advisory lock, taken on
    a connection of this object's own and held until :meth:`release`; elsewhere every zone
    (the background lock already made this the one process)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._connection: Connection | None = None
        self.held: set[int] = set()

    def take(self, zone_org_id: int) -> bool:
        if zone_org_id in self.held:
            return True
        if not make_url(self._url).drivername.startswith("postgresql"):
            self.held.add(zone_org_id)
            return True
        if self._connection is None:
            self._connection = make_engine(self._url).connect()
        got = self._connection.execute(text("SELECT pg_try_advisory_lock(:k, :z)"),
                                       {"k": ZONE_LOCK_KEY, "z": zone_org_id}).scalar()
        self._connection.commit()
        if got:
            self.held.add(zone_org_id)
        return bool(got)

    def release(self) -> None:
        if self._connection is not None:
            for zone in self.held:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k, :z)"),
                                         {"k": ZONE_LOCK_KEY, "z": zone})
            self._connection.commit()
            self._connection.close()
            self._connection.engine.dispose()
            self._connection = None
        self.held.clear()


def run_once(*, locks: ZoneLocks, zone_org_ids: set[int] | None = None) -> list[CycleResult]:
    """A cycle of every zone this process holds (each zone in its own transaction); zones
    another dispatcher holds are skipped."""
    with session_scope() as db:
        zones = [z.org_id for z in db.scalars(select(ErrandZone).order_by(ErrandZone.org_id))]
    results = []
    for org_id in zones:
        if zone_org_ids is not None and org_id not in zone_org_ids:
            continue
        if not locks.take(org_id):
            continue
        with session_scope() as db:
            zone = db.scalar(select(ErrandZone).where(ErrandZone.org_id == org_id))
            if zone is not None:
                results.append(run_cycle(db, zone=zone))
    return results


class Dispatcher:
    """The dispatcher's loop on a thread of its own: a cycle every ``interval`` seconds until
    :meth:`stop` (the server starts one beside the scheduler; ``tongban errand dispatcher``
    runs it in the foreground)."""

    def __init__(self, *, interval: float, zone_org_ids: set[int] | None = None) -> None:
        self.interval = interval
        self.zone_org_ids = zone_org_ids
        self.locks = ZoneLocks(get_settings().database_url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[CycleResult]:
        try:
            return run_once(locks=self.locks, zone_org_ids=self.zone_org_ids)
        except Exception:  # a failed cycle is logged; the next one tries again
            log.exception("派单周期失败")
            return []

    def loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            for result in self.tick():
                if result.offered or result.expired or result.pooled:
                    log.info("派单：%s", result.as_dict())
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="tongban-dispatcher",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self.locks.release()


# The dispatcher's own reads and writes of the errand tables (through the service's steps).

def dispatchable(db: Session, *, zone_org_id: int) -> list[Errand]:
    """The open errands of a zone, oldest first (a cycle's rows)."""
    return list(db.scalars(select(Errand).where(
        Errand.zone_org_id == zone_org_id, Errand.state == ErrandState.open.value)
        .order_by(Errand.submitted_at, Errand.id)))


def available_runners(db: Session, *, near: list[Errand], now: datetime) -> list[Runner]:
    """Runners the dispatcher may offer to now: on duty, not suspended, a slot free after
    their pending offers, a position fresher than ``errand_position_max_age_seconds``, inside
    the box of ``near`` widened by the radius."""
    if not near:
        return []
    settings = get_settings()
    fresh = now - timedelta(seconds=settings.errand_position_max_age_seconds)
    lats = [e.pickup_lat for e in near]
    lngs = [e.pickup_lng for e in near]
    box = service.near(Runner.lat, Runner.lng, (min(lats) + max(lats)) / 2, (min(lngs) + max(lngs)) / 2,
                settings.errand_radius_km + haversine_km(min(lats), min(lngs), max(lats),
                                                         max(lngs)) / 2)
    runners = list(db.scalars(select(Runner).where(
        Runner.on_duty, ~Runner.suspended, Runner.active_count < Runner.capacity,
        Runner.position_at >= fresh, box)))  # type: ignore[arg-type]
    held = pending_offers(db, runner_ids=[r.id for r in runners]) if runners else {}
    return [r for r in runners if r.active_count + held.get(r.id, 0) < r.capacity]


def pending_offers(db: Session, *, runner_ids: list[int]) -> dict[int, int]:
    """Runner id → offers it has not yet answered."""
    return {rid: int(n) for rid, n in db.execute(
        select(Offer.runner_id, func.count()).where(
            Offer.outcome == OfferOutcome.pending.value, Offer.runner_id.in_(runner_ids))
        .group_by(Offer.runner_id))}


def recent_declines(db: Session, *, runner_ids: list[int], now: datetime) -> dict[int, int]:
    """Runner id → offers it declined or let expire within ``errand_decline_hours``."""
    since = now - timedelta(hours=get_settings().errand_decline_hours)
    return {rid: int(n) for rid, n in db.execute(
        select(Offer.runner_id, func.count()).where(
            Offer.runner_id.in_(runner_ids), Offer.offered_at >= since,
            Offer.outcome.in_([OfferOutcome.declined.value, OfferOutcome.expired.value]))
        .group_by(Offer.runner_id))}


def refused_pairs(db: Session, *, errand_ids: list[int]) -> set[tuple[int, int]]:
    """(errand id, runner id) of offers declined or let expire: not offered again."""
    return {(e, r) for e, r in db.execute(select(Offer.errand_id, Offer.runner_id).where(
        Offer.errand_id.in_(errand_ids),
        Offer.outcome.in_([OfferOutcome.declined.value, OfferOutcome.expired.value])))}


def dispatch_offer(db: Session, *, errand: Errand, runner: Runner, cost: float) -> Errand:
    """The dispatcher offers ``errand`` to ``runner`` (audited as 派单 by 智能派单); the
    offer keeps the cost it was chosen at."""
    service.transition(db, actor=service.DISPATCHER, errand=errand, action=ErrandAction.offer,
                       offer_to=runner)
    db.execute(update(Offer).where(Offer.errand_id == errand.id,
                                   Offer.outcome == OfferOutcome.pending.value)
               .values(cost=round(cost, 3)).execution_options(synchronize_session=False))
    offered = errand.offered_at.isoformat() if errand.offered_at else ""
    notify.notify(db, recipients=org_service.recipients([runner.user]), key=(
        f"errand:{errand.id}:offer:{offered}"), message=notify.Message(
            "info", f"新派单：代办 #{errand.id}",
            f"{errand.item.name}，请在 {get_settings().errand_offer_seconds} 秒内接单。",
            "/errands/runner"))
    return errand


def note_unassigned(db: Session, *, errands: list[Errand], mode: ZoneMode,
                    now: datetime) -> int:
    """Count a cycle on each errand left unassigned (bookkeeping, not audited); in a
    dispatch-only zone an errand reaching ``errand_pool_after_cycles`` opens to grabs (once,
    audited). How many opened."""
    after = get_settings().errand_pool_after_cycles
    opened = 0
    for errand in errands:
        errand.dispatch_cycles += 1
        if mode is ZoneMode.dispatch and errand.pooled_at is None \
                and errand.dispatch_cycles >= after:
            _open_to_grabs(db, errand=errand, now=now)
            opened += 1
    db.flush()
    return opened


@audit.action({"errand.pooled": "转入抢单池"})
def _open_to_grabs(db: Session, *, errand: Errand, now: datetime) -> None:
    errand.pooled_at = now
    db.flush()
    audit.record(db, actor=service.DISPATCHER, action="errand.pooled", object_type="errand",
                 object_id=errand.id, changes={"dispatch_cycles": errand.dispatch_cycles})
