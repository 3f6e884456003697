"""What the dispatcher console shows staff: zones, runners, the queue and its KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.core.db import utcnow
from tongban.core.errors import (
    PermissionDenied,
)
from tongban.core.numbers import gini
from tongban.core.security import Actor, Role
from tongban.errand import metrics
from tongban.errand.enums import (
    ErrandState,
    ZoneMode,
)
from tongban.errand.models import (
    Errand,
    ErrandZone,
    Runner,
)
from tongban.errand.service.zones import zone_modes
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org


@dataclass(frozen=True)
class ConsoleZone:
    org_id: int
    name: str
    lat: float
    lng: float
    mode: ZoneMode


@dataclass(frozen=True)
class Kpis:
    """The console's figures over its window, with their counts."""

    submitted: int
    answered: int  # accepted within TONGBAN_ERRAND_ANSWER_MINUTES of submission
    due: int
    ontime: int
    picked: int  # taken, with the runner's distance known
    pickup_km_total: float
    loads: tuple[int, ...]  # errands held by each runner on duty

    @property
    def mean_pickup_km(self) -> float | None:
        return self.pickup_km_total / self.picked if self.picked else None

    @property
    def load_gini(self) -> float:
        return gini(self.loads)


@dataclass(frozen=True)
class Console:
    zones: list[ConsoleZone]
    runners: list[Runner]
    queue: list[Errand]  # open and offered, oldest first
    kpis: Kpis
    days: int


def console(db: Session, *, actor: Actor, days: int = 7) -> Console:
    """What the dispatcher console shows to staff: the zones (seats and modes) they see, the
    runners of those zones' teams, the waiting errands and the KPIs of the last ``days``."""
    org_service.require_area(actor, Area.errands)
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能查看调度台")
    visible = set(db.scalars(select(Org.id).where(org_service.scope_condition(db, actor=actor))))
    modes = zone_modes(db)
    zones = [ConsoleZone(z.org_id, z.org.name, z.seat_lat, z.seat_lng, modes[z.org_id])
             for z in db.scalars(select(ErrandZone).join(Org, Org.id == ErrandZone.org_id)
                                 .order_by(Org.code, Org.id)) if z.org_id in visible]
    zone_ids = [z.org_id for z in zones]
    runners = list(db.scalars(select(Runner).where(Runner.team_org_id.in_(visible))
                              .order_by(Runner.id)))
    queue = list(db.scalars(select(Errand).where(
        Errand.zone_org_id.in_(zone_ids),
        Errand.state.in_([ErrandState.open.value, ErrandState.offered.value]))
        .order_by(Errand.submitted_at, Errand.id)))
    now = utcnow()
    since = now - timedelta(days=days)
    figures = metrics.figures_by_zone(db, since=since, until=now + timedelta(seconds=1), now=now)
    total = {key: sum(int(f.get(key, 0)) for z, f in figures.items() if z in zone_ids)
             for key in ("errands", "errands_answered", "errands_due", "errands_ontime")}
    picked = db.execute(select(func.count(Errand.pickup_km), func.sum(Errand.pickup_km)).where(
        Errand.zone_org_id.in_(zone_ids), Errand.accepted_at >= since,
        Errand.pickup_km.is_not(None))).one()
    kpis = Kpis(submitted=total["errands"], answered=total["errands_answered"],
                due=total["errands_due"], ontime=total["errands_ontime"],
                picked=int(picked[0] or 0), pickup_km_total=float(picked[1] or 0.0),
                loads=tuple(r.active_count for r in runners if r.on_duty and not r.suspended))
    return Console(zones=zones, runners=runners, queue=queue, kpis=kpis, days=days)
