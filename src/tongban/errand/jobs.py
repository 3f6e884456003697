"""Periodic work of 跑团代办 (from ``tongban jobs run``), idempotent: offers that timed out go
back to the open pool, errands past their SLA are escalated (once each), and each zone's
monthly metrics (errands, and post-office coverage) go to the assessment; runners over
the suspension rule are suspended. The live
dispatcher cycle comes with its process."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import notify
from tongban.core.db import utcnow
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today, local_zone
from tongban.errand import metrics, postal, runners, service
from tongban.errand.enums import ErrandState
from tongban.errand.models import Errand
from tongban.org import service as org_service


@dataclass
class ErrandJobs:
    offers_expired: int = 0
    waiting_alerted: int = 0
    overdue_escalated: int = 0
    metrics_changed: int = 0
    postal_metrics_changed: int = 0
    runners_suspended: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(db: Session, *, as_of: date | None = None) -> ErrandJobs:
    """Run the errand jobs once (a second run finds nothing to do)."""
    return ErrandJobs(
        offers_expired=service.expire_offers(db, actor=SYSTEM_ACTOR),
        waiting_alerted=service.alert_waiting(db),
        overdue_escalated=escalate_overdue(db),
        metrics_changed=metrics.record_metrics(db, as_of=as_of or local_today()),
        postal_metrics_changed=postal.record_metrics(db, as_of=as_of or local_today()),
        runners_suspended=runners.auto_suspend(db))


def escalate_overdue(db: Session, *, now: datetime | None = None) -> int:
    """Tell the zone's liaisons and the errand's runner of each errand past its due time and
    not yet done (once per errand and person); how many errands were escalated for the first
    time."""
    now = now or utcnow()
    late = db.scalars(select(Errand).where(Errand.state.in_([s.value for s in ErrandState if s.sla_running]),
                                           Errand.due_at < now).order_by(Errand.id))
    escalated = 0
    for errand in late:
        people = org_service.people_of(db, org=errand.zone, roles={Role.liaison})
        if errand.runner is not None:
            people.append(errand.runner.user)
        due = errand.due_at.astimezone(local_zone()) if errand.due_at else now
        message = notify.Message(
            "escalation", f"督办：代办 #{errand.id} 已超过办理时限",
            f"{errand.zone.name}「{errand.item.name}」应于{due:%m月%d日%H:%M}前办结，"
            f"当前为「{errand.state_label}」。", f"/errands?q={errand.id}")
        if notify.notify(db, recipients=org_service.recipients(people), message=message,
                         key=f"errand:{errand.id}:overdue"):
            escalated += 1
    return escalated
