"""JSON API of 专项台账 under ``/api/v1/ledgers``, scoped: a township or county sees its own
orgs, a lead department its indicator across departments."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Response, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from tongban.core import uploads
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.export import file_responses
from tongban.core.listing import PAGED, ListParams, PageOut, page_of, page_out
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.ledger import service
from tongban.ledger.schemas import (
    EntryRead,
    EntryUpdate,
    LedgerTypeRead,
    OrgStatusRead,
    StandingRead,
    StatusDefRead,
)
from tongban.org import service as org_service
from tongban.org.access import require_actor

router = APIRouter(prefix="/ledgers")


def entry_read(view: service.EntryView) -> EntryRead:
    entry = view.entry
    return EntryRead(item=view.item.code, name=view.item.name, category=view.item.category,
                     org=view.org.name, org_code=view.org.code, status=view.state,
                     status_label=view.status_label, kind=view.kind.value,
                     reason=entry.reason if entry else "",
                     responsible=entry.responsible if entry else "",
                     fields=dict(entry.fields or {}) if entry else {},
                     notes=entry.notes if entry else "", due_on=view.due_on,
                     overdue=view.overdue(local_today()),
                     evidence=len(entry.attachments) if entry else 0)


@router.get("", response_model=PageOut[LedgerTypeRead], summary="台账类型（现行版本）")
def list_types(response: Response, params: ListParams = Depends(PAGED.params),
               db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[LedgerTypeRead]:
    return page_out(response, page_of([LedgerTypeRead(
        code=s.code, name=s.name, version=s.version, categories=s.categories,
        statuses=[StatusDefRead(code=x.code, label=x.label, kind=x.kind.value)
                  for x in s.statuses], reasons=s.reasons, due_on=s.due_on, target=s.target)
        for _, s in service.list_types(db, actor=actor)], params=params))


@router.get("/{type_code}/status", response_model=PageOut[OrgStatusRead],
            summary="各单位完成情况（按权限；org 为县区时列其乡镇）")
def ledger_status(type_code: str, response: Response, org: str = "", period: str = "",
                  params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> PageOut[OrgStatusRead]:
    scope = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    _, rows = service.status(db, actor=actor, type_code=type_code, org=scope,
                             period=period or None)
    shown = service.status_dicts(rows)
    return page_out(response, page_of([OrgStatusRead.model_validate({**d, "org_code": r.org.code})
                                       for d, r in zip(shown, rows, strict=True)],
                                      params=params))


@router.get("/{type_code}/orgs/{org}/entries", response_model=PageOut[EntryRead],
            summary="一个单位的台账条目")
def org_entries(type_code: str, org: str, response: Response,
                params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> PageOut[EntryRead]:
    found = org_service.resolve_org(db, ref=org[:200], actor=actor)
    _, views = service.org_entries(db, actor=actor, type_code=type_code, org=found)
    return page_out(response, page_of([entry_read(v) for v in views], params=params))


@router.put("/{type_code}/orgs/{org}/entries/{item}", response_model=EntryRead,
            summary="更新一个台账条目（状态、原因、字段、备注）")
def update_entry(type_code: str, org: str, item: str, body: EntryUpdate,
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> EntryRead:
    found = org_service.resolve_org(db, ref=org[:200], actor=actor)
    view = service.update_entry(db, actor=actor, type_code=type_code, org=found,
                                item_code=item, given=service.EntryInput(
                                    status=body.status, reason=body.reason,
                                    responsible=body.responsible, notes=body.notes,
                                    fields=body.fields))
    return entry_read(view)


@router.post("/{type_code}/orgs/{org}/entries/{item}/evidence", response_model=EntryRead,
             status_code=status.HTTP_201_CREATED, summary="上传台账条目的佐证材料")
def add_evidence(type_code: str, org: str, item: str, file: UploadFile = File(...),
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> EntryRead:
    found = org_service.resolve_org(db, ref=org[:200], actor=actor)
    content = file.file.read(get_settings().upload_max_bytes + 1)
    service.add_attachment(db, actor=actor, type_code=type_code, org=found, item_code=item,
                           filename=file.filename or "", content=content)
    return entry_read(service.entry_view(db, actor=actor, type_code=type_code, org=found,
                                         item_code=item))


@router.get("/evidence/{attachment_id}", summary="下载台账佐证材料", response_class=Response,
            responses=file_responses(*sorted({kind[1] for kind in uploads.KINDS.values()}),
                                     description="佐证材料"))
def download(attachment_id: RowId, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> FileResponse:
    attachment, path = service.get_attachment(db, actor=actor, attachment_id=attachment_id)
    return FileResponse(path, media_type=attachment.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.original_name)}"})


@router.get("/supervision/{indicator}/{period}", response_model=PageOut[StandingRead],
            summary="互联网+监管：各部门某指标某月对照目标（差的在前；牵头部门看全部）")
def supervise(indicator: str, period: str, response: Response,
              params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> PageOut[StandingRead]:
    _, rows = service.supervise(db, actor=actor, code=indicator, period=period)
    return page_out(response, page_of([StandingRead.model_validate(r.as_dict()) for r in rows],
                                      params=params))
