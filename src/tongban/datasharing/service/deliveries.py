"""Deliveries: each time a department delivers a dataset (an upload, or a pull from the address
it registered), the file is checked cell by cell (``checks``) before anything is written, then
recorded with what the checks found; a sudden drop in rows against the previous delivery is
flagged, and a dataset to share is queued for the provincial platform."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit, notify
from tongban.core.config import get_settings
from tongban.core.db import read_only_scope, utcnow
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.listing import PAGED, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.core.tabular import Cell, open_table
from tongban.core.workdays import local_today
from tongban.datasharing.checks import DeliveryCheck, check_rows
from tongban.datasharing.enums import DeliverySource, ShareType
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.service import cascade
from tongban.datasharing.service.catalog import get_dataset, specs_of
from tongban.datasharing.sources import TableRows
from tongban.org import service as org_service

audit.name_objects({"data_delivery": "数据交付"})


@dataclass(frozen=True)
class Delivered:
    """What a delivery did: its record, what its checks found, the drop in rows against the
    previous delivery (a share, when it passed ``TONGBAN_DATA_VOLUME_DROP``)."""

    delivery: Delivery
    check: DeliveryCheck
    drop: float | None

    def as_dict(self) -> dict[str, object]:
        return {"dataset": self.delivery.dataset.code, "rows": self.check.rows,
                "invalid_cells": self.check.invalid_cells,
                "missing_required": self.check.missing_required,
                "duplicate_keys": self.check.duplicate_keys,
                "fields": self.check.field_counts(), "score": self.check.score,
                "delivered_on": self.delivery.delivered_on.isoformat(),
                "unknown_columns": self.check.unknown_columns,
                "absent_columns": self.check.absent_columns,
                "volume_drop": self.drop, "samples": self.check.samples}


def _may_deliver(actor: Actor, dataset: Dataset) -> None:
    if actor.can_manage:
        return
    if actor.role is Role.liaison and actor.org_id == dataset.department_id:
        return
    raise PermissionDenied("只有数据集的提供部门联络员或考核管理员可以交付数据")


def _sha256(source: Path | IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream = source.open("rb") if isinstance(source, Path) else source
    try:
        while block := stream.read(1 << 20):
            digest.update(block)
    finally:
        if isinstance(source, Path):
            stream.close()
        else:
            stream.seek(0)
    return digest.hexdigest()


def _hashed(rows: Iterator[tuple[int, dict[str, Cell]]], header: list[str],
            digest: Any) -> Iterator[tuple[int, dict[str, Cell]]]:
    digest.update("\x1f".join(header).encode())
    for number, values in rows:
        digest.update("\x1e".join("" if values.get(h) is None else str(values[h])
                                   for h in header).encode() + b"\n")
        yield number, values


@audit.action({"data.delivered": "交付数据"})
def deliver(db: Session, *, actor: Actor, dataset_code: str,
            source: Path | IO[bytes] | TableRows, filename: str = "", on: date | None = None,
            via: DeliverySource = DeliverySource.upload,
            progress: Callable[[int], None] | None = None) -> Delivered:
    """Check and record a delivery of ``dataset_code`` made ``on`` (today): the file (or a
    database table's rows) streams through the checks before this transaction begins to
    write."""
    with read_only_scope(beside=db) as reading:
        looked_up = get_dataset(reading, actor=actor, code=dataset_code)
        _may_deliver(actor, looked_up)
        specs = specs_of(looked_up)
    if isinstance(source, TableRows):
        name = filename or source.name
        hashing = hashlib.sha256()
        found = check_rows(specs, source.header, _hashed(source.rows(), source.header, hashing),
                           progress=progress)
        digest = hashing.hexdigest()
    else:
        name = filename or (source.name if isinstance(source, Path) else "交付文件")
        digest = _sha256(source)
        table = open_table(source, filename=Path(name).name)
        found = check_rows(specs, table.header, table.rows, progress=progress)
    if not found.rows:
        raise DomainError(f"{Path(name).name} 没有数据行")
    dataset = get_dataset(db, actor=actor, code=dataset_code)
    previous = db.scalar(select(Delivery).where(Delivery.dataset_id == dataset.id)
                         .order_by(Delivery.delivered_on.desc(), Delivery.id.desc()).limit(1))
    delivery = Delivery(
        dataset_id=dataset.id, delivered_on=on or local_today(), delivered_at=utcnow(),
        source=via.value, filename=Path(name).name[:200], sha256=digest, rows=found.rows,
        cells=found.cells, invalid_cells=found.invalid_cells,
        missing_required=found.missing_required, duplicate_keys=found.duplicate_keys,
        field_counts=found.field_counts(), samples=found.samples, score=found.score,
        delivered_by=actor.username)
    db.add(delivery)
    db.flush()
    drop = None
    if previous is not None and previous.rows:
        share = 1 - found.rows / previous.rows
        if share >= get_settings().data_volume_drop:
            drop = round(share, 4)
            _tell_drop(db, dataset=dataset, delivery=delivery, previous=previous, drop=drop)
    audit.record(db, actor=actor, action="data.delivered", object_type="data_delivery",
                 object_id=delivery.id, changes={
                     "dataset": dataset.code, "rows": found.rows, "score": found.score,
                     "invalid_cells": found.invalid_cells, "sha256": digest})
    if ShareType(dataset.share_type) is not ShareType.none:
        cascade.queue_push(db, dataset=dataset, delivery=delivery)
    return Delivered(delivery, found, drop)


def _tell_drop(db: Session, *, dataset: Dataset, delivery: Delivery, previous: Delivery,
               drop: float) -> None:
    people = org_service.people_of(db, org=dataset.department, roles={Role.liaison})
    people += org_service.analysts(db)
    notify.notify(db, recipients=org_service.recipients(people),
                  key=f"data:{dataset.code}:drop:{delivery.id}", message=notify.Message(
                      "warning", f"数据量骤降：{dataset.name}",
                      f"{dataset.department.name}「{dataset.name}」本次交付 {delivery.rows} 行，"
                      f"比上次（{previous.delivered_on:%m月%d日}，{previous.rows} 行）减少 "
                      f"{drop:.0%}，请核实是否漏交。", f"/datasharing/datasets/{dataset.code}"))


def deliveries(db: Session, *, actor: Actor, dataset: Dataset,
               params: ListParams) -> Page[Delivery]:
    """A dataset's deliveries, the newest first (the caller has the dataset: it may see it)."""
    return paginate(db, select(Delivery).where(Delivery.dataset_id == dataset.id),
                    params=params, order=PAGED.order(params, default=[
                        Delivery.delivered_on.desc(), Delivery.id.desc()]))
