"""The ledgers' daily job: the metric values of last month and this month (idempotent: the
same figures again change nothing)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy.orm import Session

from tongban.core.periods import month_of, previous_period
from tongban.ledger import service


@dataclass
class LedgerJobs:
    metrics_changed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run(db: Session, *, as_of: date) -> LedgerJobs:
    report = LedgerJobs()
    this_month = month_of(as_of)
    for period in (previous_period(this_month), this_month):
        report.metrics_changed += service.record_metrics(db, period=period)
    return report
