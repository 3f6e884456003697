"""Periodic work of 数据开放共享 (from ``tongban jobs run``), idempotent: the datasets due
are pulled from where their departments publish them (``pull``, before the rest), the departments'
figures of last month and this month go to the assessment, failing cascades are pushed again,
and the datasets that became late are told to their departments (once per dataset and due
period)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tongban.core import notify
from tongban.core.periods import month_of, previous_period
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service
from tongban.org import service as org_service


@dataclass
class DataJobs:
    metrics_changed: int = 0
    pushes_retried: int = 0
    late_told: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pull(*, as_of: date) -> service.Pulls:
    """Pull the datasets due (each in a transaction of its own, none open while reading)."""
    return service.pull_due(as_of=as_of)


def run(db: Session, *, as_of: date) -> DataJobs:
    """Run the jobs once (a second run the same day finds nothing new to tell)."""
    report = DataJobs()
    this_month = month_of(as_of)
    for period in (previous_period(this_month), this_month):
        report.metrics_changed += service.record_metrics(db, period=period, today=as_of)
    report.pushes_retried = service.retry_failed(db, actor=SYSTEM_ACTOR)
    for department in service.department_quality(db, actor=SYSTEM_ACTOR, as_of=as_of):
        late = [q for q in department.datasets
                if not q.freshness.on_schedule and q.freshness.late_periods]
        if not late:
            continue
        people = org_service.people_of(db, org=department.department, roles={Role.liaison})
        names = "、".join(f"「{q.dataset.name}」（{q.freshness.label}）" for q in late[:10])
        report.late_told += notify.notify(
            db, recipients=org_service.recipients(people),
            key=f"data:late:{department.department.code}:{as_of.isoformat()}",
            message=notify.Message("reminder", f"数据逾期未交付：{len(late)}个数据集",
                                   f"{department.department.name}的{names}未按更新频率交付，"
                                   "影响数据归集率。",
                                   f"/datasharing/departments/{department.department.code}"))
    return report
