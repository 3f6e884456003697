"""事项目录 pages: search the city's service items; managers import a list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.catalog import service
from tongban.catalog.enums import CatalogWork, ItemType
from tongban.core.db import REQUEST_DB
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.org.access import require_actor

router = APIRouter(include_in_schema=False)


@router.get("/catalog", response_class=HTMLResponse)
def catalog_page(request: Request, department: str = "", item_type: str = "",
                 params: ListParams = Depends(service.ITEMS.params), db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "catalog.html", _context(db, actor, params, department, item_type))


def _context(db: Session, actor: Actor, params: ListParams, department: str = "",
             item_type: str = "") -> dict[str, Any]:
    kind = ItemType(item_type) if item_type in ItemType._value2member_map_ else None
    return {
        "found": service.search_items(db, actor=actor, department=department, item_type=kind,
                                      params=params),
        "params": params, "department": department, "item_type": kind.value if kind else "",
        "departments": service.departments(db, actor=actor), "types": ItemType,
        "allowed": service.allowed_actions(actor), "work": CatalogWork,
    }


@router.post("/catalog/import")
def catalog_import(request: Request, file: UploadFile = File(...), dry_run: str = Form(""),
                   db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> Response:
    """Import a list as the city's catalog (first as a preview, by default); a refused
    file's errors are shown on the page."""
    try:
        owner = service.import_owner(db, actor=actor)
        result = service.import_items(db, actor=actor, org=owner, source=file.file,
                                      filename=file.filename or "上传文件",
                                      dry_run=dry_run == "1")
    except PermissionDenied:
        raise
    except DomainError as exc:
        failure = ValidationFailed.of(exc)
        return render(request, "catalog.html",
                      {**_context(db, actor, ListParams()), "failure": failure},
                      status_code=exc.status_code)
    if result.dry_run:
        return render(request, "catalog.html",
                      {**_context(db, actor, ListParams()), "preview": result})
    flash(request, f"已导入{owner.name}的事项目录：{result.summary()}")
    return see_other("/catalog")
