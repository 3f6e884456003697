"""Errand items, zones (their seats and modes) and runners."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.errand.dispatch import haversine_km
from tongban.errand.enums import (
    ZoneMode,
)
from tongban.errand.models import (
    Errand,
    ErrandItem,
    ErrandZone,
    Runner,
)
from tongban.errand.service.common import MAX_ZONE_KM
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org, User


def active_items(db: Session) -> list[ErrandItem]:
    """The errand items a request may name (newest batch first)."""
    return list(db.scalars(select(ErrandItem).where(ErrandItem.is_active)
                           .order_by(ErrandItem.batch.desc(), ErrandItem.id)))


def zone_of(db: Session, *, lat: float, lng: float) -> Org:
    """The zone (county-level org) of a pickup point: the one whose seat is nearest."""
    zones = list(db.scalars(select(ErrandZone)))
    if not zones:
        raise DomainError("尚未设置代办区域")
    km, zone = min(((haversine_km(lat, lng, z.seat_lat, z.seat_lng), z) for z in zones),
                   key=lambda pair: (pair[0], pair[1].id))
    if km > MAX_ZONE_KM:
        raise DomainError("取件地点不在本市代办服务范围内")
    return zone.org


def city_centre(db: Session) -> tuple[float, float]:
    """The middle of the zones' seats (where a map opens); 巴中 without zones."""
    seats = db.execute(select(ErrandZone.seat_lat, ErrandZone.seat_lng)).all()
    if not seats:
        return 31.867, 106.747
    return (round(sum(s[0] for s in seats) / len(seats), 5),
            round(sum(s[1] for s in seats) / len(seats), 5))


def zone_modes(db: Session) -> dict[int, ZoneMode]:
    """Each zone's org id → how its errands find runners (its own mode or the setting's)."""
    default = ZoneMode(get_settings().errand_mode)
    return {org_id: ZoneMode(mode) if mode else default
            for org_id, mode in db.execute(select(ErrandZone.org_id, ErrandZone.mode))}


def zones(db: Session) -> list[tuple[int, str, ZoneMode]]:
    """Each zone's org id, name and mode, in the org tree's order."""
    modes = zone_modes(db)
    found = db.scalars(select(ErrandZone).join(Org, Org.id == ErrandZone.org_id)
                       .order_by(Org.code, Org.id))
    return [(z.org_id, z.org.name, modes[z.org_id]) for z in found]


def _grabbable(errand: Errand, modes: dict[int, ZoneMode]) -> bool:
    """Whether an open errand is in the grab pool: its zone takes grabs, or a dispatch-only
    zone opened it after N unassigned cycles."""
    mode = modes.get(errand.zone_org_id, ZoneMode(get_settings().errand_mode))
    return mode is not ZoneMode.dispatch or errand.pooled_at is not None


@audit.action({"errand.zone_mode": "设置派单方式"})
def set_zone_mode(db: Session, *, actor: Actor, zone_org_id: int,
                  mode: ZoneMode | None) -> ErrandZone:
    """Set how a zone's errands find runners (None: the setting's default); city-wide
    managers only."""
    if not actor.can_manage:
        raise PermissionDenied("只有市级管理员或分析员可以设置派单方式")
    zone = db.scalar(select(ErrandZone).where(ErrandZone.org_id == zone_org_id))
    if zone is None:
        raise NotFound(f"未找到代办区域 #{zone_org_id}")
    before = zone.mode
    zone.mode = mode.value if mode else None
    db.flush()
    audit.record(db, actor=actor, action="errand.zone_mode", object_type="org",
                 object_id=zone_org_id, changes={"mode": [before, zone.mode]})
    return zone


def runner_of(db: Session, *, actor: Actor) -> Runner | None:
    """The runner record of a runner's login (None for other roles)."""
    if actor.role is not Role.runner or actor.user_id is None:
        return None
    return db.scalar(select(Runner).where(Runner.user_id == actor.user_id))


def get_runner(db: Session, *, actor: Actor, runner_id: int) -> Runner:
    runner = db.get(Runner, runner_id)
    if runner is None or not _sees_runner(db, actor, runner):
        raise NotFound(f"未找到跑手 #{runner_id}")
    return runner


def _sees_runner(db: Session, actor: Actor, runner: Runner) -> bool:
    if actor.role is Role.runner:
        return runner.user_id == actor.user_id
    return org_service.can_see(db, actor=actor, org=runner.team)


@audit.action({"errand_runner.registered": "登记跑手"})
def register_runner(db: Session, *, actor: Actor, user: User, team: Org, capacity: int = 2,
                    qualifications: str = "") -> Runner:
    """Make a user of the runner role a 跑手 of ``team`` (managers only)."""
    org_service.require_manager(actor, "登记跑手")
    if Role(user.role) is not Role.runner:
        raise DomainError(f"用户「{user.username}」不是跑手角色")
    if not 1 <= capacity <= 20:
        raise DomainError("同时承接的代办数须在 1 到 20 之间")
    runner = Runner(user_id=user.id, team_org_id=team.id, capacity=capacity,
                    qualifications=qualifications)
    db.add(runner)
    db.flush()
    audit.record(db, actor=actor, action="errand_runner.registered", object_type="errand_runner",
                 object_id=runner.id, changes={"user": user.username, "team": team.code,
                                               "capacity": capacity})
    return runner


def record_position(db: Session, *, actor: Actor, runner: Runner, lat: float, lng: float) -> None:
    """A position ping from the runner's page (bookkeeping, not audited)."""
    if runner.user_id != actor.user_id:
        raise PermissionDenied("只能上报自己的位置")
    runner.lat, runner.lng = _check_point(lat, lng)
    runner.position_at = utcnow()


def _check_point(lat: float, lng: float) -> tuple[float, float]:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise DomainError("位置的纬度或经度无效")
    return float(lat), float(lng)


RUNNERS = Listing(sorts={"id": ("编号", [Runner.id]), "rating": ("评分", [Runner.rating])},
                  key=Runner.id, search="编号")


def list_runners(db: Session, *, actor: Actor, params: ListParams) -> Page[Runner]:
    """The runners the actor may see: a runner itself, a liaison its org's teams, managers all."""
    org_service.require_area(actor, Area.errands)
    stmt = select(Runner)
    if actor.role is Role.runner:
        stmt = stmt.where(Runner.user_id == actor.user_id)
    else:
        stmt = stmt.where(Runner.team_org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if params.q:
        stmt = stmt.where(Runner.id == params.number)
    return paginate(db, stmt, params=params, order=RUNNERS.order(params, default=[Runner.id]))
