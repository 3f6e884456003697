"""Periodic 对标 jobs, safe to run any number of times for the same day.

- the home city's suggestions follow its latest snapshot: a new snapshot closes the open ones
  whose item now meets the frontier (``service.suggest``);
- a reminder to a department's liaisons N working days before its suggestions fall due and an
  escalation to its leaders and the analysts once they are overdue, one per (department, due
  day) each;
- the monthly metrics per department (received, due, answered on time, adopted, implemented)
  and the home city's DTF and rank among the cities.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.benchmark import service
from tongban.benchmark.alignment import latest_snapshot_ids
from tongban.benchmark.enums import SuggestionState
from tongban.benchmark.models import Suggestion
from tongban.core import notify, workdays
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.periods import month_of
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import end_of_day
from tongban.org import service as org_service
from tongban.org.models import Org

#: metric codes the job writes (numerators and their denominators)
METRICS = ("bench_received", "bench_due", "bench_answered_ontime", "bench_adopted",
           "bench_implemented")
CITY_METRICS = ("bench_dtf", "bench_rank", "bench_cities")


@dataclass
class JobReport:
    implemented: int = 0
    reminders: int = 0
    escalations: int = 0
    metrics_changed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"implemented": self.implemented, "reminders": self.reminders,
                "escalations": self.escalations, "metrics_changed": self.metrics_changed,
                "problems": self.problems}


LINK = "/benchmark/suggestions"


def _remind(db: Session, suggestions: list[Suggestion], as_of: date,
            calendar: workdays.WorkCalendar, report: JobReport) -> None:
    lead = get_settings().remind_workdays_before_due
    due: dict[tuple[int, date], int] = defaultdict(int)
    for s in suggestions:
        if s.state == SuggestionState.pending.value and s.due_on and s.dept_org_id:
            due[(s.dept_org_id, s.due_on)] += 1
    for (dept_id, due_on), count in sorted(due.items()):
        dept = db.get(Org, dept_id)
        if dept is None:
            continue
        liaisons = org_service.recipients(
            org_service.people_of(db, org=dept, roles={Role.liaison}))
        if as_of > due_on:
            chain = org_service.recipients(org_service.escalation_chain(db, org=dept))
            report.escalations += notify.notify(
                db, recipients=chain + liaisons, key=f"benchmark:{dept_id}:{due_on}:overdue",
                message=notify.Message(
                    "escalation", f"督办：{dept.name}有{count}条对标建议逾期未反馈",
                    f"{dept.name}的{count}条对标建议已于{due_on:%m月%d日}到期，尚未反馈。", LINK))
            continue
        left = calendar.workdays_until(as_of, due_on, at_most=lead)
        if 0 <= left <= lead:
            report.reminders += notify.notify(
                db, recipients=liaisons, key=f"benchmark:{dept_id}:{due_on}:before-due",
                message=notify.Message(
                    "reminder", f"{count}条对标建议将于{due_on:%m月%d日}到期",
                    f"请在{due_on:%m月%d日}前对{count}条对标建议作出采纳或不采纳的反馈。", LINK))


def metric_values(suggestions: list[Suggestion], *, as_of: date) -> list[MetricInput]:
    """Per department and month of issue: received, due by ``as_of``, answered on time among
    those due, adopted (采纳 or 已落实 after 采纳), implemented."""
    counts: dict[tuple[str, int], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(METRICS, 0.0))
    for s in suggestions:
        if s.state == SuggestionState.withdrawn.value or s.dept_org_id is None \
                or s.issued_on is None:
            continue
        bucket = counts[(month_of(s.issued_on), s.dept_org_id)]
        bucket["bench_received"] += 1
        if s.due_on is not None and s.due_on < as_of:
            bucket["bench_due"] += 1
            if s.answered_at is not None and s.answered_at <= end_of_day(s.due_on):
                bucket["bench_answered_ontime"] += 1
        if s.state == SuggestionState.adopted.value or (
                s.state == SuggestionState.implemented.value and s.answered_at is not None):
            bucket["bench_adopted"] += 1
        if s.state == SuggestionState.implemented.value:
            bucket["bench_implemented"] += 1
    return [MetricInput(period, org_id, metric, value)
            for (period, org_id), metrics in sorted(counts.items())
            for metric, value in metrics.items()]


def city_values(benchmark: service.Benchmark, *, city: Org, as_of: date) -> list[MetricInput]:
    """The city's DTF, its rank and the number of cities ranked, for the month of ``as_of``."""
    row = benchmark.rank_of(city.id)
    if row is None:
        return []
    period = month_of(as_of)
    return [MetricInput(period, city.id, "bench_dtf", row.dtf),
            MetricInput(period, city.id, "bench_rank", float(row.rank)),
            MetricInput(period, city.id, "bench_cities", float(len(benchmark.league)))]


def run(db: Session, *, as_of: date) -> JobReport:
    """Every 对标 job for the day ``as_of``."""
    report = JobReport()
    if not latest_snapshot_ids(db):
        return report
    try:
        city = service.home_city(db)
    except DomainError as exc:
        report.problems.append(exc.message)
        return report
    service.store_frontier(db)  # a snapshot imported since the last alignment: stored once
    benchmark = service.compute(db)
    latest = latest_snapshot_ids(db).get(city.id)
    if latest is not None and db.scalar(select(Suggestion.id).where(
            Suggestion.org_id == city.id, Suggestion.snapshot_id != latest,
            Suggestion.state.in_([SuggestionState.pending.value,
                                  SuggestionState.adopted.value])).limit(1)) is not None:
        report.implemented = service.suggest(db, actor=SYSTEM_ACTOR, city=city,
                                             benchmark=benchmark).implemented
    suggestions = list(db.scalars(select(Suggestion).where(Suggestion.org_id == city.id)))
    try:
        _remind(db, suggestions, as_of, workdays.load_calendar(db), report)
    except workdays.UnknownCalendarYear as exc:
        report.problems.append(exc.message)
    values = metric_values(suggestions, as_of=as_of) + city_values(benchmark, city=city,
                                                                   as_of=as_of)
    report.metrics_changed = assessment.record_metric_values(
        db, actor=SYSTEM_ACTOR, values=values, source="benchmark")
    db.flush()
    return report
