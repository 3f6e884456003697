"""JSON API of the service-item catalog: search, one item, import a list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status
from sqlalchemy.orm import Session

from tongban.catalog import service
from tongban.catalog.enums import ItemType
from tongban.catalog.models import ServiceItem
from tongban.catalog.schemas import ItemImportRead, ItemRead
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, PageOut, page_out
from tongban.core.security import Actor
from tongban.org.access import require_actor

router = APIRouter()


def item_read(item: ServiceItem) -> ItemRead:
    kind = ItemType(item.item_type)
    return ItemRead(id=item.id, impl_code=item.impl_code, base_code=item.base_code,
                    name=item.name, department=item.department, item_type=kind,
                    item_type_label=kind.label, main_item=item.main_item,
                    area_code=item.area_code, link=item.link, org_code=item.org.code,
                    org_name=item.org.name, updated_at=item.updated_at)


@router.get("/catalog/items", response_model=PageOut[ItemRead], summary="查询事项目录")
def list_items(response: Response, department: str = "", item_type: ItemType | None = None,
               params: ListParams = Depends(service.ITEMS.params), db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[ItemRead]:
    found = service.search_items(db, actor=actor, department=department, item_type=item_type,
                                 params=params)
    return page_out(response, found.map(item_read))


@router.get("/catalog/items/by-code/{impl_code}", response_model=ItemRead,
            summary="按实施编码查事项")
def read_item_by_code(impl_code: str, db: Session = REQUEST_DB,
                      actor: Actor = Depends(require_actor)) -> ItemRead:
    return item_read(service.get_item_by_code(db, actor=actor, impl_code=impl_code))


@router.get("/catalog/items/{item_id}", response_model=ItemRead, summary="事项详情")
def read_item(item_id: RowId, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> ItemRead:
    return item_read(service.get_item(db, actor=actor, item_id=item_id))


@router.post("/catalog/imports", response_model=ItemImportRead,
             status_code=status.HTTP_201_CREATED, summary="导入事项清单（管理员、考核管理员）")
def import_items(file: UploadFile = File(...), org: str = Form(""), dry_run: bool = Form(False),
                 db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> ItemImportRead:
    owner = service.import_owner(db, actor=actor, ref=org)
    result = service.import_items(db, actor=actor, org=owner, source=file.file,
                                  filename=file.filename or "上传文件", dry_run=dry_run)
    return ItemImportRead(org_code=owner.code, **result.details())
