"""Rectification operations: tasks, transitions, lines, evidence, imports, points at risk.

Deadlines are working days (``core.workdays``), due at the end of the due day, Asia/Shanghai.
A line counts as unresolved for the penalty if it was not resolved by that moment, so the
result does not depend on when the job that charges the penalty happens to run.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.core import audit, notify, uploads, workdays
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    ErrorGroups,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
    permitted,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.numbers import precise
from tongban.core.security import Actor, Role
from tongban.core.tabular import cell_number, cell_text, open_table
from tongban.core.workdays import local_today, local_zone
from tongban.core.workflow import Workflow
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org
from tongban.rectification.enums import TRANSITIONS, TaskAction, TaskSource, TaskState, TaskWork
from tongban.rectification.models import RectificationTask, TaskAttachment, TaskLine
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind

audit.name_objects({"rectification_task": "整改任务", "rectification_line": "整改事项",
                    "rectification_import": "省级反馈导入"})

# ---------------------------------------------------------------- time


def is_overdue(task: RectificationTask, *, as_of: date) -> bool:
    """Past its due day while the unit holds it (submitted for verification is not)."""
    return TaskState(task.state).with_unit and as_of > task.due_on


def days_left(task: RectificationTask, *, as_of: date) -> int:
    """Calendar days until the due day (negative when overdue)."""
    return (task.due_on - as_of).days


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class LineInput:
    item_code: str
    item_name: str
    problem: str


@dataclass(frozen=True)
class Penalty:
    """Points per unresolved line, an optional cap, charged to an org under an indicator."""

    indicator: str
    points_each: float
    cap: float | None = None
    org: Org | None = None
    scheme: str | None = None


def _check_category(category: str) -> str:
    allowed = get_settings().rectification_category_list
    if category not in allowed:
        raise DomainError(f"整改类别「{category}」不在配置的类别中：{'、'.join(allowed)}")
    return category


def due_date(db: Session, *, issued_on: date, due_on: date | None,
             due_workdays: int | None) -> date:
    """The due day: given directly, or N working days after the issue day."""
    if (due_on is None) == (due_workdays is None):
        raise DomainError("整改期限须给出截止日期或工作日数，二者选一")
    if due_on is not None:
        if due_on < issued_on:
            raise DomainError("截止日期早于下发日期")
        return due_on
    assert due_workdays is not None
    if due_workdays < 1:
        raise DomainError("工作日数至少为1")
    return workdays.add_workdays(issued_on, due_workdays, db=db)


@audit.action({"rectification.issued": "下发整改任务"})
def create_task(
    db: Session,
    *,
    actor: Actor,
    source: TaskSource,
    category: str,
    title: str,
    org: Org,
    issued_on: date,
    due_on: date | None = None,
    due_workdays: int | None = None,
    detail: str = "",
    responsible_person: str = "",
    lines: list[LineInput] | None = None,
    penalty: Penalty | None = None,
    import_key: str | None = None,
) -> RectificationTask:
    """Issue a task to an org (managers only); audited."""
    _check(db, actor, None, TaskWork.issue)
    if not title.strip():
        raise DomainError("整改任务须有标题")
    if penalty is not None:
        _check_penalty_numbers(penalty.points_each, penalty.cap)
    task = RectificationTask(
        source=source.value, category=_check_category(category), title=title.strip(),
        detail=detail, org_id=org.id, org=org, responsible_person=responsible_person,
        issued_on=issued_on,
        due_on=due_date(db, issued_on=issued_on, due_on=due_on, due_workdays=due_workdays),
        state=TaskState.issued.value, import_key=import_key, created_by=actor.username,
    )
    if penalty is not None:
        target = penalty.org or org
        task.penalty_indicator, task.penalty_points_each = penalty.indicator, penalty.points_each
        task.penalty_cap, task.penalty_scheme = penalty.cap, penalty.scheme
        task.penalty_org_id, task.penalty_org = target.id, target
    task.lines = [TaskLine(item_code=ln.item_code, item_name=ln.item_name, problem=ln.problem)
                  for ln in lines or []]
    db.add(task)
    db.flush()
    audit.record(db, actor=actor, action="rectification.issued", object_type="rectification_task",
                 object_id=task.id,
                 changes={"org": org.code, "due": task.due_on.isoformat(), "lines": len(task.lines),
                          "category": category,
                          "penalty": f"{penalty.points_each}/项→{(penalty.org or org).code}"
                          if penalty else None})
    _announce(db, task=task, action=None)
    return task


def open_task_with_key(db: Session, *, import_key: str) -> RectificationTask | None:
    """The newest task a feeder opened under ``import_key`` that is still open: what keeps a
    feeder's rerun from opening a second task for the same thing."""
    open_states = [s.value for s in TaskState if s.is_open]
    return db.scalars(select(RectificationTask).where(
        RectificationTask.import_key == import_key, RectificationTask.state.in_(open_states))
        .order_by(RectificationTask.id.desc()).limit(1)).first()


def _visible(db: Session, actor: Actor, task: RectificationTask) -> bool:
    return Area.rectification in org_service.areas(actor) \
        and org_service.can_see(db, actor=actor, org=task.org)


def _require_rectification_role(actor: Actor) -> None:
    """Runners run errands; 整改督办 is the business of the other roles."""
    org_service.require_area(actor, Area.rectification)


def get_task(db: Session, *, actor: Actor, task_id: int) -> RectificationTask:
    task = db.get(RectificationTask, task_id)
    if task is None or not _visible(db, actor, task):
        raise NotFound(f"未找到整改任务 #{task_id}")
    return task


def _tasks_query(db: Session, *, actor: Actor, org: Org | None,
                 state: TaskState | None) -> Select[RectificationTask]:
    _require_rectification_role(actor)
    stmt = select(RectificationTask).where(
        RectificationTask.org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if org is not None:
        org_service.ensure_visible(db, actor=actor, org=org)
        stmt = stmt.join(Org, Org.id == RectificationTask.org_id).where(
            Org.path.startswith(org.path))
    if state is not None:
        stmt = stmt.where(RectificationTask.state == state.value)
    return stmt


def visible_tasks(
    db: Session, *, actor: Actor, org: Org | None = None, state: TaskState | None = None,
    as_of: date | None = None, overdue_only: bool = False,
) -> list[RectificationTask]:
    """Every task the actor may see, overdue first, then by due day, for figures (the board's
    columns and charts, points at risk, the weekly bulletin); lists use :func:`list_tasks`."""
    as_of = as_of or local_today()
    tasks = list(db.scalars(_tasks_query(db, actor=actor, org=org, state=state)))
    if overdue_only:
        tasks = [t for t in tasks if is_overdue(t, as_of=as_of)]
    return sorted(tasks, key=lambda t: (not is_overdue(t, as_of=as_of),
                                        not TaskState(t.state).is_open, t.due_on, t.id))


#: Tasks as a list; without a ``sort`` in the board's order (see list_tasks).
TASKS = Listing(
    sorts={"id": ("编号", [RectificationTask.id]),
           "due_on": ("期限", [RectificationTask.due_on]),
           "issued_on": ("下发日期", [RectificationTask.issued_on])},
    key=RectificationTask.id, search="编号或标题中的文字", dates="期限")


def list_tasks(
    db: Session, *, actor: Actor, org: Org | None = None, state: TaskState | None = None,
    as_of: date | None = None, overdue_only: bool = False, params: ListParams,
) -> Page[RectificationTask]:
    """A page of the tasks the actor may see; without a ``sort``, overdue first, then open
    ones, then by due day (as :func:`visible_tasks`)."""
    as_of = as_of or local_today()
    stmt = _tasks_query(db, actor=actor, org=org, state=state)
    open_ = RectificationTask.state.in_([s.value for s in TaskState if s.is_open])
    overdue = and_(RectificationTask.state.in_([s.value for s in TaskState if s.with_unit]),
                   RectificationTask.due_on < as_of)
    if overdue_only:
        stmt = stmt.where(overdue)
    if params.q:
        stmt = stmt.where(or_(RectificationTask.title.contains(params.q, autoescape=True),
                              RectificationTask.id == params.number))
    if params.since:
        stmt = stmt.where(RectificationTask.due_on >= params.since)
    if params.until:
        stmt = stmt.where(RectificationTask.due_on <= params.until)
    return paginate(db, stmt, params=params, order=TASKS.order(params, default=[
        case((overdue, 0), else_=1), case((open_, 0), else_=1), RectificationTask.due_on,
        RectificationTask.id]))


def _may_act(db: Session, actor: Actor, task: RectificationTask, who: str) -> None:
    if who == "manager":
        org_service.require_manager(actor, "核验或撤销整改任务")
        return
    if actor.role not in (Role.liaison, Role.admin, Role.analyst) or not _visible(db, actor, task):
        raise PermissionDenied("只有责任单位联络员或考核管理员可以办理该任务")


def _may_step(db: Session, actor: Actor, task: RectificationTask, action: TaskAction,
              who: str) -> None:
    _may_act(db, actor, task, who)
    if action is TaskAction.accept and task.open_lines:
        raise Conflict(f"还有 {task.open_lines} 项未整改完成，不能销号")


#: The 整改任务's workflow (``rectification.enums.TRANSITIONS``) on the one helper.
TASK_FLOW: Workflow[TaskAction, TaskState] = Workflow(
    noun="任务", object_type="rectification_task", audit_prefix="rectification",
    state_type=TaskState, table=TRANSITIONS, may=_may_step)


def _check(db: Session, actor: Actor, task: RectificationTask | None,
           action: TaskAction | TaskWork) -> None:
    """Raise the refusal of ``action`` by ``actor`` (on ``task``), if any: the one check
    behind every write of a task and behind :func:`allowed_actions`."""
    if isinstance(action, TaskAction):
        assert task is not None
        TASK_FLOW.check(db, actor, task, action)
        return
    if action in (TaskWork.issue, TaskWork.import_feedback):
        org_service.require_manager(actor, action.label)
        return
    assert task is not None
    state = TaskState(task.state)
    if action is TaskWork.reopen_line:
        _may_act(db, actor, task, "manager")
        if not state.is_open:
            raise Conflict(f"任务当前为「{state.label}」，不能退回整改项")
    elif action is TaskWork.resolve_line:
        _may_act(db, actor, task, "assignee")
        if state not in (TaskState.acknowledged, TaskState.in_progress):
            raise Conflict(f"任务当前为「{state.label}」，不能登记整改结果")
    else:
        _may_act(db, actor, task, "assignee")
        if not state.is_open:
            raise Conflict("任务已结束，不能再上传材料")


def allowed_actions(db: Session, *, actor: Actor,
                    task: RectificationTask | None = None) -> frozenset[TaskAction | TaskWork]:
    """What ``actor`` may do now: on ``task`` (its transitions, lines, files), or without one
    on the board (issue, import). Pages show exactly these buttons."""
    if task is None:
        candidates: list[TaskAction | TaskWork] = [TaskWork.issue, TaskWork.import_feedback]
    else:
        candidates = [*TaskAction, TaskWork.resolve_line, TaskWork.reopen_line, TaskWork.attach]
    return permitted(candidates, lambda action: _check(db, actor, task, action))


def supervision_targets(db: Session, *, actor: Actor,
                        task_ids: Iterable[int]) -> list[supervision.Target]:
    """The tasks ``actor`` names for a 催办 or 批示, as 督办 targets: every one visible and
    still open, or none (the refusal names the closed ones)."""
    supervision.require_supervisor(actor)
    tasks = [get_task(db, actor=actor, task_id=task_id) for task_id in dict.fromkeys(task_ids)]
    ended = [f"#{t.id}" for t in tasks if not TaskState(t.state).is_open]
    if ended:
        raise Conflict(f"整改任务 {'、'.join(ended)} 已结束，无需督办")
    return [supervision.Target("rectification_task", t.id, t.org, f"整改任务 #{t.id} {t.title}",
                               f"/rectification/tasks/{t.id}",
                               f"/rectification?org={t.org.code}#tasks") for t in tasks]


def supervision_kinds(*, actor: Actor, task: RectificationTask) -> frozenset[SupervisionKind]:
    """The 督办 ``actor`` may attach to the task now (none once it has ended)."""
    if not TaskState(task.state).is_open:
        return frozenset()
    return supervision.allowed_kinds(actor)


def require_allowed(db: Session, *, actor: Actor, action: TaskWork) -> None:
    """Refuse a board action (a form to issue or import) the actor may not take."""
    _check(db, actor, None, action)


@audit.action({f"rectification.{a.value}": a.label for a in TaskAction})
def transition(
    db: Session, *, actor: Actor, task: RectificationTask, action: TaskAction, note: str = "",
    evidence: str = "",
) -> RectificationTask:
    """Move a task along its workflow; an action not allowed from its state is refused."""
    _check(db, actor, task, action)
    if action is TaskAction.submit:
        if not (evidence.strip() or task.evidence.strip() or task.attachments):
            raise DomainError("提交整改须填写整改说明或上传佐证材料")
        if evidence.strip():
            task.evidence = evidence.strip()
    if action in (TaskAction.reject, TaskAction.cancel) and not note.strip():
        raise DomainError(f"「{action.label}」须写明原因")
    if action is TaskAction.accept:
        task.closed_at = datetime.now(local_zone())
    if action is TaskAction.cancel:
        task.cancel_reason = note.strip()
    TASK_FLOW.step(db, actor, task, action, reason=note)
    _announce(db, task=task, action=action, note=note.strip())
    return task


def _announce(db: Session, *, task: RectificationTask, action: TaskAction | None,
              note: str = "") -> None:
    """Work finds its people at once: a new task to its liaisons, a submission to the
    verifiers, a rejection back to the liaisons with its reason."""
    link = f"/rectification/tasks/{task.id}"
    liaisons = org_service.people_of(db, org=task.org, roles={Role.liaison})
    if action is None:
        people, message = liaisons, notify.Message(
            "task_new", f"新整改任务 #{task.id}：{task.title}",
            f"{task.org.name}，{len(task.lines)} 项，须于{task.due_on.month}月{task.due_on.day}日前完成。",
            link)
    elif action is TaskAction.submit:
        people, message = org_service.analysts(db), notify.Message(
            "task_submitted", f"整改任务 #{task.id} 已提交，待核验",
            f"{task.org.name}：{task.title}", link)
    elif action is TaskAction.reject:
        people, message = liaisons, notify.Message(
            "task_rejected", f"整改任务 #{task.id} 核验未通过，已退回",
            f"退回原因：{note}", link)
    else:
        return
    # a task is issued once; a submission or rejection may come again, each its own message
    event = f"{action.value}:{utcnow().isoformat()}" if action else "issued"
    notify.notify(db, recipients=org_service.recipients(people), message=message,
                  key=f"rectification_task:{task.id}:{event}")


@audit.action({"rectification.line_resolved": "登记整改结果",
               "rectification.line_reopened": "退回整改项"})
def resolve_line(
    db: Session, *, actor: Actor, task: RectificationTask, line_id: int, resolution: str = "",
    reopen: bool = False,
) -> TaskLine:
    """Mark one line rectified (or reopen it, e.g. after a rejected verification)."""
    line = next((ln for ln in task.lines if ln.id == line_id), None)
    if line is None:
        raise NotFound(f"任务 #{task.id} 没有第 {line_id} 项")
    _check(db, actor, task, TaskWork.reopen_line if reopen else TaskWork.resolve_line)
    if reopen:
        if line.resolved_at is None:
            return line
        line.resolved_at, line.resolution = None, ""
        action = "rectification.line_reopened"
    else:
        if line.resolved_at is not None:
            return line
        line.resolved_at, line.resolution = datetime.now(local_zone()), resolution.strip()
        action = "rectification.line_resolved"
    db.flush()
    audit.record(db, actor=actor, action=action, object_type="rectification_line",
                 object_id=line.id, changes={"task": task.id, "item": line.item_code},
                 reason=resolution)
    return line


def resolve_lines(
    db: Session, *, actor: Actor, task: RectificationTask, line_ids: Sequence[int],
    resolution: str = "",
) -> list[TaskLine]:
    """销项 several open lines of one task in one step, each through :func:`resolve_line` (so
    each has its own ``rectification.line_resolved`` entry). All or none: an actor who may not
    resolve this task's lines, a line of another task or one already resolved refuses the
    whole selection before anything changes."""
    wanted = list(dict.fromkeys(line_ids))
    if not wanted:
        raise DomainError("请先勾选要销项的整改项")
    _check(db, actor, task, TaskWork.resolve_line)
    lines = {line.id: line for line in task.lines}
    foreign = [str(i) for i in wanted if i not in lines]
    if foreign:
        raise NotFound(f"任务 #{task.id} 没有这些整改项：{'、'.join(foreign)}")
    done = [lines[i].item_name or f"第 {i} 项" for i in wanted if lines[i].resolved_at is not None]
    if done:
        raise Conflict(f"这些整改项已经销项，请取消勾选后再提交：{'、'.join(done)}")
    with db.begin_nested():  # one failing line undoes the others
        return [resolve_line(db, actor=actor, task=task, line_id=i, resolution=resolution)
                for i in wanted]


# ---------------------------------------------------------------- attachments

@audit.action({"rectification.attachment_added": "上传佐证材料"})
def add_attachment(
    db: Session, *, actor: Actor, task: RectificationTask, filename: str, content: bytes
) -> TaskAttachment:
    """Store an evidence file after checking its size, extension and content."""
    _check(db, actor, task, TaskWork.attach)
    attachment = TaskAttachment(task_id=task.id, **uploads.keep_evidence(
        filename, content, uploaded_by=actor.username))
    task.attachments.append(attachment)
    db.flush()
    audit.record(db, actor=actor, action="rectification.attachment_added",
                 object_type="rectification_task", object_id=task.id,
                 changes={"file": attachment.original_name, "size": attachment.size,
                          "sha256": attachment.sha256})
    return attachment


def get_attachment(db: Session, *, actor: Actor, attachment_id: int) -> tuple[TaskAttachment, Path]:
    """An attachment and its file, for users who may see its task."""
    attachment = db.get(TaskAttachment, attachment_id)
    if attachment is None or not _visible(db, actor, attachment.task):
        raise NotFound("未找到该附件")
    return attachment, uploads.stored_path(attachment.stored_name)


# ---------------------------------------------------------------- points at risk


def unresolved_at(task: RectificationTask, moment: datetime) -> int:
    """Lines not resolved by ``moment``."""
    return sum(1 for ln in task.lines if ln.resolved_at is None or ln.resolved_at > moment)


def penalty_points(task: RectificationTask, unresolved: int) -> float:
    if task.penalty_points_each is None:
        return 0.0
    points = unresolved * task.penalty_points_each
    if task.penalty_cap is not None:
        points = min(points, task.penalty_cap)
    return round(points, 4)


def points_at_risk(task: RectificationTask) -> float:
    """What the task would cost if nothing more were fixed: open lines × points each, capped."""
    if not TaskState(task.state).is_open or task.penalty_adjustment_id is not None:
        return 0.0
    return penalty_points(task, task.open_lines)


def points_deducted(task: RectificationTask) -> float:
    """What the penalty of an overdue task took: the figure its adjustment was charged with
    (the lines unresolved at the deadline); 0 while no penalty is charged."""
    if task.penalty_adjustment_id is None:
        return 0.0
    return penalty_points(task, unresolved_at(task, workdays.end_of_day(task.due_on)))


def risk_order(task: RectificationTask) -> tuple[float, date, int]:
    """The risk board's order of tasks: most points still at risk first, then the deadline."""
    return (-points_at_risk(task), task.due_on, task.id)


@dataclass
class RiskRow:
    """The points an org stands to lose, and where that would leave it."""

    org: Org
    points_at_risk: float
    open_lines: int
    next_due: date | None
    tasks: list[RectificationTask] = field(default_factory=list)
    points_deducted: float = 0.0
    current_total: float | None = None
    current_rank: int | None = None
    projected_total: float | None = None
    projected_rank: int | None = None
    basis: str = ""
    statement: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"org_code": self.org.code, "org_name": self.org.name,
                "points_at_risk": self.points_at_risk, "points_deducted": self.points_deducted,
                "open_lines": self.open_lines,
                "next_due": self.next_due.isoformat() if self.next_due else None,
                "current_total": self.current_total, "current_rank": self.current_rank,
                "projected_total": self.projected_total, "projected_rank": self.projected_rank,
                "basis": self.basis, "statement": self.statement,
                "tasks": [t.id for t in self.tasks]}


def risk(db: Session, *, actor: Actor, org: Org | None = None,
         as_of: date | None = None) -> list[RiskRow]:
    """Per org that would lose points: what is still at risk, what open overdue tasks already
    cost (``points_deducted``), and its total and rank if all at risk is lost; most points at
    risk first, then the nearest deadline.

    The projection applies the loss to the org's latest score sheet through the assessment's
    what-if, with every other org unchanged.
    """
    as_of = as_of or local_today()
    rows: dict[int, RiskRow] = {}
    for task in visible_tasks(db, actor=actor, org=org, as_of=as_of):
        at_risk = points_at_risk(task)
        deducted = points_deducted(task) if TaskState(task.state).is_open else 0.0
        if (at_risk <= 0 and deducted <= 0) or task.penalty_org is None:
            continue
        row = rows.setdefault(task.penalty_org.id, RiskRow(task.penalty_org, 0.0, 0, None))
        row.points_deducted = round(row.points_deducted + deducted, 4)
        row.tasks.append(task)
        if at_risk > 0:
            row.points_at_risk = round(row.points_at_risk + at_risk, 4)
            row.open_lines += task.open_lines
            row.next_due = min(filter(None, [row.next_due, task.due_on]))
    at_risk_rows = [row for row in rows.values() if row.points_at_risk > 0]
    projections = assessment.project_losses(db, actor=actor, losses=[
        (row.org, row.points_at_risk,
         next((t.penalty_scheme for t in row.tasks if t.penalty_scheme), None))
        for row in at_risk_rows])
    for row, projection in zip(at_risk_rows, projections, strict=True):
        if projection is not None:
            _project(row, projection)
    return sorted(rows.values(), key=lambda r: (-r.points_at_risk, r.next_due or date.max,
                                                r.org.code))


def _project(row: RiskRow, projection: assessment.LossProjection) -> None:
    row.current_total, row.current_rank = projection.current_total, projection.current_rank
    row.projected_total, row.projected_rank = projection.projected_total, projection.projected_rank
    row.basis = projection.basis
    categories = "、".join(sorted({t.category for t in row.tasks if points_at_risk(t) > 0}))
    due = row.next_due
    assert due is not None
    row.statement = (f"若{due.month}月{due.day}日前未完成{row.open_lines}个{categories}整改，"
                     f"将扣{precise(row.points_at_risk)}分，预计排名第{row.projected_rank}位"
                     f"（以{row.basis}为基础，现第{row.current_rank}位）")


# ---------------------------------------------------------------- import of province feedback

ALIASES = {
    "事项编码": "item_code", "实施编码": "item_code", "事项名称": "item_name", "问题": "problem",
    "问题描述": "problem", "存在问题": "problem", "部门": "department", "责任单位": "department",
    "单位": "department", "整改期限": "due", "截止日期": "due", "完成时限": "due",
}


@dataclass
class FeedbackImport:
    tasks: int = 0
    lines: int = 0
    task_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"tasks": self.tasks, "lines": self.lines, "task_ids": self.task_ids, "errors": []}


@audit.action({"rectification.imported": "导入省级反馈",
               "rectification.lines_added": "新增整改项"})
def import_feedback(
    db: Session,
    *,
    actor: Actor,
    source: Path | IO[bytes],
    filename: str | None = None,
    category: str = "异常办事指南",
    issued_on: date | None = None,
    penalty_indicator: str | None = None,
    points_each: float | None = None,
    cap: float | None = None,
) -> FeedbackImport:
    """One task per department from the province's feedback list; all rows or none; a
    re-import adds only lines that are not there yet. Audited once for the file, and on each
    task it issues or adds lines to."""
    _check(db, actor, None, TaskWork.import_feedback)
    _check_category(category)
    if (penalty_indicator is None) != (points_each is None):
        raise DomainError("扣分指标与每项扣分须同时给出")
    if points_each is not None:
        _check_penalty_numbers(points_each, cap)
    issued_on = issued_on or local_today()
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    table = open_table(io.BytesIO(raw), filename=name, aliases=ALIASES)
    missing = [c for c in ("item_code", "item_name", "problem", "department", "due")
               if c not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    errors = ErrorGroups(file=name)
    groups: dict[int, tuple[Org, list[tuple[date, LineInput]]]] = {}
    calendar = workdays.load_calendar(db)
    seen: dict[tuple[int, str, str], int] = {}
    for row, values in table.rows:
        code, item = cell_text(values.get("item_code")), cell_text(values.get("item_name"))
        problem, department = cell_text(values.get("problem")), cell_text(values.get("department"))
        if not (code or item):
            errors.append(RowError(row, "item_code", "事项编码和事项名称不能都为空", name))
        if not problem:
            errors.append(RowError(row, "problem", "缺少问题描述", name))
        try:
            org = org_service.resolve_org(db, ref=department, actor=actor) if department \
                else None
        except DomainError as exc:
            errors.append(RowError(row, "department", exc.message, name))
            org = None
        if org is None and not department:
            errors.append(RowError(row, "department", "缺少责任单位", name))
        due = _parse_due(values.get("due"), issued_on, calendar)
        if isinstance(due, str):
            errors.append(RowError(row, "due", due, name))
        if org is None or isinstance(due, str) or not problem or not (code or item):
            continue
        key = (org.id, code or item, problem)
        if key in seen:
            errors.append(RowError(row, "item_code", f"与第{seen[key]}行重复", name))
            continue
        seen[key] = row
        groups.setdefault(org.id, (org, []))[1].append((due, LineInput(code, item, problem)))
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{name} 有 {errors.count} 处错误，未导入任何任务")
    result = FeedbackImport()
    for org, rows in groups.values():
        due = min(d for d, _ in rows)
        import_key = f"feedback:{category}:{org.code}:{due.isoformat()}"
        task = db.scalar(select(RectificationTask).where(
            RectificationTask.import_key == import_key,
            RectificationTask.state != TaskState.cancelled.value))
        if task is None:
            penalty = Penalty(penalty_indicator, points_each, cap, org_service.city_of(org)) \
                if penalty_indicator is not None and points_each is not None else None
            task = create_task(
                db, actor=actor, source=TaskSource.province_feedback, category=category,
                title=f"省级反馈{category}整改（{org.name}）", org=org, issued_on=issued_on,
                due_on=due, lines=[ln for _, ln in rows], penalty=penalty,
                detail=f"来自 {name}", import_key=import_key)
            result.tasks += 1
            result.lines += len(rows)
            result.task_ids.append(task.id)
            continue
        present = {(ln.item_code or ln.item_name, ln.problem) for ln in task.lines}
        added = [ln for _, ln in rows if (ln.item_code or ln.item_name, ln.problem) not in present]
        for ln in added:
            task.lines.append(TaskLine(item_code=ln.item_code, item_name=ln.item_name,
                                       problem=ln.problem))
        if added:
            db.flush()
            audit.record(db, actor=actor, action="rectification.lines_added",
                         object_type="rectification_task", object_id=task.id,
                         changes={"lines": len(added), "file": name})
            result.lines += len(added)
    audit.record(db, actor=actor, action="rectification.imported", object_type="rectification_import",
                 object_id=name[:128], changes={**result.as_dict(), "category": category})
    return result


def _check_penalty_numbers(points_each: float, cap: float | None) -> None:
    """Points per line and the cap: finite and above 0 (inf or NaN would charge nonsense)."""
    if not all(math.isfinite(n) and n > 0 for n in (points_each, cap) if n is not None):
        raise DomainError("每项扣分和扣分上限须为大于0的数字")


def _parse_due(value: object, issued_on: date, calendar: workdays.WorkCalendar) -> date | str:
    text = cell_text(value)  # type: ignore[arg-type]
    if not text:
        return "缺少整改期限"
    number = cell_number(value)  # type: ignore[arg-type]
    if number is not None and number.is_integer() and 0 < number < 400 and len(text) <= 3:
        try:
            return calendar.add_workdays(issued_on, int(number))
        except workdays.UnknownCalendarYear as exc:
            return exc.message
    try:
        day = date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        return f"整改期限「{text}」应为 YYYY-MM-DD 日期或工作日数"
    if day < issued_on:
        return f"整改期限 {day.isoformat()} 早于下发日期 {issued_on.isoformat()}"
    return day


def counts_by_state(tasks: list[RectificationTask], *, as_of: date) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for task in tasks:
        out[task.state] += 1
        if is_overdue(task, as_of=as_of):
            out["overdue"] += 1
    return dict(out)
