"""Errand items (代办事项) published in batches with a date: the list by batch, and publishing
a batch from a CSV/XLSX file or the page's form (managers).

A batch is known by its publication date: publishing again on the same date adds to that batch
and updates its items, so importing the same file twice changes nothing (the house's
idempotent import); a new date opens the next batch number. Every item names a service item
of the city's catalog (实施编码 or 基本编码); its name defaults to the catalog's. All rows or
none, with the errors grouped by row, column and reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.core import audit
from tongban.core.errors import (
    DomainError,
    ErrorGroups,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)
from tongban.core.security import Actor
from tongban.core.tabular import Cell, ImportCounts, cell_number, cell_text, open_table
from tongban.errand.models import ErrandItem
from tongban.org import service as org_service
from tongban.org.enums import Area

audit.name_objects({"errand_item": "代办事项"})

ALIASES = {
    "事项编码": "item_code", "实施编码": "item_code", "编码": "item_code", "事项名称": "name",
    "名称": "name", "类别": "category", "收费(元)": "fee", "收费（元）": "fee", "收费": "fee",
    "材料": "documents", "所需材料": "documents", "办理大厅": "hall", "大厅": "hall",
    "窗口": "window", "时限(小时)": "sla_hours", "时限（小时）": "sla_hours",
    "时限(工作日)": "sla_days", "时限（工作日）": "sla_days", "资质": "qualification",
}
COLUMNS = {"item_code": "事项编码", "name": "事项名称", "category": "类别", "fee": "收费(元)",
           "documents": "材料", "hall": "办理大厅", "window": "窗口", "sla_hours": "时限(小时)",
           "sla_days": "时限(工作日)", "qualification": "资质"}
_SPLIT = re.compile(r"[、;；\n]+")


@dataclass
class Batch:
    """One batch: its number, publication date and items."""

    number: int
    published_on: date
    items: list[ErrandItem] = field(default_factory=list)


@dataclass
class Published(ImportCounts):
    """What a publication did: its batch number and the items added, changed, unchanged."""

    batch: int = 0


def may_publish(actor: Actor) -> bool:
    """Whether ``actor`` may publish a batch (the page shows the forms only then)."""
    return actor.can_manage


def batches(db: Session, *, actor: Actor) -> list[Batch]:
    """Every batch, newest first, with its items (a city-wide list of at most a few hundred)."""
    org_service.require_area(actor, Area.errands)
    found: dict[int, Batch] = {}
    for item in db.scalars(select(ErrandItem).order_by(ErrandItem.batch.desc(), ErrandItem.id)):
        found.setdefault(item.batch, Batch(item.batch, item.published_on)).items.append(item)
    return list(found.values())


@audit.action({"errand_item.withdrawn": "停办代办事项", "errand_item.restored": "恢复代办事项"})
def set_active(db: Session, *, actor: Actor, item_id: int, active: bool) -> ErrandItem:
    """Withdraw an item from the request page (停办: errands already made run on) or offer it
    again (managers); asking for the state it is in changes nothing."""
    if not may_publish(actor):
        raise PermissionDenied("只有市级管理员或分析员可以停办或恢复代办事项")
    item = db.get(ErrandItem, item_id)
    if item is None:
        raise NotFound(f"未找到代办事项 #{item_id}")
    if item.is_active is not active:
        item.is_active = active
        db.flush()
        audit.record(db, actor=actor, action="errand_item.restored" if active
                     else "errand_item.withdrawn", object_type="errand_item", object_id=item.id,
                     changes={"is_active": [not active, active]})
    return item


def _whole(value: Cell, column: str, row: int, name: str, errors: ErrorGroups,
           high: int) -> int | None:
    if not cell_text(value):
        return None
    number = cell_number(value)
    if number is None or number != int(number) or not 0 <= number <= high:
        errors.append(RowError(row, COLUMNS[column], f"须为 0 到 {high} 的整数", name))
        return None
    return int(number)


def _row(row: int, values: dict[str, Cell], name: str,
         errors: ErrorGroups) -> dict[str, object] | None:
    text = {k: cell_text(values.get(k)) for k in
            ("item_code", "name", "category", "documents", "hall", "window", "qualification")}
    before = errors.count
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z-]{2,99}", text["item_code"]):
        errors.append(RowError(row, COLUMNS["item_code"], "事项编码应为字母、数字和连字符", name))
    for key, limit in (("name", 300), ("category", 50), ("hall", 200), ("window", 100),
                       ("qualification", 50)):
        if len(text[key]) > limit:
            errors.append(RowError(row, COLUMNS[key], f"超过{limit}字", name))
    fee_yuan = cell_number(values.get("fee")) if cell_text(values.get("fee")) else 0.0
    if fee_yuan is None or not 0 <= fee_yuan <= 100_000:
        errors.append(RowError(row, COLUMNS["fee"], "收费须为 0 到 100000 元", name))
    hours = _whole(values.get("sla_hours"), "sla_hours", row, name, errors, 2000)
    days = _whole(values.get("sla_days"), "sla_days", row, name, errors, 365)
    if hours and days:
        errors.append(RowError(row, COLUMNS["sla_days"], "时限填小时或工作日之一", name))
    if errors.count > before:
        return None
    return {"item_code": text["item_code"], "name": text["name"], "category": text["category"],
            "fee_cents": round((fee_yuan or 0) * 100),
            "documents": "\n".join(p.strip() for p in _SPLIT.split(text["documents"])
                                   if p.strip()),
            "hall": text["hall"], "window": text["window"], "sla_hours": hours or None,
            "sla_days": days or None, "qualification": text["qualification"]}


@audit.action({"errand_item.batch_published": "发布代办事项批次"})
def publish_batch(db: Session, *, actor: Actor, published_on: date,
                  rows: list[tuple[int, dict[str, Cell]]], filename: str = "表单") -> Published:
    """Publish ``rows`` (row number, cells by canonical column) as the batch of
    ``published_on``: all or none; the same rows again change nothing."""
    org_service.require_manager(actor, "发布代办事项")
    if not rows:
        raise DomainError("没有要发布的事项")
    errors = ErrorGroups(file=filename)
    parsed: dict[str, tuple[int, dict[str, object]]] = {}
    for row, values in rows:
        cells = _row(row, values, filename, errors)
        if cells is None:
            continue
        if cells["item_code"] in parsed:
            errors.append(RowError(row, COLUMNS["item_code"],
                                   f"事项编码 {cells['item_code']} 重复", filename))
            continue
        parsed[str(cells["item_code"])] = (row, cells)
    names = catalog.item_names(db, codes=parsed)
    for code, (row, cells) in parsed.items():
        if code not in names:
            errors.append(RowError(row, COLUMNS["item_code"], f"事项目录中没有 {code}",
                                   filename))
        elif not cells["name"]:
            cells["name"] = names[code][:300]
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{filename} 有 {errors.count} 处错误，未发布任何事项")
    number = db.scalar(select(ErrandItem.batch).where(ErrandItem.published_on == published_on)
                       .limit(1))
    if number is None:
        number = (db.scalar(select(func.max(ErrandItem.batch))) or 0) + 1
    result = Published(batch=number)
    existing = {i.item_code: i for i in db.scalars(select(ErrandItem).where(
        ErrandItem.batch == number, ErrandItem.item_code.in_(list(parsed))))}
    for code, (_, cells) in parsed.items():
        item = existing.get(code)
        if item is None:
            db.add(ErrandItem(**cells, batch=number, published_on=published_on, is_active=True))
            result.added += 1
        elif any(getattr(item, k) != v for k, v in cells.items()):
            for key, value in cells.items():
                setattr(item, key, value)
            result.changed += 1
        else:
            result.unchanged += 1
    db.flush()
    if result.added or result.changed:
        audit.record(db, actor=actor, action="errand_item.batch_published",
                     object_type="errand_item", object_id=f"batch:{number}",
                     changes={**result.as_dict(), "published_on": published_on.isoformat(),
                              "file": filename[:100]})
    return result


def publish_file(db: Session, *, actor: Actor, published_on: date, source: Path | IO[bytes],
                 filename: str | None = None) -> Published:
    """Publish a batch from a CSV or XLSX file (see :func:`publish_batch`)."""
    org_service.require_manager(actor, "发布代办事项")
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    table = open_table(io.BytesIO(raw), filename=name, aliases=ALIASES)
    if "item_code" not in table.header:
        raise ValidationFailed(errors=[RowError(1, COLUMNS["item_code"], "缺少必需的列", name)],
                               summary=f"{name} 格式不正确：缺少 事项编码 列")
    return publish_batch(db, actor=actor, published_on=published_on, rows=list(table.rows),
                         filename=name)
