"""互联网+监管: each indicator has a lead department (政务和大数据局, 司法局, 市场监管局) and a
target; every department's monthly value is imported (the platform's export); the lead
department sees every department against the target, worst first, and reminds the laggards
(through ``core.notify``: the inbox now, the other channels after commit)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit, notify
from tongban.core.errors import NotFound, PermissionDenied
from tongban.core.periods import check_period, period_label
from tongban.core.security import Actor, Role
from tongban.ledger.enums import FigureKind
from tongban.ledger.models import LedgerFigure, LedgerItem
from tongban.ledger.service.entries import required_orgs
from tongban.ledger.service.types import current_type
from tongban.org import service as org_service
from tongban.org.models import Org

SUPERVISION = "internet-supervision"


@dataclass(frozen=True)
class Standing:
    """One department's value of an indicator in a month, against the target."""

    org: Org
    value: float | None
    target: float | None

    @property
    def met(self) -> bool:
        return self.value is not None and (self.target is None or self.value >= self.target)

    @property
    def share(self) -> float:
        """value ÷ target (0 without a value): the order of the page, worst first."""
        if self.value is None:
            return -1.0
        return self.value / self.target if self.target else 1.0

    def as_dict(self) -> dict[str, object]:
        return {"org": self.org.name, "value": self.value, "target": self.target,
                "met": self.met,
                "gap": None if self.value is None or self.target is None
                else round(self.target - self.value, 4)}


def indicator(db: Session, *, actor: Actor, code: str) -> LedgerItem:
    _, spec = current_type(db, actor=actor, code=SUPERVISION)
    item = db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code, LedgerItem.code == code[:64],
        LedgerItem.is_active.is_(True))).one_or_none()
    if item is None:
        raise NotFound(f"未找到互联网+监管指标「{code[:64]}」")
    return item


def indicators(db: Session, *, actor: Actor) -> list[LedgerItem]:
    _, spec = current_type(db, actor=actor, code=SUPERVISION)
    return list(db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code, LedgerItem.is_active.is_(True))
        .order_by(LedgerItem.position, LedgerItem.code)))


def leads(actor: Actor, item: LedgerItem) -> bool:
    """Whether ``actor`` speaks for the indicator's lead department (or the whole city)."""
    return actor.is_citywide or (item.lead_id is not None and actor.org_id == item.lead_id)


def supervise(db: Session, *, actor: Actor, code: str, period: str) -> tuple[LedgerItem,
                                                                            list[Standing]]:
    """Every department's value of an indicator in ``period`` against its target, worst
    first (no value at all first): the lead department and city-wide roles see them all, any
    other department its own."""
    item = indicator(db, actor=actor, code=code)
    period = check_period(period)
    _, spec = current_type(db, actor=actor, code=SUPERVISION)
    values = {f.org_id: f.value for f in db.scalars(select(LedgerFigure).where(
        LedgerFigure.item_id == item.id, LedgerFigure.period == period,
        LedgerFigure.kind == FigureKind.amount.value))}
    orgs = [org for org, _ in required_orgs(db, spec=spec)]
    if not leads(actor, item):
        orgs = [o for o in orgs if org_service.can_see(db, actor=actor, org=o)]
    rows = [Standing(org, values.get(org.id), item.target) for org in orgs]
    return item, sorted(rows, key=lambda s: (s.met, s.share, s.org.code))


@audit.action({"ledger.reminded": "督促互联网+监管指标落后部门"})
def remind_laggards(db: Session, *, actor: Actor, code: str, period: str) -> int:
    """Remind the liaisons of every department below target (once per indicator, month and
    department); how many were reminded for the first time."""
    item, rows = supervise(db, actor=actor, code=code, period=period)
    if not leads(actor, item) or actor.role is Role.leader:
        raise PermissionDenied("只有牵头部门或考核管理员可以督促")
    sent = 0
    late = [row for row in rows if not row.met]
    for row in late:
        people = org_service.people_of(db, org=row.org, roles={Role.liaison})
        aim = "—" if item.target is None else f"{item.target:g}"
        said = "未报数" if row.value is None else f"为 {row.value:g}"
        sent += notify.notify(db, recipients=org_service.recipients(people), message=notify.Message(
            kind="ledger.reminder", title=f"互联网+监管「{item.name}」未达标",
            body=f"{period_label(period)}贵单位「{item.name}」{said}，目标 {aim}，"
                 f"请尽快整改。——{item.lead.name if item.lead else '牵头部门'}",
            link=f"/ledgers/supervision?indicator={item.code}&period={period}"),
            key=f"ledger-remind:{item.code}:{period}:{row.org.code}")
    if late:
        audit.record(db, actor=actor, action="ledger.reminded", object_type="ledger_item",
                     object_id=item.code, changes={"period": period, "orgs": len(late),
                                                   "sent": sent})
    return sent
