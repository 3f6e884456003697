"""Periodic rectification jobs, safe to run any number of times for the same day.

- a reminder to the assignee's liaisons N working days before the due day and on the due day;
- an escalation to the org's leaders and the analysts once a task is overdue;
- the penalty: once the due day has passed, the lines not resolved by its end become one
  adjustment in the assessment (keyed by the task, so it is never charged twice);
- the monthly metrics: tasks due, closed on time, overdue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.core import notify, workdays
from tongban.core.config import get_settings
from tongban.core.periods import month_of
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import end_of_day
from tongban.org import service as org_service
from tongban.rectification import service
from tongban.rectification.enums import TaskState
from tongban.rectification.metrics import METRICS as M
from tongban.rectification.metrics import OWNER
from tongban.rectification.models import RectificationTask


@dataclass
class JobReport:
    reminders: int = 0
    escalations: int = 0
    penalties: list[int] = field(default_factory=list)
    metrics_changed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"reminders": self.reminders, "escalations": self.escalations,
                "penalties": self.penalties, "metrics_changed": self.metrics_changed,
                "problems": self.problems}


def _link(task: RectificationTask) -> str:
    return f"/rectification/tasks/{task.id}"


def _remind(db: Session, task: RectificationTask, as_of: date, calendar: workdays.WorkCalendar,
            report: JobReport) -> None:
    lead = get_settings().remind_workdays_before_due
    left = calendar.workdays_until(as_of, task.due_on, at_most=lead) if as_of <= task.due_on \
        else -1
    liaisons = org_service.recipients(org_service.people_of(db, org=task.org, roles={Role.liaison}))
    if 0 < left <= lead:
        report.reminders += notify.notify(
            db, recipients=liaisons, key=f"rectification:{task.id}:before-due",
            message=notify.Message(
                "reminder", f"整改任务 #{task.id} 还有{left}个工作日到期",
                f"「{task.title}」将于{task.due_on:%m月%d日}到期，尚有{task.open_lines}项未整改。",
                _link(task)))
    if left == 0:
        report.reminders += notify.notify(
            db, recipients=liaisons, key=f"rectification:{task.id}:due-day",
            message=notify.Message(
                "reminder", f"整改任务 #{task.id} 今天到期",
                f"「{task.title}」今天到期，尚有{task.open_lines}项未整改；逾期将按规定扣分。",
                _link(task)))
    if as_of > task.due_on:
        chain = org_service.recipients(org_service.escalation_chain(db, org=task.org))
        report.escalations += notify.notify(
            db, recipients=chain + liaisons, key=f"rectification:{task.id}:overdue",
            message=notify.Message(
                "escalation", f"督办：整改任务 #{task.id} 已逾期",
                f"{task.org.name}「{task.title}」已于{task.due_on:%m月%d日}到期，"
                f"尚有{task.open_lines}项未整改。", _link(task)))


def _charge_penalty(db: Session, task: RectificationTask, report: JobReport) -> None:
    if task.penalty_points_each is None or task.penalty_org is None \
            or task.penalty_adjustment_id is not None or task.state == TaskState.cancelled.value:
        return
    unresolved = service.unresolved_at(task, end_of_day(task.due_on))
    if unresolved == 0:
        return
    points = service.penalty_points(task, unresolved)
    adjustment, created = assessment.record_adjustment(
        db, actor=SYSTEM_ACTOR, period=month_of(task.due_on), org=task.penalty_org,
        points=-points, indicator_code=task.penalty_indicator, scheme_code=task.penalty_scheme,
        reason=f"{unresolved}个{task.category}未在{task.due_on:%Y年%m月%d日}前整改，"
               f"扣{points:g}分（整改任务#{task.id}）",
        source="rectification", source_ref=f"rectification_task:{task.id}",
        source_url=_link(task), key=f"rectification:task:{task.id}:penalty")
    task.penalty_adjustment_id = adjustment.id
    if created:
        report.penalties.append(adjustment.id)


def _record_metrics(db: Session, tasks: list[RectificationTask], as_of: date,
                    report: JobReport) -> None:
    due, ontime, overdue = (M[c].code for c in ("rect_tasks_due", "rect_closed_ontime",
                                                 "rect_overdue"))
    counts: dict[tuple[str, int], dict[str, float]] = defaultdict(
        lambda: {due: 0.0, ontime: 0.0, overdue: 0.0})
    for task in tasks:
        if task.state == TaskState.cancelled.value or task.due_on >= as_of:
            continue
        bucket = counts[(month_of(task.due_on), task.org_id)]
        bucket[due] += 1
        if task.closed_at is not None and task.closed_at <= end_of_day(task.due_on):
            bucket[ontime] += 1
        else:
            bucket[overdue] += 1
    values = [MetricInput(period, org_id, metric, value)
              for (period, org_id), metrics in counts.items() for metric, value in metrics.items()]
    report.metrics_changed += assessment.record_metric_values(
        db, actor=SYSTEM_ACTOR, values=values, source=OWNER)


def run(db: Session, *, as_of: date) -> JobReport:
    """Every rectification job for the day ``as_of``."""
    report = JobReport()
    calendar = workdays.load_calendar(db)
    tasks = list(db.scalars(select(RectificationTask)))
    for task in tasks:
        if TaskState(task.state).is_open:
            try:
                _remind(db, task, as_of, calendar, report)
            except workdays.UnknownCalendarYear as exc:
                report.problems.append(f"整改任务 #{task.id}：{exc.message}")
        if as_of > task.due_on:
            _charge_penalty(db, task, report)
    _record_metrics(db, tasks, as_of, report)
    db.flush()
    return report
