"""Rectification pages: boards, risk board, task page with lines and evidence, import, new."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.export import Field, xlsx_response
from tongban.core.listing import PAGED, ListParams, page_of
from tongban.core.periods import month_of
from tongban.core.security import Actor
from tongban.core.tabular import cell_number
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import end_of_day, local_today
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.rectification import service
from tongban.rectification.enums import TaskAction, TaskSource, TaskState, TaskWork
from tongban.rectification.models import RectificationTask
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind
from tongban.supervision.pages import supervision_pages

router = APIRouter(include_in_schema=False, prefix="/rectification")

BOARD_COLUMNS = [TaskState.issued, TaskState.acknowledged, TaskState.in_progress,
                 TaskState.submitted]



def _charts(tasks: list[RectificationTask], as_of: date) -> dict[str, Any]:
    by_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_org: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for task in tasks:
        if task.state == TaskState.cancelled.value or task.due_on >= as_of:
            continue
        ontime = task.closed_at is not None and task.closed_at <= end_of_day(task.due_on)
        by_month[month_of(task.due_on)][0 if ontime else 1] += 1
        by_org[task.org.short_name][0 if ontime else 1] += 1
    months = sorted(by_month)
    orgs = sorted(by_org, key=lambda o: by_org[o][0] / max(1, sum(by_org[o])))
    trend = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 36, "right": 12, "top": 30, "bottom": 28},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value", "minInterval": 1, "name": "任务数"},
        "series": [
            {"name": "按期完成", "type": "bar", "stack": "t", "data": [by_month[m][0] for m in months],
             "itemStyle": {"color": "#1e8449"}},
            {"name": "逾期", "type": "bar", "stack": "t", "data": [by_month[m][1] for m in months],
             "itemStyle": {"color": "#c0392b"}},
        ],
    }
    rate = {
        "tooltip": {"trigger": "axis", "formatter": "{b}：{c}%"},
        "grid": {"left": 8, "right": 24, "top": 10, "bottom": 20, "containLabel": True},
        "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "category", "data": orgs},
        "series": [{"name": "按期完成率（%）", "type": "bar", "itemStyle": {"color": "#1d4f91"},
                    "label": {"show": True, "position": "right", "formatter": "{c}%"},
                    "data": [round(100 * by_org[o][0] / max(1, sum(by_org[o])), 1)
                             for o in orgs]}],
    }
    return {"trend": trend, "rate": rate,
            "rate_rows": [(o, by_org[o][0], sum(by_org[o])) for o in orgs]}


#: The task list as exported: what a task card shows, in full, with names not codes.
TASK_FIELDS: list[Field[RectificationTask]] = [
    Field("编号", lambda t: t.id),
    Field("标题", lambda t: t.title),
    Field("单位", lambda t: t.org.name),
    Field("来源", lambda t: TaskSource(t.source).label),
    Field("类别", lambda t: t.category),
    Field("状态", lambda t: TaskState(t.state).label),
    Field("责任人", lambda t: t.responsible_person),
    Field("下发日期", lambda t: t.issued_on),
    Field("期限", lambda t: t.due_on),
    Field("是否逾期", lambda t: service.is_overdue(t, as_of=local_today())),
    Field("整改项", lambda t: len(t.lines)),
    Field("未完成项", lambda t: t.open_lines),
    Field("风险分值", lambda t: service.points_at_risk(t)),
]


@router.get("", response_class=HTMLResponse)
def board(request: Request, state: str = "", org: str = "", overdue: bool = False,
          format: str = "", params: ListParams = Depends(service.TASKS.params),
          db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """The board (counts, charts, a column per open state) over every task, and the task
    list, filtered, searched, sorted and paged (``format=xlsx``: all of it, as a file)."""
    as_of = local_today()
    wanted = TaskState(state) if state in TaskState.__members__ else None
    target = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_tasks(db, actor=actor, org=target, state=wanted, as_of=as_of,
                               overdue_only=overdue,
                               params=params.for_export() if format == "xlsx" else params)
    if format == "xlsx":
        return xlsx_response(found.items, TASK_FIELDS, title="整改任务")
    tasks = service.visible_tasks(db, actor=actor, as_of=as_of)
    columns = {column: [t for t in tasks if t.state == column.value] for column in BOARD_COLUMNS}
    may_urge = SupervisionKind.urge in supervision.allowed_kinds(actor)
    return render(request, "rectification/board.html", {
        "bulk": [("urge", "催办选中的")] if may_urge else [], "bulk_path": "/rectification/supervision",
        "columns": columns, "shown": get_settings().list_page_size, "as_of": as_of,
        "service": service, "counts": service.counts_by_state(tasks, as_of=as_of),
        "charts": _charts(tasks, as_of), "states": TaskState, "state": state,
        "org": target, "overdue": overdue, "found": found,
        "params": params, "allowed": service.allowed_actions(db, actor=actor), "work": TaskWork})


@router.get("/risk", response_class=HTMLResponse)
def risk_board(request: Request, params: ListParams = Depends(PAGED.params),
               db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    as_of = local_today()
    rows = service.risk(db, actor=actor, as_of=as_of)
    open_tasks = [t for t in service.visible_tasks(db, actor=actor, as_of=as_of)
                  if TaskState(t.state).is_open]
    open_tasks.sort(key=service.risk_order)
    # Ordered by the points still at risk, which are computed per task: paged once ordered.
    return render(request, "rectification/risk.html", {
        "rows": rows, "found": page_of(open_tasks, params=params), "as_of": as_of,
        "service": service, "states": TaskState})


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: RowId, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> Response:
    task = service.get_task(db, actor=actor, task_id=task_id)
    as_of = local_today()
    state = TaskState(task.state)
    allowed = service.allowed_actions(db, actor=actor, task=task)
    return render(request, "rectification/task.html", {
        "task": task, "state": state, "source": TaskSource(task.source), "allowed": allowed,
        "actions": [a for a in TaskAction if a in allowed], "work": TaskWork,
        "as_of": as_of, "service": service, **_record(db, actor, task),
        "items": catalog.item_names(db, codes=[ln.item_code for ln in task.lines
                                               if not ln.item_name]),
        "extensions": ", ".join(sorted(get_settings().upload_extension_set)),
        "max_mb": get_settings().upload_max_bytes // (1024 * 1024)})


def _record(db: Session, actor: Actor, task: RectificationTask) -> dict[str, Any]:
    """The task's history with people's names, and its 督办."""
    history = audit.history(db, object_type="rectification_task", object_id=task.id)
    return {"history": history,
            "people": org_service.display_names(db, usernames=[e.actor for e in history]),
            "notes": supervision.notes_of(db, object_type="rectification_task",
                                          object_id=task.id, params=ListParams(page_size=100)).items,
            "supervision_kinds": service.supervision_kinds(actor=actor, task=task)}


#: 督办 from a task's page and from the task list's ticked rows.
supervision_forms = supervision_pages(
    item_path="/rectification/tasks", bulk_path="/rectification/supervision",
    list_path="/rectification",
    targets=lambda db, actor, ids: service.supervision_targets(db, actor=actor, task_ids=ids))


@router.post("/tasks/{task_id}/actions/{action}")
def task_action(request: Request, task_id: RowId, action: TaskAction, note: str = Form(""),
                evidence: str = Form(""), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    task = service.get_task(db, actor=actor, task_id=task_id)
    try:
        service.transition(db, actor=actor, task=task, action=action, note=note,
                           evidence=evidence)
        flash(request, f"已{action.label}")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(f"/rectification/tasks/{task_id}")


@router.post("/tasks/{task_id}/lines/{line_id}")
def task_line(request: Request, task_id: RowId, line_id: RowId, resolution: str = Form(""),
              reopen: bool = Form(False), db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> Response:
    task = service.get_task(db, actor=actor, task_id=task_id)
    try:
        service.resolve_line(db, actor=actor, task=task, line_id=line_id, resolution=resolution,
                             reopen=reopen)
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(f"/rectification/tasks/{task_id}#lines")


@router.post("/tasks/{task_id}/lines")
def task_lines_resolve(request: Request, task_id: RowId, ids: list[int] = Form([]),
                       resolution: str = Form(""), db: Session = REQUEST_DB,
                       actor: Actor = Depends(require_actor)) -> Response:
    """批量销项: the ticked lines of the task, all or none."""
    task = service.get_task(db, actor=actor, task_id=task_id)
    try:
        done = service.resolve_lines(db, actor=actor, task=task, line_ids=ids,
                                     resolution=resolution)
        flash(request, f"已销项 {len(done)} 项")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(f"/rectification/tasks/{task_id}#lines")


@router.post("/tasks/{task_id}/attachments")
def task_upload(request: Request, task_id: RowId, file: UploadFile = File(...),
                      db: Session = REQUEST_DB,
                      actor: Actor = Depends(require_actor)) -> Response:
    task = service.get_task(db, actor=actor, task_id=task_id)
    content = file.file.read(get_settings().upload_max_bytes + 1)
    try:
        attachment = service.add_attachment(db, actor=actor, task=task,
                                            filename=file.filename or "", content=content)
        flash(request, f"已上传「{attachment.original_name}」")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(f"/rectification/tasks/{task_id}")


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> Response:
    service.require_allowed(db, actor=actor, action=TaskWork.issue)
    return render(request, "rectification/new.html", {
        "categories": get_settings().rectification_category_list, "sources": TaskSource,
        "today": local_today()})


@router.post("/new", response_class=HTMLResponse)
def new_task(
    request: Request,
    org: str = Form(...),
    category: str = Form(...),
    source: TaskSource = Form(TaskSource.city_inspection),
    title: str = Form(...),
    detail: str = Form(""),
    responsible_person: str = Form(""),
    issued_on: date = Form(...),
    due_on: str = Form(""),
    due_workdays: str = Form(""),
    lines: str = Form(""),
    penalty_indicator: str = Form(""),
    points_each: str = Form(""),
    cap: str = Form(""),
    penalty_org: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    try:
        target = org_service.resolve_org(db, ref=org, actor=actor)
        penalty = None
        if penalty_indicator.strip():
            if not points_each.strip():
                raise DomainError("设置扣分指标时须填写每项扣分")
            penalty = service.Penalty(
                penalty_indicator.strip(), float(points_each), float(cap) if cap.strip() else None,
                org_service.resolve_org(db, ref=penalty_org) if penalty_org.strip() else None)
        line_inputs = []
        for raw in lines.splitlines():
            parts = [p.strip() for p in raw.split("|")]
            if any(parts):
                code, name, problem = parts[:3] if len(parts) >= 3 else ("", parts[0], parts[-1])
                line_inputs.append(service.LineInput(code, name, problem))
        task = service.create_task(
            db, actor=actor, source=source, category=category, title=title, detail=detail,
            org=target, responsible_person=responsible_person, issued_on=issued_on,
            due_on=date.fromisoformat(due_on) if due_on.strip() else None,
            due_workdays=int(due_workdays) if due_workdays.strip() else None,
            lines=line_inputs, penalty=penalty)
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else f"输入有误：{exc}"
        return render(request, "rectification/new.html", {
            "categories": get_settings().rectification_category_list, "sources": TaskSource,
            "today": local_today(), "error": message,
            "form": {"org": org, "category": category, "title": title, "detail": detail,
                     "responsible_person": responsible_person, "due_on": due_on,
                     "due_workdays": due_workdays, "lines": lines,
                     "penalty_indicator": penalty_indicator, "points_each": points_each,
                     "cap": cap, "penalty_org": penalty_org}},
            status_code=422)
    flash(request, f"已下发整改任务 #{task.id}，期限 {task.due_on}")
    return see_other(f"/rectification/tasks/{task.id}")


def _number(text: str, what: str) -> float | None:
    """A number typed into the form; blank is none."""
    if not text.strip():
        return None
    number = cell_number(text)
    if number is None:
        raise DomainError(f"{what}「{text.strip()}」不是数字")
    return number


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    service.require_allowed(db, actor=actor, action=TaskWork.import_feedback)
    return render(request, "rectification/import.html",
                  {"categories": get_settings().rectification_category_list})


@router.post("/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    file: UploadFile = File(...),
    category: str = Form("异常办事指南"),
    penalty_indicator: str = Form(""),
    points_each: str = Form(""),
    cap: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    context: dict[str, Any] = {"categories": get_settings().rectification_category_list}
    try:
        result = service.import_feedback(
            db, actor=actor, source=file.file, filename=file.filename, category=category,
            penalty_indicator=penalty_indicator.strip() or None,
            points_each=_number(points_each, "每项扣分"), cap=_number(cap, "扣分上限"))
    except ValidationFailed as exc:
        return render(request, "rectification/import.html", {**context, "failure": exc},
                      status_code=422)
    except DomainError as exc:
        return render(request, "rectification/import.html",
                      {**context, "failure": ValidationFailed(summary=exc.message)},
                      status_code=exc.status_code)
    flash(request, f"已导入：新建任务 {result.tasks} 个，新增整改项 {result.lines} 项")
    return see_other("/rectification")
