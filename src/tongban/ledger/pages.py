"""专项台账 pages: the ledgers, a ledger's board (orgs × status with progress bars; a county's
townships rolled up, drill down to them), an org's entries, an entry with its form, evidence
and 转整改, the spreadsheet import, and the 互联网+监管 supervision page with reminders."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.forms import FORM, uploaded
from tongban.core.periods import check_period, month_of, previous_period, quarter_of, shift
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import local_today
from tongban.ledger import service
from tongban.ledger.enums import StatusKind
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.org.models import Org

router = APIRouter(include_in_schema=False, prefix="/ledgers")


def _period(period: str) -> str:
    """The month asked for, or the last month that is over."""
    try:
        return check_period(period) if period else previous_period(month_of(local_today()))
    except DomainError:
        return previous_period(month_of(local_today()))


def _org(db: Session, actor: Actor, code: str) -> Org:
    return org_service.resolve_org(db, ref=code[:200], actor=actor)


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: Session = REQUEST_DB,
          actor: Actor = Depends(require_actor)) -> Response:
    """Every ledger with the city's (or the actor's) totals."""
    found = []
    for _, spec in service.list_types(db, actor=actor):
        _, _rows, total = service.board(db, actor=actor, type_code=spec.code)
        found.append((spec, total))
    return render(request, "ledger/index.html", {"ledgers": found})


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(request: Request, indicator: str = "", period: str = "",
                     db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """互联网+监管: an indicator's departments against target, worst first."""
    items = service.indicators(db, actor=actor)
    month = _period(period)
    chosen = next((i for i in items if i.code == indicator), items[0] if items else None)
    rows: list[service.Standing] = []
    if chosen is not None:
        chosen, rows = service.supervise(db, actor=actor, code=chosen.code, period=month)
    return render(request, "ledger/supervision.html", {
        "items": items, "chosen": chosen, "rows": rows, "period": month,
        "may_remind": chosen is not None and service.leads(actor, chosen) and (
            actor.can_manage or actor.org_id == chosen.lead_id)})


@router.post("/supervision/remind")
def remind(request: Request, form: FormData = FORM, db: Session = REQUEST_DB,
           actor: Actor = Depends(require_actor)) -> Response:
    code, month = str(form.get("indicator", ""))[:64], _period(str(form.get("period", "")))
    sent = service.remind_laggards(db, actor=actor, code=code, period=month)
    flash(request, f"已督促未达标部门，{sent} 人收到提醒")
    return see_other(f"/ledgers/supervision?indicator={quote(code)}&period={month}")


@router.get("/memo", response_class=HTMLResponse)
def memo_page(request: Request, quarter: str = "", cohort: str = "bz-counties",
              db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """季调度 data memo: a quarter's commitments against the next quarter's sheet."""
    made = quarter or quarter_of(shift(month_of(local_today()), -3))
    try:
        checks = service.memo(db, actor=actor, quarter=made, cohort_code=cohort[:64])
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        flash(request, exc.message, "error")
        return see_other("/ledgers/memo")
    return render(request, "ledger/memo.html", {"checks": checks, "quarter": made,
                                                "cohort": cohort[:64]})


@router.get("/evidence/{attachment_id}")
def download(attachment_id: RowId, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> FileResponse:
    attachment, path = service.get_attachment(db, actor=actor, attachment_id=attachment_id)
    return FileResponse(path, media_type=attachment.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.original_name)}"})


def _board(request: Request, db: Session, actor: Actor, type_code: str, under: str,
           period: str, failure: ValidationFailed | None = None,
           status_code: int = 200) -> HTMLResponse:
    scope = _org(db, actor, under) if under else (
        None if actor.is_citywide else org_service.own_org(db, actor))
    month = _period(period)
    spec, rows, total = service.board(db, actor=actor, type_code=type_code, under=scope,
                                      period=month)
    required = {org.id for org, _ in service.required_orgs(db, spec=spec)}
    return render(request, "ledger/board.html", {
        "spec": spec, "rows": rows, "total": total, "under": scope, "period": month,
        "required": required, "failure": failure, "kinds": StatusKind,
        "may_import": actor.can_manage or actor.role.value == "liaison"},
        status_code=status_code)


@router.get("/{type_code}", response_class=HTMLResponse)
def board(request: Request, type_code: str, under: str = "", period: str = "",
          db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """The board: orgs × status; a county drills down to its townships (the county leader's
    view), an org to its entries. A ledger of monthly values (互联网+监管) is its supervision
    page."""
    _, spec = service.current_type(db, actor=actor, code=type_code)
    if "value" in spec.figures:
        return see_other("/ledgers/supervision")
    return _board(request, db, actor, type_code, under, period)


@router.post("/{type_code}/import", response_class=HTMLResponse)
def import_entries(request: Request, type_code: str, file: UploadFile = File(...),
                   db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    try:
        done = service.import_entries(db, actor=actor, type_code=type_code, source=file.file,
                                      filename=file.filename or "台账文件")
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        return _board(request, db, actor, type_code, "", "", ValidationFailed.of(exc),
                      exc.status_code)
    flash(request, f"已导入台账条目：新增 {done.added}，更新 {done.changed}，未变 {done.unchanged}")
    return see_other(f"/ledgers/{quote(type_code)}")


@router.get("/{type_code}/orgs/{code}", response_class=HTMLResponse)
def org_page(request: Request, type_code: str, code: str, kind: str = "",
             db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """An org's entries; an org that is not itself required (a county) is its townships'
    board."""
    org = _org(db, actor, code)
    _, spec = service.current_type(db, actor=actor, code=type_code)
    if org.id not in {o.id for o, _ in service.required_orgs(db, spec=spec)}:
        return see_other(f"/ledgers/{quote(type_code)}?under={quote(org.code)}")
    wanted = StatusKind(kind) if kind in StatusKind._value2member_map_ else None
    spec, views = service.org_entries(db, actor=actor, type_code=type_code, org=org, kind=wanted)
    today = local_today()
    return render(request, "ledger/org.html", {
        "spec": spec, "org": org, "views": views, "kind": wanted, "kinds": StatusKind,
        "today": today, "overdue": sum(1 for v in views if v.overdue(today)),
        "may_edit": service.may_edit(db, actor, org)})


def _entry_context(db: Session, actor: Actor, view: service.EntryView) -> dict[str, Any]:
    today = local_today()
    return {"view": view, "spec": view.spec, "org": view.org, "today": today,
            "moves": service.allowed_moves(db, actor=actor, view=view),
            "may_edit": service.may_edit(db, actor, view.org),
            "may_rectify": actor.can_manage and view.overdue(today),
            "extensions": sorted(get_settings().upload_extension_set)}


def _entry_path(type_code: str, org: Org, item: str) -> str:
    return f"/ledgers/{quote(type_code)}/orgs/{quote(org.code)}/items/{quote(item)}"


@router.get("/{type_code}/orgs/{code}/items/{item}", response_class=HTMLResponse)
def entry_page(request: Request, type_code: str, code: str, item: str,
               db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    org = _org(db, actor, code)
    view = service.entry_view(db, actor=actor, type_code=type_code, org=org, item_code=item)
    return render(request, "ledger/entry.html", _entry_context(db, actor, view))


@router.post("/{type_code}/orgs/{code}/items/{item}", response_class=HTMLResponse)
def entry_save(request: Request, type_code: str, code: str, item: str,
               form: FormData = FORM, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> Response:
    """The entry's form: status, reason, fields, notes, and an evidence file if one is sent."""
    org = _org(db, actor, code)
    view = service.entry_view(db, actor=actor, type_code=type_code, org=org, item_code=item)
    given = service.EntryInput(
        status=str(form.get("status", "")) or None, reason=str(form.get("reason", ""))[:100],
        responsible=str(form.get("responsible", ""))[:100],
        notes=str(form.get("notes", ""))[:2000],
        fields={f.code: str(form.get(f"field_{f.code}", ""))[:200] for f in view.spec.fields})
    evidence = uploaded(form, "evidence")
    try:
        service.save_entry(db, actor=actor, type_code=type_code, org=org, item_code=item,
                           given=given, evidence=None if evidence is None else (
                               evidence.filename or "", evidence.file.read(
                                   get_settings().upload_max_bytes + 1)))
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        return render(request, "ledger/entry.html", {
            **_entry_context(db, actor, view), "failure": ValidationFailed.of(exc)},
            status_code=exc.status_code)
    flash(request, "已保存台账条目" + ("和佐证材料" if evidence is not None else ""))
    return see_other(_entry_path(type_code, org, item))


@router.post("/{type_code}/orgs/{code}/items/{item}/rectify")
def rectify(request: Request, type_code: str, code: str, item: str,
            db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    org = _org(db, actor, code)
    task_id = service.open_rectification(db, actor=actor, type_code=type_code, org=org,
                                         item_code=item)
    flash(request, f"已转整改任务 #{task_id}")
    return see_other(f"/rectification/tasks/{task_id}")
