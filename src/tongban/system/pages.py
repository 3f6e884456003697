"""Administration pages: the working-day calendar and the audit log browser."""

from __future__ import annotations

import calendar as month_calendar
import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.core import audit, notify, outbox, workdays
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.export import Field, xlsx_response
from tongban.core.listing import PAGED, ListParams
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import DayKind
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.system import service as system_service
from tongban.system.schemas import CalendarYear

router = APIRouter(include_in_schema=False)



@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    year: CalendarYear | None = None,
    params: ListParams = Depends(workdays.OVERRIDES.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    workdays.require_calendar_admin(actor)
    return render(request, "calendar.html", _calendar_context(db, year, params))


def _calendar_context(db: Session, year: int | None,
                      params: ListParams | None = None) -> dict[str, Any]:
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    year = year or today.year
    cal = workdays.load_calendar(db)
    known = cal.knows_year(year)
    months = []
    if known:
        for month in range(1, 13):
            weeks = []
            for week in month_calendar.Calendar().monthdatescalendar(year, month):
                weeks.append([
                    {"day": d, "in_month": d.month == month,
                     "work": d.month == month and cal.is_workday(d),
                     "weekend": d.weekday() >= 5, "override": d in cal.overrides}
                    for d in week
                ])
            months.append({"month": month, "weeks": weeks})
    return {
        "year": year,
        "known": known,
        "months": months,
        "overrides": workdays.list_overrides(db, year=year, params=params or ListParams()),
        "years": workdays.years_known(db, around=range(today.year - 1, today.year + 3)),
        "kinds": DayKind,
    }


@router.post("/admin/calendar/override")
def calendar_override(
    request: Request,
    day: date = Form(...),
    kind: DayKind = Form(...),
    note: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    workdays.set_override(db, actor=actor, day=day, kind=kind, note=note)
    flash(request, f"已将 {day.isoformat()} 设为{kind.label}")
    return see_other(f"/admin/calendar?year={day.year}")


@router.post("/admin/calendar/{day}/delete")
def calendar_override_delete(
    request: Request,
    day: date,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    workdays.delete_override(db, actor=actor, day=day)
    flash(request, f"已删除 {day.isoformat()} 的设定")
    return see_other(f"/admin/calendar?year={day.year}")


@router.post("/admin/calendar/import")
def calendar_import(
    request: Request,
    file: UploadFile = File(...),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    """Import a notice; a refused file's errors are shown on the page (never put in the
    session cookie, which has room for a few of them at most)."""
    try:
        changed, unchanged = workdays.import_overrides(
            db, actor=actor, source=file.file, filename=file.filename or "上传文件"
        )
    except ValidationFailed as exc:
        return render(request, "calendar.html", {**_calendar_context(db, None), "failure": exc},
                      status_code=422)
    except DomainError as exc:
        return render(request, "calendar.html",
                      {**_calendar_context(db, None),
                       "failure": ValidationFailed(summary=exc.message)},
                      status_code=exc.status_code)
    flash(request, f"导入完成：{changed} 天有变更，{unchanged} 天与已有设定相同")
    return see_other("/admin/calendar")


#: The audit log as exported: every column of an entry; changes and reasons masked.
AUDIT_FIELDS: list[Field[AuditEntry]] = [
    Field("编号", lambda e: e.id),
    Field("时间", lambda e: e.at),
    Field("操作人", lambda e: e.actor),
    Field("动作", lambda e: audit.label_of(e.action)),
    Field("动作代码", lambda e: e.action),
    Field("对象类型", lambda e: audit.object_label(e.object_type)),
    Field("对象", lambda e: e.object_id),
    Field("变更", lambda e: json.dumps(e.changes, ensure_ascii=False)),
    Field("原因", lambda e: e.reason),
    Field("哈希", lambda e: e.hash),
]


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    who: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: date | None = None,
    until: date | None = None,
    format: str = "",
    params: ListParams = Depends(audit.AUDIT_ENTRIES.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    zone = ZoneInfo(get_settings().timezone)
    exporting = format == "xlsx"
    found = audit.search_entries(
        db,
        actor=actor,
        who=who or None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        since=datetime.combine(since, datetime.min.time(), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), datetime.min.time(), zone)
        if until else None,
        params=params.for_export() if exporting else params,
    )
    if exporting:
        return xlsx_response(found.items, AUDIT_FIELDS, title="审计日志")
    filters = {"who": who, "action": action, "object_type": object_type, "object_id": object_id,
               "since": since.isoformat() if since else "",
               "until": until.isoformat() if until else ""}
    return render(
        request, "audit.html",
        {
            "found": found,
            "params": params,
            "filters": filters,
            "people": org_service.display_names(db, usernames=[e.actor for e in found.items]),
            "actions": audit.distinct_values(db, "action"),
            "object_types": audit.distinct_values(db, "object_type"),
        },
    )


@router.post("/admin/audit/verify", response_class=HTMLResponse)
def audit_verify(
    request: Request,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    report = audit.verify(db, actor=actor)
    if report.ok:
        flash(request, f"哈希链完整：已校验 {report.checked} 条记录")
    else:
        brk = report.first_break
        assert brk is not None
        flash(request, f"哈希链在第 {brk.entry_id} 号记录处断开：{brk.reason}", "error")
    return see_other("/admin/audit")


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, state: str = "failed",
                params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    """What left, waits or failed to leave through the outbox (mail, SMS, robots, partners)."""
    view = system_service.outbox_view(db, actor=actor, state=state, params=params)
    return render(request, "outbox.html", {"view": view, "labels": outbox.STATE_LABELS,
                                           "kinds": outbox.KIND_LABELS, "params": params})


@router.post("/admin/outbox/{message_id}/resend")
def outbox_resend(request: Request, message_id: RowId, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    message = system_service.send_outbox_again(db, actor=actor, message_id=message_id)
    flash(request, f"已重新排队发送：{message.summary or message.kind}")
    return see_other("/admin/outbox")


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, params: ListParams = Depends(PAGED.params),
               db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    messages = notify.inbox(db, user_id=actor.user_id or 0, params=params)
    return render(request, "inbox.html", {"messages": messages})


@router.post("/inbox/{notification_id}/open")
def inbox_open(request: Request, notification_id: RowId, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> Response:
    notify.mark_read(db, user_id=actor.user_id or 0, notification_id=notification_id)
    target = notify.link_of(db, user_id=actor.user_id or 0, notification_id=notification_id)
    return see_other(target if target.startswith("/") else "/inbox")


@router.post("/inbox/read-all")
def inbox_read_all(request: Request, db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> Response:
    count = notify.mark_read(db, user_id=actor.user_id or 0)
    flash(request, f"已将 {count} 条消息标为已读")
    return see_other("/inbox")
