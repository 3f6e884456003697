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
from tongban.core import notify
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, NotFound
from tongban.core.numbers import plain
from tongban.core.periods import month_of, period_label, shift
from tongban.core.security import Actor, Role
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction, TaskState
from tongban.reviews import service as reviews
from tongban.reviews.enums import CaseAction, CaseState
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind

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
    org_id: int
    org_code: str
    org_name: str
    overdue_cases: int
    overdue_tasks: int
    urged_today: bool = False

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
    cases = Counter((c.org.id, c.org.code, c.org.name) for c in reviews.visible_cases(
        db, actor=actor, as_of=as_of, overdue_only=True))
    tasks = Counter((t.org.id, t.org.code, t.org.name) for t in rectification.visible_tasks(
        db, actor=actor, as_of=as_of, overdue_only=True))
    urged = supervision.orgs_urged_today(db, org_ids=[k[0] for k in set(cases) | set(tasks)])
    units = [UnitBacklog(*key, cases[key], tasks[key], key[0] in urged)
             for key in set(cases) | set(tasks)]
    out["backlog"] = sorted(units, key=lambda u: (-u.total, u.org_name))[:8]
    out["may_urge"] = SupervisionKind.urge in supervision.allowed_kinds(actor)
    out["overdue_cases"], out["overdue_tasks"] = sum(cases.values()), sum(tasks.values())
    return out


def urge_unit(db: Session, *, actor: Actor, org_ref: str, as_of: date,
              text: str = "") -> supervision.Supervised:
    """One-click 催办 of a unit: every overdue case and task of it (and its subtree), in one
    message to its liaisons."""
    org = org_service.resolve_org(db, ref=org_ref, actor=actor)
    supervision.check(actor, SupervisionKind.urge)
    case_ids = [c.id for c in reviews.visible_cases(db, actor=actor, org=org, as_of=as_of,
                                                    overdue_only=True)]
    task_ids = [t.id for t in rectification.visible_tasks(db, actor=actor, org=org, as_of=as_of,
                                                          overdue_only=True)]
    if not case_ids and not task_ids:
        raise DomainError(f"{org.name}没有逾期的差评工单或整改任务")
    targets = [*reviews.supervision_targets(db, actor=actor, case_ids=case_ids),
               *rectification.supervision_targets(db, actor=actor, task_ids=task_ids)]
    return supervision.supervise(db, actor=actor, kind=SupervisionKind.urge, targets=targets,
                                 text=text)


def daily_digest(db: Session, *, actor: Actor, as_of: date) -> notify.Message:
    """A leader's morning summary: where the city stands, what is overdue and where, what is at
    risk, how many 差评 came in yesterday."""
    overview = leader_overview(db, actor=actor, as_of=as_of)
    lines = []
    if overview["sheet"] is not None:
        view, row = overview["sheet"], overview["row"]
        moved = f"（上月第{row.previous_rank}名）" if row.previous_rank else ""
        lines.append(f"{view.cohort_name}{period_label(view.period)}：第{row.rank}名{moved}，"
                     f"{plain(row.total)}分，失分 {plain(overview['lost_total'])} 分。")
    worst = overview["backlog"][0] if overview["backlog"] else None
    lines.append(f"逾期未办：差评工单 {overview['overdue_cases']} 件，整改任务 "
                 f"{overview['overdue_tasks']} 项"
                 + (f"，最多的是{worst.org_name}（{worst.total} 件）。" if worst else "。"))
    if overview["risk"]:
        at_risk = sum(r.points_at_risk for r in overview["risk"])
        lines.append(f"整改风险：可能扣 {plain(at_risk)} 分，涉及 {len(overview['risk'])} 个单位。")
    yesterday = as_of - timedelta(days=1)
    new_cases = sum(1 for c in reviews.visible_cases(db, actor=actor, as_of=as_of)
                    if c.received_on == yesterday)
    lines.append(f"昨日（{yesterday.month}月{yesterday.day}日）新增差评 {new_cases} 件。")
    return notify.Message("digest", f"工作摘要 {as_of.month}月{as_of.day}日", "\n".join(lines), "/")


def send_digests(db: Session, *, as_of: date) -> int:
    """Each reader who chose the daily digest gets today's, once (the job may run twice)."""
    sent = 0
    for user in org_service.digest_readers(db):
        actor = org_service.actor_for(user)
        if not org_service.may_take_digest(actor):
            continue
        message = daily_digest(db, actor=actor, as_of=as_of)
        sent += notify.notify(db, recipients=org_service.recipients([user]), message=message,
                              key=f"digest:{as_of.isoformat()}")
    return sent


def analyst_overview(db: Session, *, actor: Actor, as_of: date,
                     until: str | None = None) -> dict[str, Any]:
    """Each cohort's months (data in, scored, published) up to ``until`` (this month unless
    asked), held ratings, alerts; ``earlier``/``later`` the windows beside it."""
    this_month = month_of(as_of)
    last = min(until, this_month) if until else this_month
    periods = [shift(last, -n) for n in range(MONTHS_SHOWN - 1, -1, -1)]
    alerts = 0
    newest = ""
    for code, months in assessment.cohort_periods(db, actor=actor).items():
        alerts += len(analysis.alerts(db, actor=actor, cohort_code=code, period=months[-1]))
        newest = max(newest, months[-1])
    return {"status": assessment.data_status(db, actor=actor, periods=periods),
            "periods": periods, "held": reviews.held_count(db, actor=actor), "alerts": alerts,
            "earlier": shift(last, -MONTHS_SHOWN),
            "later": shift(last, MONTHS_SHOWN) if last < this_month else None,
            # the newest scored month, when the window shows none of it
            "newest": newest if newest and newest < periods[0] else None}


def home_kind(actor: Actor) -> str:
    """Which home page the actor gets."""
    if actor.role is Role.leader:
        return "leader"
    if Area.data_import in org_service.areas(actor):
        return "analyst"
    if actor.role is Role.liaison:
        return "liaison"
    return "plain"
