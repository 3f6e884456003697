"""Catalog operations: importing a place's item list, reading items, naming codes.

An import is all or nothing and idempotent: items are keyed by (org, 实施编码). A file is the
list of the departments it names: their items missing from it are removed, other departments'
items are kept (a one-department file replaces that department only, and says so). An empty
file is refused; a refused file changes nothing; ``dry_run`` says what an import would do
(added, changed, removed, with names) before anything is replaced.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tongban.catalog.codes import base_code_of, item_type_of
from tongban.catalog.enums import CatalogWork, ItemType
from tongban.catalog.models import ServiceItem
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import ErrorGroups, NotFound, RowError, ValidationFailed
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.core.tabular import Cell, ImportCounts, cell_text, open_table
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org

audit.name_objects({"service_item": "事项目录"})

ALIASES = {
    "实施编码": "impl_code", "事项编码": "impl_code", "itemcode": "impl_code", "itemCode": "impl_code",
    "基本编码": "base_code", "事项名称": "name", "名称": "name", "实施部门": "department",
    "部门": "department", "部门编码": "dept_code", "deptCode": "dept_code",
    "事项类型": "item_type", "taskType": "item_type", "主项": "main_item",
    "主项名称": "main_item", "区划编码": "area_code", "areaCode": "area_code", "链接": "link",
}
REQUIRED = ("impl_code", "name", "item_type")
#: how a main item is written when an item has none
NO_MAIN_ITEM = ("", "未分类", "无")
_FIELDS = ("base_code", "name", "department", "dept_code", "item_type", "main_item",
           "area_code", "link")


def _row_values(row: int, values: dict[str, Cell], filename: str,
                errors: ErrorGroups) -> dict[str, str] | None:
    cells = {key: cell_text(values.get(key)) for key in (*_FIELDS, "impl_code")}
    impl, name = cells["impl_code"], cells["name"]
    problems = []
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z-]{2,99}", impl):
        problems.append(("impl_code", f"实施编码「{impl[:40]}」应为字母、数字和连字符"))
    if not name:
        problems.append(("name", "缺少事项名称"))
    elif len(name) > 300:
        problems.append(("name", "事项名称超过300字"))
    kind: ItemType | None = None
    try:
        kind = item_type_of(cells["item_type"])
    except ValueError as exc:
        problems.append(("item_type", str(exc)))
    if cells["area_code"] and not re.fullmatch(r"\d{6}(\d{6})?", cells["area_code"]):
        problems.append(("area_code", f"区划编码「{cells['area_code'][:20]}」应为6或12位数字"))
    if cells["link"] and not re.match(r"https?://", cells["link"], re.IGNORECASE):
        problems.append(("link", "链接须以 http:// 或 https:// 开头"))
    for column, reason in problems:
        errors.append(RowError(row, column, reason, filename))
    if problems or kind is None:
        return None
    cells["item_type"] = kind.value
    cells["main_item"] = "" if cells["main_item"] in NO_MAIN_ITEM else cells["main_item"]
    cells["base_code"] = cells["base_code"] or base_code_of(impl, cells["area_code"])
    cells["link"] = cells["link"][:500]
    return cells


#: How many names of each kind of change an import's answer lists.
SAMPLE_NAMES = 10


@dataclass
class CatalogChange(ImportCounts):
    """What an import did (or, as a dry run, would do) to a catalog."""

    removed: int = 0
    kept: int = 0  # items of departments the file does not name, left as they were
    departments: list[str] = field(default_factory=list)  # the departments it replaced
    partial: bool = False  # the file names only some of the catalog's departments
    dry_run: bool = False
    names: dict[str, list[str]] = field(default_factory=lambda: {
        "added": [], "changed": [], "removed": []})

    def note(self, kind: str, name: str) -> None:
        if len(self.names[kind]) < SAMPLE_NAMES:
            self.names[kind].append(name)

    def as_dict(self) -> dict[str, int]:  # the counts, as before
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged,
                "removed": self.removed}

    def details(self) -> dict[str, object]:
        return {**self.as_dict(), "kept": self.kept, "departments": self.departments,
                "partial": self.partial, "dry_run": self.dry_run, "names": self.names}

    def summary(self) -> str:
        """The change in one Chinese sentence (what the pages and the CLI print)."""
        verb = "将" if self.dry_run else "已"
        said = (f"{verb}新增 {self.added} 项、更新 {self.changed} 项、删除 {self.removed} 项，"
                f"未变 {self.unchanged} 项")
        if self.partial:
            shown = "、".join(self.departments[:5]) + ("等" if len(self.departments) > 5 else "")
            said += f"；文件只含{len(self.departments)}个部门（{shown}），只替换这些部门的事项，" \
                    f"其他部门的 {self.kept} 项保留"
        if self.removed and self.names["removed"]:
            said += "；删除的有：" + "、".join(self.names["removed"]) + (
                "等" if self.removed > len(self.names["removed"]) else "")
        return said + ("（预览，尚未写入）" if self.dry_run else "")


@audit.action({"catalog.imported": "导入事项目录"})
def import_items(db: Session, *, actor: Actor, org: Org, source: Path | IO[bytes],
                 filename: str | None = None, dry_run: bool = False) -> CatalogChange:
    """A place's item list (CSV or XLSX) as ``org``'s catalog for the departments it names:
    all rows or none; ``dry_run``: what it would do, nothing written."""
    org_service.require_manager(actor, "导入事项目录")
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    table = open_table(io.BytesIO(raw), filename=name, aliases=ALIASES)
    missing = [c for c in REQUIRED if c not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确：缺少 {'、'.join(missing)} 列")
    errors = ErrorGroups(file=name)
    parsed: dict[str, dict[str, str]] = {}
    for row, values in table.rows:
        cells = _row_values(row, values, name, errors)
        if cells is None:
            continue
        if cells["impl_code"] in parsed:
            errors.append(RowError(row, "impl_code", f"实施编码 {cells['impl_code']} 在文件中重复",
                                   name))
            continue
        parsed[cells["impl_code"]] = cells
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{name} 有 {errors.count} 处错误，未导入任何事项")
    if not parsed:
        raise ValidationFailed(errors=[RowError(1, "impl_code", "文件中没有事项", name)],
                               summary=f"{name} 中没有事项：未导入，原目录保留")
    if dry_run:
        return _store(db, org=org, items=parsed.values(), source=f"import:{name}", write=False)
    result = _store(db, org=org, items=parsed.values(), source=f"import:{name}")
    audit.record(db, actor=actor, action="catalog.imported", object_type="service_item",
                 object_id=f"{org.code}:{name}"[:128], changes=result.details())
    return result


def import_owner(db: Session, *, actor: Actor, ref: str = "") -> Org:
    """Whose list an import is: the org ``ref`` names, or the city the platform serves
    (refused first to those who may not import)."""
    org_service.require_manager(actor, "导入事项目录")
    return org_service.resolve_org(db, ref=ref.strip() or get_settings().city_code, actor=actor)


def _store(db: Session, *, org: Org, items: Iterable[dict[str, str]], source: str,
           write: bool = True) -> CatalogChange:
    """Apply the list to ``org``'s catalog (``write`` off: only count what it would do)."""
    known = {item.impl_code: item for item in db.scalars(
        select(ServiceItem).where(ServiceItem.org_id == org.id))}
    rows = list(items)
    named = sorted({cells["department"] for cells in rows})
    result = CatalogChange(departments=named, dry_run=not write)
    for cells in rows:
        item = known.get(cells["impl_code"])
        if item is None:
            if write:
                db.add(ServiceItem(org_id=org.id, impl_code=cells["impl_code"],
                                   source=source[:200], **{f: cells[f] for f in _FIELDS}))
            result.added += 1
            result.note("added", cells["name"])
        elif any(getattr(item, f) != cells[f] for f in _FIELDS):
            if write:
                for f in _FIELDS:
                    setattr(item, f, cells[f])
                item.source, item.updated_at = source[:200], utcnow()
            result.changed += 1
            result.note("changed", cells["name"])
        else:
            result.unchanged += 1
    listed = {cells["impl_code"] for cells in rows}
    gone = [i for code, i in known.items() if code not in listed and i.department in named]
    result.kept = sum(1 for i in known.values() if i.department not in named)
    result.partial = result.kept > 0
    for item in gone:
        result.note("removed", item.name)
    result.removed = len(gone)
    if gone and write:
        db.execute(delete(ServiceItem).where(ServiceItem.id.in_([i.id for i in gone])))
    if write:
        db.flush()
    return result


def allowed_actions(actor: Actor) -> frozenset[CatalogWork]:
    """What ``actor`` may do with the catalog beyond reading it (pages show these buttons)."""
    return frozenset({CatalogWork.import_items}) if actor.can_manage else frozenset()


def get_item(db: Session, *, actor: Actor, item_id: int) -> ServiceItem:
    """One item; the catalog is reference data every signed-in role reads."""
    org_service.require_area(actor, Area.catalog)
    item = db.get(ServiceItem, item_id)
    if item is None:
        raise NotFound(f"未找到事项 #{item_id}")
    return item


def get_item_by_code(db: Session, *, actor: Actor, impl_code: str) -> ServiceItem:
    """The item with this 实施编码 (the lowest id when several places list the same code)."""
    org_service.require_area(actor, Area.catalog)
    item = db.scalars(select(ServiceItem).where(ServiceItem.impl_code == impl_code)
                      .order_by(ServiceItem.id).limit(1)).first()
    if item is None:
        raise NotFound(f"未找到实施编码为「{impl_code[:100]}」的事项")
    return item


#: The catalog as a list: by department, then name.
ITEMS = Listing(sorts={"name": ("事项名称", [ServiceItem.name]),
                       "impl_code": ("实施编码", [ServiceItem.impl_code])},
                key=ServiceItem.id,
                search="事项名称或实施部门中的文字，或实施编码、基本编码的开头")


def search_items(db: Session, *, actor: Actor, department: str = "",
                 item_type: ItemType | None = None, org: Org | None = None,
                 params: ListParams) -> Page[ServiceItem]:
    """A page of the items whose name or department holds ``params.q`` or whose code starts
    with it, filtered."""
    org_service.require_area(actor, Area.catalog)
    conditions = []
    if words := params.q:
        conditions.append(or_(ServiceItem.name.contains(words, autoescape=True),
                              ServiceItem.department.contains(words, autoescape=True),
                              ServiceItem.impl_code.startswith(words, autoescape=True),
                              ServiceItem.base_code.startswith(words, autoescape=True)))
    if department:
        conditions.append(ServiceItem.department == department)
    if item_type is not None:
        conditions.append(ServiceItem.item_type == item_type.value)
    if org is not None:
        conditions.append(ServiceItem.org_id == org.id)
    return paginate(db, select(ServiceItem).where(*conditions), params=params,
                    order=ITEMS.order(params, default=[ServiceItem.department, ServiceItem.name,
                                                       ServiceItem.id]))


def departments(db: Session, *, actor: Actor) -> list[tuple[str, int]]:
    """Each department with its number of items, most first (for the filter)."""
    org_service.require_area(actor, Area.catalog)
    return [(d, n) for d, n in db.execute(
        select(ServiceItem.department, func.count()).group_by(ServiceItem.department)
        .order_by(func.count().desc(), ServiceItem.department))]


def item_names(db: Session, *, codes: Iterable[str]) -> dict[str, str]:
    """The names of item codes (实施编码 or 基本编码) the catalog knows: what pages and
    reports show instead of a code."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for impl, base, name in db.execute(
            select(ServiceItem.impl_code, ServiceItem.base_code, ServiceItem.name).where(
                or_(ServiceItem.impl_code.in_(wanted), ServiceItem.base_code.in_(wanted)))):
        for code in (impl, base):
            if code in wanted:
                found.setdefault(code, name)
    return found
