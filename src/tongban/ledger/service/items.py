"""A ledger's items imported from CSV or XLSX (事项编码, 事项名称, 类别; optionally the org an
item belongs to alone, its lead department, target and deadline), all or nothing, idempotent."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.errors import DomainError, ErrorGroups, RowError, ValidationFailed
from tongban.core.security import Actor
from tongban.core.tabular import ImportCounts, cell_number, cell_text, open_table
from tongban.ledger.models import LedgerItem
from tongban.ledger.service.types import current_type, require_editor
from tongban.org import service as org_service

ITEM_COLUMNS = {"事项编码": "code", "事项名称": "name", "类别": "category", "责任单位": "org",
                "牵头部门": "lead", "目标值": "target", "完成时限": "due_on"}
_REQUIRED = ("code", "name", "category")
ITEM_CODE = re.compile(r"[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.\-]{0,63}")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        return None


@audit.action({"ledger.items_imported": "导入台账事项"})
def import_items(db: Session, *, actor: Actor, type_code: str, source: Path | IO[bytes],
                 filename: str = "") -> ImportCounts:
    """The items of a type, keyed by code: a re-import updates them, the same file again
    changes nothing; every row error is named and nothing is stored unless all rows pass."""
    require_editor(actor, "导入台账事项")
    _, spec = current_type(db, actor=actor, code=type_code)
    table = open_table(source, filename=Path(filename or getattr(source, "name", "事项文件")).name,
                       aliases=ITEM_COLUMNS)
    name = table.filename
    missing = [c for c, k in ITEM_COLUMNS.items() if k in _REQUIRED and k not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    errors = ErrorGroups(file=name)
    rows: dict[str, tuple[int, dict[str, Any]]] = {}
    orgs: dict[str, int | None] = {}

    def org_id(ref: str, row: int, column: str) -> int | None:
        if not ref:
            return None
        if ref not in orgs:
            try:
                orgs[ref] = org_service.resolve_org(db, ref=ref).id
            except DomainError as exc:
                orgs[ref] = None
                errors.append(RowError(row, column, exc.message, name))
                return None
        return orgs[ref]

    for row, cells in table.rows:
        text = {k: cell_text(cells.get(k)) for k in ITEM_COLUMNS.values()}
        before = errors.count
        if not ITEM_CODE.fullmatch(text["code"]):
            errors.append(RowError(row, "事项编码", f"编码「{text['code'][:30]}」应为字母、数字、"
                                                   "汉字、-、_ 和 .（至多64个）", name))
        elif text["code"] in rows:
            errors.append(RowError(row, "事项编码", f"与第{rows[text['code']][0]}行的编码重复", name))
        if not text["name"] or len(text["name"]) > 200:
            errors.append(RowError(row, "事项名称", "缺少名称，或超过200字", name))
        if text["category"] not in spec.categories:
            errors.append(RowError(row, "类别", f"「{text['category'][:20]}」不是可选值"
                                               f"（{'/'.join(spec.categories)}）", name))
        target = cell_number(cells.get("target")) if text["target"] else None
        if text["target"] and target is None:
            errors.append(RowError(row, "目标值", f"「{text['target'][:20]}」不是数字", name))
        due = _date(text["due_on"]) if text["due_on"] else None
        if text["due_on"] and due is None:
            errors.append(RowError(row, "完成时限", f"「{text['due_on'][:20]}」不是日期", name))
        values = {"name": text["name"], "category": text["category"], "target": target,
                  "due_on": due, "org_id": org_id(text["org"], row, "责任单位"),
                  "lead_id": org_id(text["lead"], row, "牵头部门")}
        if errors.count == before:
            rows[text["code"]] = (row, values)
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入任何事项")
    if not rows:
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有事项", name)],
                               summary="事项文件为空，未导入")
    counts = ImportCounts()
    known = {i.code: i for i in db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code))}
    for position, (code, (_, values)) in enumerate(rows.items(), start=1):
        item = known.get(code)
        values["position"] = position
        if item is None:
            db.add(LedgerItem(type_code=spec.code, code=code, is_active=True, **values))
            counts.added += 1
        elif item.is_active and all(getattr(item, k) == v for k, v in values.items()):
            counts.unchanged += 1
        else:
            for key, value in values.items():
                setattr(item, key, value)
            item.is_active = True
            counts.changed += 1
    db.flush()
    if counts.added or counts.changed:
        audit.record(db, actor=actor, action="ledger.items_imported", object_type="ledger_item",
                     object_id=f"{spec.code}/{name}"[:128], changes=counts.as_dict())
    return counts
