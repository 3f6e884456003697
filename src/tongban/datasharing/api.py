"""JSON API of 数据开放共享 under ``/api/v1/datasharing``, scoped: a liaison sees and delivers
its own department's datasets."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB
from tongban.core.listing import PAGED, ListParams, PageOut, page_of, page_out
from tongban.core.periods import check_period, month_of
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.datasharing import service
from tongban.datasharing.enums import FieldFormat, FieldType, Frequency, OpenType, ShareType
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.schemas import (
    CascadeRead,
    DatasetQualityRead,
    DatasetRead,
    DeliveryRead,
    DepartmentQualityRead,
    FieldCountRead,
    FieldRead,
)
from tongban.org import service as org_service
from tongban.org.access import require_actor

router = APIRouter(prefix="/datasharing")


def dataset_read(d: Dataset) -> DatasetRead:
    return DatasetRead(code=d.code, name=d.name, department=d.department.name,
                       department_code=d.department.code, frequency=Frequency(d.frequency),
                       share_type=ShareType(d.share_type), open_type=OpenType(d.open_type),
                       key_data=d.key_data, business=d.business, fields=[
                           FieldRead(name=f.name, type=FieldType(f.type), required=f.required,
                                     format=FieldFormat(f.format), primary_key=f.primary_key)
                           for f in d.fields])


def delivery_read(d: Delivery) -> DeliveryRead:
    return DeliveryRead(id=d.id, dataset=d.dataset.code, delivered_on=d.delivered_on,
                        source=d.source, filename=d.filename, rows=d.rows,
                        invalid_cells=d.invalid_cells, missing_required=d.missing_required,
                        duplicate_keys=d.duplicate_keys, score=d.score, samples=d.samples,
                        fields={k: FieldCountRead(**v) for k, v in d.field_counts.items()})


@router.get("/datasets", response_model=PageOut[DatasetRead], summary="数据资源目录（按权限）")
def list_datasets(response: Response, department: str = "", key_only: bool = False,
                  params: ListParams = Depends(service.DATASETS.params),
                  db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> PageOut[DatasetRead]:
    scope = org_service.resolve_org(db, ref=department, actor=actor) if department else None
    found = service.list_datasets(db, actor=actor, department=scope, key_only=key_only,
                                  params=params)
    return page_out(response, found.map(dataset_read))


@router.get("/datasets/{code}", response_model=DatasetRead, summary="数据集及其字段")
def read_dataset(code: str, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> DatasetRead:
    return dataset_read(service.get_dataset(db, actor=actor, code=code))


@router.get("/datasets/{code}/deliveries", response_model=PageOut[DeliveryRead],
            summary="数据集的交付记录（新的在前）")
def list_deliveries(code: str, response: Response, params: ListParams = Depends(PAGED.params),
                    db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> PageOut[DeliveryRead]:
    dataset = service.get_dataset(db, actor=actor, code=code)
    return page_out(response, service.deliveries(db, actor=actor, dataset=dataset,
                                                 params=params).map(delivery_read))


@router.post("/datasets/{code}/deliveries", response_model=DeliveryRead,
             status_code=status.HTTP_201_CREATED,
             summary="交付一次数据（CSV 或 XLSX），逐格检查后记录")
def deliver(code: str, file: UploadFile = File(...), on: date | None = Query(None),
            db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> DeliveryRead:
    done = service.deliver(db, actor=actor, dataset_code=code, source=file.file,
                           filename=file.filename or "交付文件", on=on)
    return delivery_read(done.delivery)


@router.get("/quality", response_model=PageOut[DepartmentQualityRead],
            summary="各部门的数据质量与归集、共享、开放率（差的在前）")
def quality(response: Response, department: str = "", period: str = "",
            params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> PageOut[DepartmentQualityRead]:
    today = local_today()
    month = check_period(period) if period else month_of(today)
    scope = org_service.resolve_org(db, ref=department, actor=actor) if department else None
    found = service.department_quality(db, actor=actor, department=scope,
                                       as_of=service.month_end(month, today=today))
    return page_out(response, page_of([DepartmentQualityRead(
        department=q.department.name, department_code=q.department.code, **q.counts(),
        rates=service.rates(q.counts()),
        datasets=[DatasetQualityRead(**d.as_dict()) for d in q.datasets]) for q in found],
        params=params))


@router.get("/cascade", response_model=PageOut[CascadeRead], summary="向省平台级联的状态")
def cascade(response: Response, dataset: str = "", params: ListParams = Depends(PAGED.params),
            db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> PageOut[CascadeRead]:
    return page_out(response, page_of([CascadeRead(**v.as_dict()) for v in service.cascade_of(
        db, actor=actor, dataset_code=dataset)], params=params))
