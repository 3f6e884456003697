"""Which runner may take which errand (duty, capacity, qualification, distance), and the
nearby pool a runner sees."""

from __future__ import annotations

import math

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.errors import (
    NotFound,
    PermissionDenied,
)
from tongban.core.security import Actor, Role
from tongban.errand.dispatch import KM_PER_DEGREE, haversine_km
from tongban.errand.enums import (
    ErrandState,
    ZoneMode,
)
from tongban.errand.models import (
    Errand,
    Runner,
)
from tongban.errand.service.common import POOL_LIMIT
from tongban.errand.service.zones import _grabbable, _sees_runner, zone_modes


def eligibility(db: Session, *, runner: Runner, errand: Errand,
                modes: dict[int, ZoneMode] | None = None) -> str:
    """Why ``runner`` may not grab ``errand`` now ("" when it may): open, on duty, not
    suspended, a free slot, qualified, a known position within the radius."""
    state = ErrandState(errand.state)
    if state is not ErrandState.open:
        return f"代办当前为「{state.label}」，不能抢单"
    if not _grabbable(errand, zone_modes(db) if modes is None else modes):
        return "该代办正在智能派单，暂未进入抢单池"
    if runner.suspended:
        return "跑手已被暂停接单"
    if not runner.on_duty:
        return "跑手未在岗"
    if runner.active_count >= runner.capacity:
        return f"跑手已承接 {runner.active_count} 件，达到上限 {runner.capacity}"
    need = errand.item.qualification
    if need and need not in runner.qualification_set:
        return f"跑手不具备「{need}」资质"
    if runner.lat is None or runner.lng is None:
        return "跑手位置未知"
    radius = get_settings().errand_radius_km
    km = haversine_km(runner.lat, runner.lng, errand.pickup_lat, errand.pickup_lng)
    if km > radius + 1e-9:
        return f"距离 {km:.1f} 公里，超出 {radius:g} 公里的抢单范围"
    return ""


def near(lat_col: object, lng_col: object, lat: float, lng: float, radius: float) -> object:
    """A bounding box around a point (an index-friendly prefilter of the haversine test)."""
    dlat = radius / KM_PER_DEGREE
    dlng = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 0.01)
    return and_(lat_col.between(lat - dlat, lat + dlat),  # type: ignore[attr-defined]
                lng_col.between(lng - dlng, lng + dlng))  # type: ignore[attr-defined]


def pool(db: Session, *, actor: Actor, runner: Runner) -> list[tuple[Errand, float]]:
    """The open errands ``runner`` may grab now, nearest first (at most :data:`POOL_LIMIT`)."""
    if not _sees_runner(db, actor, runner):
        raise NotFound(f"未找到跑手 #{runner.id}")
    if runner.lat is None or runner.lng is None:
        return []
    radius = get_settings().errand_radius_km
    stmt = select(Errand).where(Errand.state == ErrandState.open.value,
                                near(Errand.pickup_lat, Errand.pickup_lng, runner.lat,  # type: ignore[arg-type]
                                      runner.lng, radius))
    modes = zone_modes(db)
    found = [(e, haversine_km(runner.lat, runner.lng, e.pickup_lat, e.pickup_lng))
             for e in db.scalars(stmt) if not eligibility(db, runner=runner, errand=e, modes=modes)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))[:POOL_LIMIT]


def eligible_runners(db: Session, *, actor: Actor, errand: Errand) -> list[tuple[Runner, float]]:
    """The runners who may grab ``errand`` now, nearest first (staff)."""
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能查看其他跑手")
    modes = zone_modes(db)
    radius = get_settings().errand_radius_km
    stmt = select(Runner).where(Runner.on_duty, ~Runner.suspended,
                                near(Runner.lat, Runner.lng, errand.pickup_lat,  # type: ignore[arg-type]
                                      errand.pickup_lng, radius))
    found = [(r, haversine_km(r.lat or 0, r.lng or 0, errand.pickup_lat, errand.pickup_lng))
             for r in db.scalars(stmt)
             if not eligibility(db, runner=r, errand=errand, modes=modes)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))
