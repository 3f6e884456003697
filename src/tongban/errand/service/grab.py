"""The grab: runners race for an open errand and exactly one wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, lazyload

from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import (
    NotFound,
    PermissionDenied,
)
from tongban.core.security import Actor
from tongban.errand.dispatch import haversine_km
from tongban.errand.enums import (
    ErrandState,
)
from tongban.errand.models import (
    Errand,
    Runner,
)
from tongban.errand.service.common import NotEligible, Taken
from tongban.errand.service.pool import eligibility


@dataclass(frozen=True)
class Grabbed:
    errand: Errand
    runner: Runner
    distance_km: float
    retry: bool  # the winner asking again: the same assignment, nothing changed


@audit.action({"errand.grab": "抢单"})
def grab(db: Session, *, actor: Actor, errand_id: int, runner_id: int) -> Grabbed:
    """The runner takes an open errand. The first valid grab wins exactly once: one
    conditional UPDATE of the errand (state open → accepted) and one of the runner's count
    (below capacity), in this order, in one transaction; any other contender gets
    :class:`Taken` and nothing changes; the winner's retry returns the same assignment.

    On SQLite the transaction began IMMEDIATE (one writer at a time); on PostgreSQL the
    errand's UPDATE holds its row lock, and a second contender's UPDATE re-reads the row
    after the first commits and finds it no longer open."""
    # read fresh (another contender may have just won), without the custody log
    errand = db.get(Errand, errand_id, populate_existing=True,
                    options=[lazyload(Errand.handovers)])
    runner = db.get(Runner, runner_id, populate_existing=True)
    if errand is None:
        raise NotFound(f"未找到代办 #{errand_id}")
    if runner is None:
        raise NotFound(f"未找到跑手 #{runner_id}")
    if runner.user_id != actor.user_id and not actor.can_manage:
        raise PermissionDenied("只能为自己抢单")
    if errand.runner_id == runner.id and ErrandState(errand.state) is not ErrandState.open:
        return _as_grabbed(errand, runner, retry=True)
    if errand.runner_id is not None:
        raise Taken(errand.id)
    why = eligibility(db, runner=runner, errand=errand)
    if why:
        raise NotEligible(why)
    now = utcnow()
    try:
        with db.begin_nested():
            won, slot = _take(db, errand=errand, runner=runner, now=now)
    except _NoSlot:
        won, slot = 1, 0
    db.refresh(errand, ["state", "runner_id", "accepted_at", "pickup_km", "runner"])
    db.refresh(runner, ["active_count"])
    if not won:
        if errand.runner_id == runner.id:
            return _as_grabbed(errand, runner, retry=True)
        raise Taken(errand.id)
    if not slot:
        raise NotEligible(f"跑手已达到同时承接上限 {runner.capacity}")
    audit.record(db, actor=actor, action="errand.grab", object_type="errand", object_id=errand.id,
                 changes={"state": ["open", "accepted"], "runner": runner.id})
    return _as_grabbed(errand, runner, retry=False)


def _changed(result: object) -> int:
    """The rows a conditional UPDATE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


class _NoSlot(Exception):
    """The errand was won but the runner has no free slot: the savepoint rolls both back."""


def _take(db: Session, *, errand: Errand, runner: Runner, now: datetime) -> tuple[int, int]:
    """The two conditional UPDATEs of a grab, errand first, then runner (the fixed lock order)."""
    won = _changed(db.execute(
        update(Errand)
        .where(Errand.id == errand.id, Errand.state == ErrandState.open.value,
               Errand.runner_id.is_(None))
        .values(state=ErrandState.accepted.value, runner_id=runner.id, accepted_at=now,
                pickup_km=_distance(runner, errand))
        .execution_options(synchronize_session=False)))
    if not won:
        return 0, 0
    slot = _changed(db.execute(
        update(Runner)
        .where(Runner.id == runner.id, Runner.active_count < Runner.capacity, Runner.on_duty,
               ~Runner.suspended)
        .values(active_count=Runner.active_count + 1)
        .execution_options(synchronize_session=False)))
    if not slot:
        raise _NoSlot
    return won, slot


def _distance(runner: Runner, errand: Errand) -> float | None:
    """How far (km) the runner stands from the errand's pickup point (None: position unknown)."""
    if runner.lat is None or runner.lng is None:
        return None
    return haversine_km(runner.lat, runner.lng, errand.pickup_lat, errand.pickup_lng)


def _as_grabbed(errand: Errand, runner: Runner, *, retry: bool) -> Grabbed:
    return Grabbed(errand, runner, _distance(runner, errand) or 0.0, retry)
