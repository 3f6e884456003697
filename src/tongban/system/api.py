"""JSON API of health, the working-day calendar and the audit log."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tongban.core import audit, notify, privacy, workdays
from tongban.core.db import REQUEST_DB
from tongban.core.listing import PAGED, ListParams, PageOut, page_out
from tongban.core.security import Actor
from tongban.core.workdays import DayKind
from tongban.org.access import require_actor
from tongban.system import service
from tongban.system.schemas import (
    AuditEntryRead,
    AuditVerifyRead,
    CalendarYear,
    HealthRead,
    NotificationRead,
    OverrideRead,
    OverrideWrite,
    WorkdayAnswer,
    WorkdayCheck,
)

router = APIRouter()
health_router = APIRouter()


@health_router.get("/healthz", response_model=HealthRead, summary="健康检查", tags=["system"])
def healthz(db: Session = REQUEST_DB) -> JSONResponse:
    health = service.check_health(db)
    body = HealthRead(
        status="ok" if health.ok else "error",
        database=health.database,
        revision=health.revision,
        head=health.head,
        error=health.error,
    )
    return JSONResponse(body.model_dump(), status_code=200 if health.ok else 503)


@router.get("/calendar/add-workdays", response_model=WorkdayAnswer, summary="N个工作日后的日期")
def add_workdays(
    start: date,
    n: int = Query(ge=0, le=3650),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> WorkdayAnswer:
    return WorkdayAnswer(start=start, workdays=n, result=workdays.add_workdays(start, n, db=db))


@router.get("/calendar/days/{day}", response_model=WorkdayCheck, summary="是否工作日")
def check_day(
    day: date, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> WorkdayCheck:
    return WorkdayCheck(day=day, is_workday=workdays.is_workday(day, db=db))


@router.get("/calendar/overrides", response_model=PageOut[OverrideRead], summary="工作日历调整")
def list_overrides(
    response: Response,
    year: CalendarYear | None = None,
    params: ListParams = Depends(workdays.OVERRIDES.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> PageOut[OverrideRead]:
    found = workdays.list_overrides(db, year=year, params=params)
    return page_out(response, found.map(lambda o: OverrideRead(
        day=o.day, kind=DayKind(o.kind), note=o.note, created_by=o.created_by)))


@router.put("/calendar/overrides/{day}", response_model=OverrideRead, summary="设定某日(管理员)")
def set_override(
    day: date,
    body: OverrideWrite,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> OverrideRead:
    row = workdays.set_override(db, actor=actor, day=day, kind=body.kind, note=body.note)
    return OverrideRead(day=row.day, kind=DayKind(row.kind), note=row.note,
                        created_by=row.created_by)


@router.delete("/calendar/overrides/{day}", status_code=204, summary="删除某日设定(管理员)")
def delete_override(
    day: date, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> None:
    workdays.delete_override(db, actor=actor, day=day)


@router.get("/audit", response_model=PageOut[AuditEntryRead], summary="审计日志(管理员)")
def list_audit(
    response: Response,
    who: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    params: ListParams = Depends(audit.AUDIT_ENTRIES.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> PageOut[AuditEntryRead]:
    found = audit.search_entries(
        db, actor=actor, who=who, action=action, object_type=object_type, object_id=object_id,
        since=since, until=until, params=params,
    )
    return page_out(response, found.map(lambda e: AuditEntryRead(
        id=e.id, at=e.at, actor=e.actor, action=e.action, action_label=audit.label_of(e.action),
        object_type=e.object_type, object_type_label=audit.object_label(e.object_type),
        object_id=e.object_id, changes=privacy.mask_data(e.changes),
        reason=privacy.mask_text(e.reason), hash=e.hash)))


@router.get("/audit/verify", response_model=AuditVerifyRead, summary="校验审计日志哈希链")
def verify_audit(
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> AuditVerifyRead:
    report = audit.verify(db, actor=actor)
    brk = report.first_break
    return AuditVerifyRead(
        ok=report.ok, checked=report.checked,
        first_broken_id=brk.entry_id if brk else None, reason=brk.reason if brk else None,
    )


@router.get("/me/notifications", response_model=PageOut[NotificationRead], summary="我的消息")
def my_notifications(response: Response, unread_only: bool = False,
                     params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> PageOut[NotificationRead]:
    found = notify.inbox(db, user_id=actor.user_id or 0, unread_only=unread_only, params=params)
    return page_out(response, found.map(lambda n: NotificationRead(
        id=n.id, kind=n.kind, title=n.title, body=n.body, link=n.link,
        created_at=n.created_at, read=n.read_at is not None)))
