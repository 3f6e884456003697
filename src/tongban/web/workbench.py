"""工作台: what each role's home page shows — read from every domain through its service.

A leader sees where the city stands and what threatens it; an analyst where each cohort's
months stand; a liaison its own to-dos by deadline. Every number says its period and links
to its list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tongban.assessment import analysis
from tongban.assessment import service as assessment
from tongban.core.config import get_settings
from tongban.core.errors import NotFound
from tongban.core.periods import month_of, shift
from tongban.core.security import Actor, Role
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction, TaskState
from tongban.reviews import service as reviews
from tongban.reviews.enums import CaseAction, CaseState

#: steps that need no words: a liaison takes them from the to-do list with one tap
ONE_TAP_TASK = (TaskAction.acknowledge, TaskAction.start)
ONE_TAP_CASE = (CaseAction.verify, CaseAction.rectify)
MONTHS_SHOWN = 6


@dataclass(frozen=True)
class QuickAction:
    label: str
    url: str


@dataclass(frozen=True)
class Todo:
    """One thing a liaison must do, with its deadline."""

    kind: str  # 差评工单 | 整改任务
    title: str
    org_name: str
    state: str
    due: date
    overdue: bool
    link: str
    quick: tuple[QuickAction, ...] = ()


@dataclass
class TodoList:
    overdue: list[Todo] = field(default_factory=list)
    today: list[Todo] = field(default_factory=list)
    this_week: list[Todo] = field(default_factory=list)
    later: list[Todo] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.this_week) + len(self.later)

    def buckets(self) -> list[tuple[str, str, list[Todo]]]:
        return [("overdue", "已逾期", self.overdue), ("today", "今天到期", self.today),
                ("week", "本周到期", self.this_week), ("later", "以后", self.later)]


def todos(db: Session, *, actor: Actor, as_of: date) -> TodoList:
    """The open cases and tasks of the actor's org, by deadline."""
    found: list[Todo] = []
    for case_ in reviews.visible_cases(db, actor=actor, as_of=as_of):
        if case_.state == CaseState.closed.value:
            continue
        steps = reviews.allowed_actions(db, actor=actor, case_=case_)
        found.append(Todo(
            "差评工单", f"#{case_.id} {case_.category}差评", case_.org.name,
            CaseState(case_.state).label, reviews.next_due(case_),
            reviews.is_overdue(case_, as_of=as_of), f"/reviews/cases/{case_.id}",
            tuple(QuickAction(a.label, f"/reviews/cases/{case_.id}/actions/{a.value}")
                  for a in ONE_TAP_CASE if a in steps)))
    for task in rectification.visible_tasks(db, actor=actor, as_of=as_of):
        if not TaskState(task.state).is_open:
            continue
        work = rectification.allowed_actions(db, actor=actor, task=task)
        found.append(Todo(
            "整改任务", f"#{task.id} {task.title}", task.org.name, TaskState(task.state).label,
            task.due_on, rectification.is_overdue(task, as_of=as_of),
            f"/rectification/tasks/{task.id}",
            tuple(QuickAction(a.label, f"/rectification/tasks/{task.id}/actions/{a.value}")
                  for a in ONE_TAP_TASK if a in work)))
    week_end = as_of + timedelta(days=6 - as_of.weekday())
    out = TodoList()
    for todo in sorted(found, key=lambda t: (t.due, t.kind, t.title)):
        if todo.overdue:
            out.overdue.append(todo)
        elif todo.due <= as_of:
            out.today.append(todo)
        elif todo.due <= week_end:
            out.this_week.append(todo)
        else:
            out.later.append(todo)
    return out


@dataclass(frozen=True)
class UnitBacklog:
    org_name: str
    overdue_cases: int
    overdue_tasks: int

    @property
    def total(self) -> int:
        return self.overdue_cases + self.overdue_tasks


def leader_overview(db: Session, *, actor: Actor, as_of: date) -> dict[str, Any]:
    """The city's latest rank and its trend, points lost and why, points at risk, and the
    units with the most overdue work."""
    out: dict[str, Any] = {"sheet": None}
    try:
        city = org_service.resolve_org(db, ref=get_settings().city_code)
    except NotFound:
        city = None
    view = (assessment.latest_view_of(db, actor=actor, org=city, published=True)
            if city is not None else None)
    row = view.row_of(city.id) if view is not None and city is not None else None
    if view is not None and row is not None and city is not None:
        gaps = analysis.points_lost(analysis.indicator_gaps(view, row))
        out.update(
            sheet=view, row=row, lost=gaps[:5], lost_total=round(sum(g.lost for g in gaps), 4),
            deductions=[a for a in row.adjustments if a.points < 0],
            trend=analysis.trend(db, actor=actor, cohort_code=view.cohort_code,
                                 org_ref=city.code)[-6:])
    out["risk"] = rectification.risk(db, actor=actor, as_of=as_of)[:5]
    cases = Counter(c.org.name for c in reviews.visible_cases(db, actor=actor, as_of=as_of)
                    if c.state != CaseState.closed.value and reviews.is_overdue(c, as_of=as_of))
    tasks = Counter(t.org.name for t in rectification.visible_tasks(
        db, actor=actor, as_of=as_of, overdue_only=True))
    units = [UnitBacklog(name, cases[name], tasks[name]) for name in set(cases) | set(tasks)]
    out["backlog"] = sorted(units, key=lambda u: (-u.total, u.org_name))[:8]
    out["overdue_cases"], out["overdue_tasks"] = sum(cases.values()), sum(tasks.values())
    return out


def analyst_overview(db: Session, *, actor: Actor, as_of: date) -> dict[str, Any]:
    """Each cohort's recent months (data in, scored, published), held ratings, alerts."""
    this_month = month_of(as_of)
    periods = [shift(this_month, -n) for n in range(MONTHS_SHOWN - 1, -1, -1)]
    alerts = 0
    for code, months in assessment.cohort_periods(db, actor=actor).items():
        alerts += len(analysis.alerts(db, actor=actor, cohort_code=code, period=months[-1]))
    return {"status": assessment.data_status(db, actor=actor, periods=periods),
            "periods": periods, "held": reviews.held_count(db, actor=actor), "alerts": alerts}


def home_kind(actor: Actor) -> str:
    """Which home page the actor gets."""
    if actor.role is Role.leader:
        return "leader"
    if Area.data_import in org_service.areas(actor):
        return "analyst"
    if actor.role is Role.liaison:
        return "liaison"
    return "plain"
