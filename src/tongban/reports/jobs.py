"""Scheduled reports: the weekly bulletin on its weekday, the monthly evaluation of every
cohort once its newest month is published. Idempotent: a report already archived for the
week, or for that published sheet, is not written again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import SheetView
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.periods import Week, period_label
from tongban.core.security import SYSTEM_ACTOR
from tongban.reports import service, workbench
from tongban.reports.enums import ReportKind, ReportTrigger
from tongban.reports.models import Report


@dataclass
class ReportJobReport:
    generated: list[int] = field(default_factory=list)
    orphans_removed: int = 0
    digests_sent: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"generated": self.generated, "orphans_removed": self.orphans_removed,
                "digests_sent": self.digests_sent, "problems": self.problems}


def newest_published(db: Session) -> list[SheetView]:
    """Per cohort, its newest month whose current sheet is published (the read model)."""
    out = []
    for code, periods in assessment.cohort_periods(db).items():
        for period in reversed(periods):
            view = assessment.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=code, period=period)
            if not view.draft:
                out.append(view)
                break
    return out


def _generate(db: Session, report: ReportJobReport, request: service.ReportRequest,
              what: str) -> None:
    try:
        with db.begin_nested():
            archived, created = service.generate(db, actor=SYSTEM_ACTOR, request=request,
                                                 trigger=ReportTrigger.job)
    except DomainError as exc:
        report.problems.append(f"{what}未能生成：{exc.message}")
        return
    if created:
        report.generated.append(archived.id)


def run(db: Session, *, as_of: date) -> ReportJobReport:
    report = ReportJobReport()
    report.orphans_removed = service.remove_orphan_files(db)
    if as_of.isoweekday() == get_settings().report_weekly_weekday:
        week = Week(as_of)
        done = db.scalar(select(Report.id).where(Report.kind == ReportKind.weekly.value,
                                                 Report.period_key == week.key).limit(1))
        if done is None:
            _generate(db, report, service.ReportRequest(ReportKind.weekly, as_of=as_of),
                      f"{week.label}周通报")
    for sheet in newest_published(db):
        done = db.scalar(select(Report.id).where(Report.kind == ReportKind.monthly.value,
                                                 Report.source_sheet_id == sheet.id).limit(1))
        if done is None:
            _generate(db, report, service.ReportRequest(
                ReportKind.monthly, cohort=sheet.cohort_code, period=sheet.period),
                f"{sheet.cohort_name}{period_label(sheet.period)}月考评")
    report.digests_sent = workbench.send_digests(db, as_of=as_of)
    return report
