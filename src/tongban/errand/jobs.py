"""Periodic work of 跑团代办 (from ``tongban jobs run``), idempotent: offers that timed out go
back to the open pool, errands past their SLA are escalated (once each), and each zone's
monthly metrics (errands, and post-office coverage) go to the assessment; runners over
the suspension rule are suspended. The live
dispatcher cycle comes with its process."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.errand import metrics, postal, runners, service


@dataclass
class ErrandJobs:
    offers_expired: int = 0
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
        overdue_escalated=service.escalate_overdue(db),
        metrics_changed=metrics.record_metrics(db, as_of=as_of or local_today()),
        postal_metrics_changed=postal.record_metrics(db, as_of=as_of or local_today()),
        runners_suspended=runners.auto_suspend(db))
