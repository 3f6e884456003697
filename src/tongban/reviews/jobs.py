"""Periodic 好差评 jobs, idempotent: reminders before the callback and reply deadlines,
escalation of overdue cases, default ratings when that policy is on, and the month's review
metrics written to the assessment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import notify, privacy, workdays
from tongban.core.config import get_settings
from tongban.core.periods import month_of, previous_period
from tongban.core.security import Role
from tongban.org import service as org_service
from tongban.reviews import service
from tongban.reviews.enums import CaseState
from tongban.reviews.models import NegativeCase


@dataclass
class ReviewJobReport:
    reminders: int = 0
    escalations: int = 0
    default_ratings: int = 0
    metrics_changed: int = 0
    rejects_removed: int = 0
    phone_codes_removed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"reminders": self.reminders, "escalations": self.escalations,
                "default_ratings": self.default_ratings,
                "metrics_changed": self.metrics_changed,
                "rejects_removed": self.rejects_removed,
                "phone_codes_removed": self.phone_codes_removed, "problems": self.problems}


def run(db: Session, *, as_of: date) -> ReviewJobReport:
    report = ReviewJobReport()
    calendar = workdays.load_calendar(db)
    lead = get_settings().remind_workdays_before_due
    open_cases = db.scalars(select(NegativeCase).where(
        NegativeCase.state != CaseState.closed.value))
    for case_ in open_cases:
        link = f"/reviews/cases/{case_.id}"
        liaisons = org_service.recipients(org_service.people_of(db, org=case_.org, roles={Role.liaison}))
        due = service.next_due(case_)
        stage = "回访" if case_.state == CaseState.received.value else "整改反馈"
        try:
            left = calendar.workdays_until(as_of, due, at_most=lead) if as_of <= due else -1
        except workdays.UnknownCalendarYear as exc:
            report.problems.append(f"差评工单 #{case_.id}：{exc.message}")
            continue
        if 0 <= left <= lead and case_.state != CaseState.appealed.value:
            gist = privacy.mask_text(case_.review.comment)[:60]  # masked before it is cut
            report.reminders += notify.notify(
                db, recipients=liaisons, key=f"review_case:{case_.id}:{stage}:remind",
                message=notify.Message("reminder", f"差评工单 #{case_.id} 的{stage}将于{due:%m月%d日}到期",
                                       f"{case_.org.name}：{gist}", link))
        if service.is_overdue(case_, as_of=as_of):
            chain = org_service.recipients(org_service.escalation_chain(db, org=case_.org))
            report.escalations += notify.notify(
                db, recipients=chain + liaisons, key=f"review_case:{case_.id}:{stage}:overdue",
                message=notify.Message("escalation", f"督办：差评工单 #{case_.id} {stage}已逾期",
                                       f"{case_.org.name}的差评{stage}已超过{due:%m月%d日}的期限。",
                                       link))
    report.default_ratings = service.apply_default_ratings(db, as_of=as_of)
    report.rejects_removed = service.remove_old_rejects(db, as_of=as_of)
    report.phone_codes_removed = service.remove_old_phone_codes(db)
    this_month = month_of(as_of)
    for period in (previous_period(this_month), this_month):
        report.metrics_changed += service.record_metrics(db, period=period, as_of=as_of)
    return report
