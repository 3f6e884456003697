"""JSON API of rectification under /api/v1/rectification (thin: rules live in ``service``)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from tongban.core import privacy, uploads
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.export import file_responses
from tongban.core.listing import PAGED, ListParams, PageOut, page_of, page_out
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.rectification import service
from tongban.rectification.enums import TaskAction, TaskState, TaskWork
from tongban.rectification.models import RectificationTask
from tongban.rectification.schemas import (
    ActionRequest,
    AttachmentRead,
    ImportResult,
    LineRead,
    ResolveLinesRequest,
    ResolveRequest,
    RiskRead,
    TaskCreate,
    TaskRead,
)
from tongban.supervision.api import supervision_router

router = APIRouter(prefix="/rectification")


def task_read(task: RectificationTask, as_of: date | None = None) -> TaskRead:
    day = as_of or local_today()
    return TaskRead(
        id=task.id, source=task.source, category=task.category,
        title=privacy.mask_text(task.title), detail=privacy.mask_text(task.detail),
        org_code=task.org.code, org_name=task.org.name,
        responsible_person=privacy.mask_text(task.responsible_person), issued_on=task.issued_on,
        due_on=task.due_on, state=TaskState(task.state),
        overdue=service.is_overdue(task, as_of=day),
        open_lines=task.open_lines,
        points_at_risk=service.points_at_risk(task), penalty_indicator=task.penalty_indicator,
        penalty_points_each=task.penalty_points_each, penalty_cap=task.penalty_cap,
        penalty_org_code=task.penalty_org.code if task.penalty_org else None,
        penalty_adjustment_id=task.penalty_adjustment_id,
        evidence=privacy.mask_text(task.evidence),
        lines=[LineRead(id=ln.id, item_code=privacy.mask_text(ln.item_code),
                        item_name=privacy.mask_text(ln.item_name),
                        problem=privacy.mask_text(ln.problem), resolved_at=ln.resolved_at,
                        resolution=privacy.mask_text(ln.resolution)) for ln in task.lines],
        attachments=[AttachmentRead(id=a.id, name=privacy.mask_text(a.original_name), size=a.size,
                                    content_type=a.content_type, uploaded_by=a.uploaded_by,
                                    uploaded_at=a.uploaded_at) for a in task.attachments],
    )


@router.get("/tasks", response_model=PageOut[TaskRead],
             summary="整改任务（不给 sort 时逾期在前）")
def list_tasks(response: Response, org: str | None = None, state: TaskState | None = None,
               as_of: date | None = None,
               overdue: bool = Query(False, description="只看逾期（未办结且已过期限）"),
               params: ListParams = Depends(service.TASKS.params),
               db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[TaskRead]:
    scope = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_tasks(db, actor=actor, org=scope, state=state, as_of=as_of,
                               overdue_only=overdue, params=params)
    return page_out(response, found.map(lambda t: task_read(t, as_of)))


@router.post("/tasks", response_model=TaskRead, status_code=status.HTTP_201_CREATED,
             summary="下发整改任务")
def create_task(body: TaskCreate, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> TaskRead:
    service.require_allowed(db, actor=actor, action=TaskWork.issue)
    org = org_service.resolve_org(db, ref=body.org, actor=actor)
    penalty = None
    if body.penalty is not None:
        target = org_service.resolve_org(db, ref=body.penalty.org) if body.penalty.org else None
        penalty = service.Penalty(body.penalty.indicator, body.penalty.points_each,
                                  body.penalty.cap, target, body.penalty.scheme)
    task = service.create_task(
        db, actor=actor, source=body.source, category=body.category, title=body.title,
        detail=body.detail, org=org, responsible_person=body.responsible_person,
        issued_on=body.issued_on or local_today(), due_on=body.due_on,
        due_workdays=body.due_workdays, penalty=penalty,
        lines=[service.LineInput(ln.item_code, ln.item_name, ln.problem) for ln in body.lines])
    return task_read(task)


@router.get("/tasks/{task_id}", response_model=TaskRead, summary="整改任务详情")
def read_task(task_id: RowId, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> TaskRead:
    return task_read(service.get_task(db, actor=actor, task_id=task_id))


@router.post("/tasks/{task_id}/actions/{action}", response_model=TaskRead,
             summary="办理：签收、开始整改、提交、核验通过/不通过、撤销")
def act(task_id: RowId, action: TaskAction, body: ActionRequest, db: Session = REQUEST_DB,
        actor: Actor = Depends(require_actor)) -> TaskRead:
    task = service.get_task(db, actor=actor, task_id=task_id)
    service.transition(db, actor=actor, task=task, action=action, note=body.note,
                       evidence=body.evidence)
    return task_read(task)


@router.post("/tasks/{task_id}/lines/{line_id}/resolve", response_model=TaskRead,
             summary="登记一项整改完成（或退回）")
def resolve(task_id: RowId, line_id: RowId, body: ResolveRequest, db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> TaskRead:
    task = service.get_task(db, actor=actor, task_id=task_id)
    service.resolve_line(db, actor=actor, task=task, line_id=line_id,
                         resolution=body.resolution, reopen=body.reopen)
    return task_read(task)


@router.post("/tasks/{task_id}/lines:resolve", response_model=TaskRead,
             summary="批量销项：登记多项整改完成（全部成功或全部不变）")
def resolve_many(task_id: RowId, body: ResolveLinesRequest, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> TaskRead:
    task = service.get_task(db, actor=actor, task_id=task_id)
    service.resolve_lines(db, actor=actor, task=task, line_ids=body.line_ids,
                          resolution=body.resolution)
    return task_read(task)


@router.post("/tasks/{task_id}/attachments", response_model=AttachmentRead,
             status_code=status.HTTP_201_CREATED, summary="上传佐证材料")
def upload(task_id: RowId, file: UploadFile = File(...), db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> AttachmentRead:
    task = service.get_task(db, actor=actor, task_id=task_id)
    content = file.file.read(get_settings().upload_max_bytes + 1)
    attachment = service.add_attachment(db, actor=actor, task=task,
                                        filename=file.filename or "", content=content)
    return AttachmentRead(id=attachment.id, name=attachment.original_name,
                          size=attachment.size, content_type=attachment.content_type,
                          uploaded_by=attachment.uploaded_by,
                          uploaded_at=attachment.uploaded_at)


@router.get("/attachments/{attachment_id}", summary="下载佐证材料", response_class=Response,
            responses=file_responses(*sorted({kind[1] for kind in uploads.KINDS.values()}),
                                     description="佐证材料"))
def download(attachment_id: RowId, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> FileResponse:
    attachment, path = service.get_attachment(db, actor=actor, attachment_id=attachment_id)
    return FileResponse(
        path, media_type=attachment.content_type,
        headers={"Content-Disposition":
                 f"attachment; filename*=UTF-8''{quote(attachment.original_name)}"})


@router.post("/imports", response_model=ImportResult, status_code=status.HTTP_201_CREATED,
             summary="导入省级反馈清单")
def import_feedback(
    file: UploadFile = File(...),
    category: str = Form("异常办事指南"),
    issued_on: date | None = Form(None),
    penalty_indicator: str | None = Form(None),
    points_each: float | None = Form(None),
    cap: float | None = Form(None),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> ImportResult:
    service.require_allowed(db, actor=actor, action=TaskWork.import_feedback)
    result = service.import_feedback(
        db, actor=actor, source=file.file, filename=file.filename, category=category,
        issued_on=issued_on, penalty_indicator=penalty_indicator or None,
        points_each=points_each, cap=cap)
    return ImportResult(**result.as_dict())


@router.get("/risk", response_model=PageOut[RiskRead], summary="扣分风险与预计名次")
def risk(response: Response, org: str | None = None, as_of: date | None = None,
         params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> PageOut[RiskRead]:
    scope = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    # One row per org at risk, computed over all open tasks: paged once computed.
    rows = service.risk(db, actor=actor, org=scope, as_of=as_of)
    return page_out(response, page_of(rows, params=params).map(lambda r: RiskRead(**r.as_dict())))


#: 催办 and 批示 of tasks (``POST /rectification/tasks/supervision``, ``GET …/{id}/supervision``).
supervision_api = supervision_router(
    prefix="/rectification/tasks", noun="整改任务", object_type="rectification_task",
    targets=lambda db, actor, ids: service.supervision_targets(db, actor=actor, task_ids=ids),
    fetch=lambda db, actor, task_id: service.get_task(db, actor=actor, task_id=task_id))
