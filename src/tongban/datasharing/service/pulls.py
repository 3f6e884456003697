"""Pulls: a dataset whose department registered where it publishes it (``sources``) is
fetched by the jobs once in each of its update periods, or at once from the CLI
(``tongban data pull``), and delivered like an upload. Each pull reads the source with no
transaction open and records the delivery in a short one of its own; a failed pull is told
to the department and the analysts (once a day per dataset) and does not stop the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import notify
from tongban.core.db import read_only_scope, session_scope
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.datasharing.enums import DeliverySource, Frequency
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.service.catalog import get_dataset
from tongban.datasharing.service.deliveries import Delivered, deliver
from tongban.datasharing.service.quality import period_start
from tongban.datasharing.sources import download, is_web, table_rows
from tongban.org import service as org_service


def pull(db: Session, *, actor: Actor, dataset_code: str, on: date | None = None,
         progress: Callable[[int], None] | None = None) -> Delivered:
    """Fetch a dataset from its registered source and deliver it (a network call: the jobs and
    the CLI do this, never a request)."""
    with read_only_scope(beside=db) as reading:
        dataset = get_dataset(reading, actor=actor, code=dataset_code)
        url, table = dataset.pull_url, dataset.pull_table
    if not url:
        raise DomainError(f"数据集 {dataset_code} 未登记拉取地址")
    if is_web(url):
        name = Path(urlsplit(url).path).name or f"{dataset_code}.csv"
        with download(url) as spool:
            return deliver(db, actor=actor, dataset_code=dataset_code, source=spool,
                           filename=name, on=on, via=DeliverySource.pull,
                           progress=progress)
    with table_rows(url, table) as rows:
        return deliver(db, actor=actor, dataset_code=dataset_code, source=rows,
                       on=on, via=DeliverySource.pull, progress=progress)


@dataclass
class Pulls:
    pulled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def due_pulls(db: Session, *, as_of: date) -> list[str]:
    """The datasets with a registered source not yet delivered in their current period."""
    found = []
    for dataset in db.scalars(select(Dataset).where(Dataset.is_active, Dataset.pull_url != "")
                              .order_by(Dataset.code)):
        latest = db.scalar(select(Delivery.delivered_on).where(
            Delivery.dataset_id == dataset.id).order_by(Delivery.delivered_on.desc()).limit(1))
        if latest is None or latest < period_start(Frequency(dataset.frequency), as_of):
            found.append(dataset.code)
    return found


def pull_due(*, as_of: date) -> Pulls:
    """Pull every dataset that is due (each in its own transaction); what was pulled and what
    failed, with the reason."""
    report = Pulls()
    with session_scope() as db:
        due = due_pulls(db, as_of=as_of)
    for code in due:
        try:
            with session_scope() as db:
                pull(db, actor=SYSTEM_ACTOR, dataset_code=code, on=as_of)
            report.pulled.append(code)
        except DomainError as exc:
            report.failed[code] = exc.message
            with session_scope() as db:
                _tell_failed(db, code=code, reason=exc.message, day=as_of)
    return report


def _tell_failed(db: Session, *, code: str, reason: str, day: date) -> None:
    dataset = db.scalars(select(Dataset).where(Dataset.code == code)).one()
    people = org_service.people_of(db, org=dataset.department, roles={Role.liaison})
    people += org_service.analysts(db)
    notify.notify(db, recipients=org_service.recipients(people),
                  key=f"data:{code}:pull-failed:{day.isoformat()}", message=notify.Message(
                      "warning", f"数据拉取失败：{dataset.name}",
                      f"{dataset.department.name}「{dataset.name}」自动拉取失败：{reason}。"
                      "请检查登记的拉取地址，或在数据集页面上传本期数据。",
                      f"/datasharing/datasets/{code}"))
