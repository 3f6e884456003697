"""Importing a city's catalog for 对标: items (CSV or XLSX) and their materials (a second file
or a second sheet 材料), validated as a whole, stored as a dated snapshot; and the difference
between two snapshots of a city.

The same content as the city's latest snapshot changes nothing; changed content makes a new
snapshot dated ``as_of`` (older ones are kept, for ``diff``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tongban.benchmark.enums import Requirement
from tongban.benchmark.models import (
    CatalogSnapshot,
    ListMaterial,
    SnapshotItem,
    SnapshotMaterial,
)
from tongban.catalog.codes import base_code_of, item_type_of
from tongban.catalog.models import ServiceItem
from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, ErrorGroups, NotFound, RowError, ValidationFailed
from tongban.core.security import Actor
from tongban.core.tabular import Cell, cell_text, open_table, xlsx_sheet_names
from tongban.core.workdays import local_date
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org

audit.name_objects({"benchmark_snapshot": "对标事项目录",
                    "benchmark_list_material": "省级实施清单材料"})

#: Header → column, Chinese first, English aliases after.
ITEM_COLUMNS = {
    "基本编码": "base_code", "实施编码": "impl_code", "事项名称": "name", "实施部门": "department",
    "事项类型": "item_type", "法定办结时限": "legal_days", "承诺办结时限": "promised_days",
    "办理环节数": "steps", "办理流程": "procedure", "跑动次数": "visits", "收费": "fee",
    # the guide's other elements (optional), for the 办事指南体检
    "设定依据": "basis", "受理条件": "conditions", "办理地点": "place", "办理时间": "hours",
    "咨询电话": "consult_phone", "监督电话": "supervise_phone", "结果名称": "result_name",
}
ITEM_ALIASES = {
    **ITEM_COLUMNS, "事项编码": "impl_code", "名称": "name", "部门": "department",
    "法定时限": "legal_days", "承诺时限": "promised_days", "环节数": "steps",
    "是否收费": "fee", "base_code": "base_code", "impl_code": "impl_code",
    "itemCode": "impl_code", "name": "name", "department": "department",
    "item_type": "item_type", "taskType": "item_type", "legal_days": "legal_days",
    "promised_days": "promised_days", "steps": "steps", "procedure": "procedure",
    "visits": "visits", "fee": "fee", "basis": "basis", "conditions": "conditions",
    "place": "place", "hours": "hours", "consult_phone": "consult_phone",
    "supervise_phone": "supervise_phone", "result_name": "result_name",
}
MATERIAL_COLUMNS = {"事项": "item", "材料名称": "name", "材料形式": "form", "份数": "copies",
                    "是否必需": "requirement"}
MATERIAL_ALIASES = {**MATERIAL_COLUMNS, "item": "item", "material": "name", "name": "name",
                    "form": "form", "copies": "copies", "required": "requirement"}
#: The sheet of an XLSX catalog that holds its materials.
MATERIAL_SHEET = "材料"
_LABELS = {column: header for header, column in ITEM_COLUMNS.items()}
_REQUIREMENTS = {"是": Requirement.required, "必需": Requirement.required,
                 "否": Requirement.optional, "非必需": Requirement.optional,
                 "容缺": Requirement.tolerated}
_FORMS = {"原件", "复印件", "电子", "电子件", "纸质", "原件和复印件", "原件/复印件", "原件或复印件"}
_STEP_SEPARATOR = re.compile(r"\s*(?:→|->|—>|－>|=>)\s*")
_DAYS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:个)?(?:工作日|日|天)?")
#: The attributes a snapshot keeps per item (and ``diff`` compares).
#: The guide's elements a snapshot keeps (optional columns), with their longest text.
GUIDE_FIELDS = {"basis": 4000, "conditions": 4000, "place": 300, "hours": 200,
                "consult_phone": 100, "supervise_phone": 100, "result_name": 300}
ITEM_FIELDS = ("base_code", "impl_code", "name", "department", "item_type", "legal_days",
               "promised_days", "steps", "procedure", "visits", "fee", *GUIDE_FIELDS)


@dataclass
class ParsedMaterial:
    name: str
    form: str
    copies: int | None
    requirement: Requirement


@dataclass
class ParsedItem:
    key: str
    values: dict[str, Any]
    align_code: str
    materials: list[ParsedMaterial] = field(default_factory=list)


@dataclass
class SnapshotImport:
    """What an import did: the snapshot (found or new) and what it holds."""

    snapshot: CatalogSnapshot
    new: bool
    items: int
    materials: int


def material_name(name: str) -> str:
    """A material name for comparison: half-width brackets, no whitespace, no trailing
    （原件）/（复印件）."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    return re.sub(r"(\((?:原件|复印件|原件及复印件|原件和复印件|复印件加盖公章)\))+$", "", text)


def resolve_city(db: Session, *, ref: str) -> Org:
    """The province's city (市州) that ``ref`` names: 巴中, 阿坝州, 511900 …"""
    org = org_service.resolve_org(db, ref=ref)
    if org.level != OrgLevel.city.value:
        raise DomainError(f"「{org.name}」不是本省的市（州）；对标只比较市（州）的事项目录")
    return org


def _days(text: str) -> float | None:
    if text in ("即办", "即办件"):
        return 0.0
    match = _DAYS.fullmatch(text)
    if match is None:
        raise ValueError(f"「{text[:20]}」不是工作日天数（数字，或 即办）")
    return float(match.group(1))


def _count(text: str, what: str, least: int) -> int | None:
    if not re.fullmatch(r"\d{1,4}(?:\.0+)?", text):
        raise ValueError(f"{what}「{text[:20]}」应为不小于{least}的整数")
    number = int(float(text))
    if number < least:
        raise ValueError(f"{what}「{text[:20]}」应为不小于{least}的整数")
    return number


def _parse_item(row: int, cells: dict[str, str], filename: str,
                errors: ErrorGroups) -> ParsedItem | None:
    values: dict[str, Any] = {f: cells.get(f, "") for f in ITEM_FIELDS}
    bad = False

    def fail(column: str, reason: str) -> None:
        nonlocal bad
        bad = True
        errors.append(RowError(row, _LABELS.get(column, column), reason, filename))

    if not values["name"]:
        fail("name", "缺少事项名称")
    elif len(values["name"]) > 300:
        fail("name", "事项名称超过300字")
    for column in ("base_code", "impl_code"):
        if values[column] and not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z-]{0,99}", values[column]):
            fail(column, f"{_LABELS[column]}「{values[column][:40]}」应为字母、数字和连字符")
    if values["item_type"]:
        try:
            values["item_type"] = item_type_of(values["item_type"]).value
        except ValueError as exc:
            fail("item_type", str(exc))
    for column in ("legal_days", "promised_days"):
        try:
            values[column] = _days(values[column]) if values[column] else None
        except ValueError as exc:
            fail(column, str(exc))
    steps_from_procedure = (len([s for s in _STEP_SEPARATOR.split(values["procedure"]) if s])
                            if values["procedure"] else None)
    try:
        values["steps"] = (_count(values["steps"], "办理环节数", 1) if values["steps"]
                           else steps_from_procedure)
    except ValueError as exc:
        fail("steps", str(exc))
    try:
        values["visits"] = _count(values["visits"], "跑动次数", 0) if values["visits"] else None
    except ValueError as exc:
        fail("visits", str(exc))
    for column, longest in GUIDE_FIELDS.items():
        if len(values[column]) > longest:
            fail(column, f"{_LABELS[column]}超过{longest}字")
    values["procedure"] = values["procedure"][:500]
    values["department"] = values["department"][:100]
    values["fee"] = values["fee"][:100]
    if bad:
        return None
    code = values["base_code"] or (base_code_of(values["impl_code"]) if values["impl_code"] else "")
    key = values["impl_code"] or f"name:{values['name']}"
    return ParsedItem(key=key, values=values, align_code=code)


def _cells(values: dict[str, Cell], columns: tuple[str, ...]) -> dict[str, str]:
    return {c: cell_text(values.get(c)) for c in columns}


def _check_header(header: list[str], known: dict[str, str], filename: str,
                  required: tuple[str, ...]) -> None:
    columns = set(known.values())
    unknown = [h for h in header if h and h not in columns]
    expected = "、".join(known)
    if unknown:
        raise ValidationFailed(
            errors=[RowError(1, h, f"无法识别的列；可用的列：{expected}", filename) for h in unknown],
            summary=f"{filename} 有无法识别的列：{'、'.join(unknown)}")
    labels = {column: name for name, column in known.items()}
    missing = [labels[c] for c in required if c not in header]
    if missing:
        raise ValidationFailed(
            errors=[RowError(1, c, f"缺少必需的列；可用的列：{expected}", filename) for c in missing],
            summary=f"{filename} 缺少必需的列：{'、'.join(missing)}")


def parse_catalog(raw: bytes, filename: str, materials_raw: bytes | None = None,
                  materials_filename: str = "") -> list[ParsedItem]:
    """Every row of a catalog and its materials, or :class:`ValidationFailed` naming each
    problem's file, row, column and reason."""
    table = open_table(io.BytesIO(raw), filename=filename, aliases=ITEM_ALIASES)
    _check_header(table.header, ITEM_COLUMNS, filename, ("name",))
    errors = ErrorGroups(file=filename)
    items: dict[str, ParsedItem] = {}
    by_name: dict[str, ParsedItem] = {}
    for row, values in table.rows:
        parsed = _parse_item(row, _cells(values, ITEM_FIELDS), filename, errors)
        if parsed is None:
            continue
        if parsed.key in items:
            column = "实施编码" if parsed.values["impl_code"] else "事项名称"
            errors.append(RowError(row, column, "事项在文件中重复", filename))
            continue
        items[parsed.key] = parsed
        by_name.setdefault(parsed.values["name"], parsed)
    if materials_raw is None and filename.lower().endswith(".xlsx") \
            and MATERIAL_SHEET in xlsx_sheet_names(raw, filename=filename):
        materials_raw, materials_filename = raw, filename
        sheet: str | None = MATERIAL_SHEET
    else:
        sheet = None
    if materials_raw is not None:
        _parse_materials(materials_raw, materials_filename or filename, sheet, items, by_name,
                         errors)
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{filename} 有 {errors.count} 处错误，未导入任何事项")
    return list(items.values())


def _parse_materials(raw: bytes, filename: str, sheet: str | None,
                     items: dict[str, ParsedItem], by_name: dict[str, ParsedItem],
                     errors: ErrorGroups) -> None:
    def find(ref: str) -> str | None:
        item = items.get(ref) or by_name.get(ref)
        return None if item is None else item.key

    for key, material in read_materials(raw, filename, sheet, errors, find):
        items[key].materials.append(material)


def read_materials(raw: bytes, filename: str, sheet: str | None, errors: ErrorGroups,
                   find: Callable[[str], str | None] | None) -> list[tuple[str, ParsedMaterial]]:
    """The rows of a materials file as (item key, material); ``find`` names the item a row's
    事项 refers to (None: not in the catalog, an error); without ``find`` the 事项 is kept as
    written (a 实施清单 names items of a catalog imported apart)."""
    shown = f"{filename}（{sheet}）" if sheet else filename
    table = open_table(io.BytesIO(raw), filename=filename, aliases=MATERIAL_ALIASES, sheet=sheet)
    _check_header(table.header, MATERIAL_COLUMNS, shown, ("item", "name"))
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, ParsedMaterial]] = []
    for row, values in table.rows:
        cells = _cells(values, ("item", "name", "form", "copies", "requirement"))
        problems: list[tuple[str, str]] = []
        key = cells["item"][:320] if find is None else find(cells["item"])
        if not cells["item"]:
            problems.append(("事项", "缺少事项（实施编码或事项名称）"))
            key = None
        elif key is None:
            problems.append(("事项", f"事项「{cells['item'][:60]}」不在该市的事项目录中"))
        if not cells["name"]:
            problems.append(("材料名称", "缺少材料名称"))
        elif len(cells["name"]) > 300:
            problems.append(("材料名称", "材料名称超过300字"))
        if cells["form"] and cells["form"] not in _FORMS:
            problems.append(("材料形式", f"材料形式「{cells['form'][:20]}」应为 原件、复印件 或 电子"))
        requirement = _REQUIREMENTS.get(cells["requirement"] or "是")
        if requirement is None:
            problems.append(("是否必需", f"是否必需「{cells['requirement'][:20]}」应为 是、否 或 容缺"))
        copies = None
        if cells["copies"]:
            try:
                copies = _count(cells["copies"], "份数", 1)
            except ValueError as exc:
                problems.append(("份数", str(exc)))
        if key is not None and (key, cells["name"]) in seen:
            problems.append(("材料名称", "同一事项的材料重复"))
        for column, reason in problems:
            errors.append(RowError(row, column, reason, shown))
        if problems or key is None or requirement is None:
            continue
        seen.add((key, cells["name"]))
        found.append((key, ParsedMaterial(cells["name"], cells["form"], copies, requirement)))
    return found


def content_hash(items: list[ParsedItem]) -> str:
    """The hash of a catalog's content, independent of row order (a guide element left blank
    is not in it, so catalogs without the guide's columns hash as they always did)."""
    rows = sorted([p.key,
                   {k: v for k, v in p.values.items() if not (k in GUIDE_FIELDS and v == "")},
                   sorted([m.name, m.form, m.copies, m.requirement.value] for m in p.materials)]
                  for p in items)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True,
                                     default=str).encode()).hexdigest()


def latest_snapshot(db: Session, *, org: Org) -> CatalogSnapshot | None:
    return db.scalars(select(CatalogSnapshot).where(CatalogSnapshot.org_id == org.id)
                      .order_by(CatalogSnapshot.as_of.desc(), CatalogSnapshot.id.desc())
                      .limit(1)).first()


@audit.action({"benchmark.imported": "导入对标事项目录"})
def import_catalog(db: Session, *, actor: Actor, city: Org, source: Path | IO[bytes],
                   filename: str | None = None, materials: Path | IO[bytes] | None = None,
                   materials_filename: str | None = None,
                   as_of: date | None = None) -> SnapshotImport:
    """A city's catalog as its snapshot of ``as_of`` (today): all rows or none; the same
    content as the city's latest snapshot changes nothing."""
    org_service.require_manager(actor, "导入对标事项目录")
    if city.level != OrgLevel.city.value:
        raise DomainError(f"「{city.name}」不是本省的市（州）")
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    materials_raw = None
    if materials is not None:
        materials_raw = materials.read_bytes() if isinstance(materials, Path) else materials.read()
        materials_filename = materials_filename or (
            materials.name if isinstance(materials, Path) else "材料文件")
    items = parse_catalog(raw, name, materials_raw, materials_filename or "")
    digest = content_hash(items)
    material_count = sum(len(p.materials) for p in items)
    latest = latest_snapshot(db, org=city)
    if latest is not None and latest.content_hash == digest:
        return SnapshotImport(latest, False, latest.item_count, latest.material_count)
    snapshot = CatalogSnapshot(org_id=city.id, as_of=as_of or local_date(utcnow()),
                               content_hash=digest, item_count=len(items),
                               material_count=material_count, source=name[:200])
    db.add(snapshot)
    db.flush()
    # set-based: a province's catalogs are tens of thousands of rows
    ids = list(db.scalars(insert(SnapshotItem).returning(
        SnapshotItem.id, sort_by_parameter_order=True), [
        {"snapshot_id": snapshot.id, "key": p.key, "align_code": p.align_code, **p.values}
        for p in items])) if items else []
    rows = [{"item_id": item_id, "name": m.name, "form": m.form, "copies": m.copies,
             "requirement": m.requirement.value}
            for item_id, parsed in zip(ids, items, strict=True) for m in parsed.materials]
    if rows:
        db.execute(insert(SnapshotMaterial), rows)
    audit.record(db, actor=actor, action="benchmark.imported", object_type="benchmark_snapshot",
                 object_id=snapshot.id, changes={"city": city.name, "as_of": snapshot.as_of,
                                                 "items": len(items),
                                                 "materials": material_count, "file": name})
    return SnapshotImport(snapshot, True, len(items), material_count)


@dataclass
class ListImport:
    """What an import of a city's 实施清单 did (``dry_run``: would do): the items it names and
    their materials, the items added, removed and changed (up to 10 names each), and — for a
    list of some departments only — the departments it replaced and the items it kept."""

    items: int
    materials: int
    changed: bool
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    partial: bool = False
    kept: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        if not self.changed:
            return "内容未变"
        verb = "将" if self.dry_run else "已"
        said = (f"{verb}新增 {len(self.added)} 个事项、删除 {len(self.removed)} 个事项、"
                f"改动 {len(self.altered)} 个事项的材料")
        if self.removed:
            said += "（删除：" + "、".join(self.removed[:10]) + ("等" if len(self.removed) > 10
                                                             else "") + "）"
        if self.partial:
            said += f"；文件只含{'、'.join(self.departments[:5])}的事项，只替换这些部门，" \
                    f"其他部门的 {self.kept} 个事项保留"
        return said + ("（预览，尚未写入）" if self.dry_run else "")

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "materials": self.materials, "changed": self.changed,
                "added": self.added[:10], "removed": self.removed[:10],
                "altered": self.altered[:10], "added_count": len(self.added),
                "removed_count": len(self.removed), "altered_count": len(self.altered),
                "departments": self.departments, "partial": self.partial, "kept": self.kept,
                "dry_run": self.dry_run}


def _list_departments(db: Session, *, city: Org) -> dict[str, str]:
    """The department of each item of ``city``'s catalog, by 实施编码 and by name (a
    实施清单 names items either way)."""

    found: dict[str, str] = {}
    for code, name, department in db.execute(select(
            ServiceItem.impl_code, ServiceItem.name, ServiceItem.department).where(
            ServiceItem.org_id == city.id)):
        found.setdefault(code, department)
        found.setdefault(name, department)
    return found


def list_materials(db: Session, *, org: Org) -> list[ListMaterial]:
    """The city's 实施清单 materials as last imported."""
    return list(db.scalars(select(ListMaterial).where(ListMaterial.org_id == org.id)
                           .order_by(ListMaterial.id)))


@audit.action({"benchmark.list_imported": "导入省级实施清单材料"})
def import_implementation_list(db: Session, *, actor: Actor, city: Org,
                               source: Path | IO[bytes], filename: str | None = None,
                               dry_run: bool = False) -> ListImport:
    """The province's 实施清单 materials of ``city``'s items (the materials format; 事项 is the
    item's 实施编码 or name): all rows or none, replacing the city's previous list for the
    departments the file names (by the city's catalog; a list of one department keeps the
    others'); an empty file is refused; the same content again changes nothing;
    ``dry_run``: what it would change, nothing written."""
    org_service.require_manager(actor, "导入省级实施清单材料")
    if city.level != OrgLevel.city.value:
        raise DomainError(f"「{city.name}」不是本省的市（州）")
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    errors = ErrorGroups(file=name)
    rows = read_materials(raw, name, None, errors, None)
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{name} 有 {errors.count} 处错误，未导入任何材料")
    if not rows:
        raise ValidationFailed(errors=[RowError(1, "事项", "文件中没有材料", name)],
                               summary=f"{name} 中没有材料：未导入，原实施清单保留")
    department = _list_departments(db, city=city)
    named = sorted({department.get(k, "") for k, _ in rows})
    every = list_materials(db, org=city)
    before = [m for m in every if department.get(m.item, "") in named]
    kept = {m.item for m in every} - {m.item for m in before}

    def state(found: list[tuple[str, str, str, int | None, str]]) -> list[Any]:
        return sorted(found, key=lambda r: (r[0], r[1], r[2], r[3] or 0, r[4]))

    old = state([(m.item, m.name, m.form, m.copies, m.requirement) for m in before])
    new = state([(k, m.name, m.form, m.copies, m.requirement.value) for k, m in rows])
    items = len({k for k, _ in rows})
    old_items: dict[str, list[Any]] = defaultdict(list)  # item → its sorted materials
    new_items: dict[str, list[Any]] = defaultdict(list)
    for rows_of, state_rows in ((old_items, old), (new_items, new)):
        for r in state_rows:
            rows_of[r[0]].append(r)
    found = ListImport(
        items, len(rows), old != new, added=sorted(set(new_items) - set(old_items)),
        removed=sorted(set(old_items) - set(new_items)),
        altered=sorted(k for k in set(old_items) & set(new_items)
                       if old_items[k] != new_items[k]),
        departments=[d or "未标部门" for d in named], partial=bool(kept), kept=len(kept),
        dry_run=dry_run)
    if old == new or dry_run:
        return found
    for material in before:
        db.delete(material)
    now = utcnow()
    db.add_all(ListMaterial(org_id=city.id, item=k, name=m.name, form=m.form, copies=m.copies,
                            requirement=m.requirement.value, imported_at=now) for k, m in rows)
    db.flush()
    audit.record(db, actor=actor, action="benchmark.list_imported",
                 object_type="benchmark_list_material", object_id=city.code,
                 changes={"city": city.name, "items": items, "materials": len(rows),
                          "replaced": len(before), "file": name, **found.as_dict()})
    return found


def snapshots(db: Session, *, org: Org) -> list[CatalogSnapshot]:
    """A city's snapshots, oldest first."""
    return list(db.scalars(select(CatalogSnapshot).where(CatalogSnapshot.org_id == org.id)
                           .order_by(CatalogSnapshot.as_of, CatalogSnapshot.id)))


def _item_state(item: SnapshotItem) -> dict[str, Any]:
    state = {f: getattr(item, f) for f in ITEM_FIELDS}
    state["materials"] = sorted(f"{m.name}（{Requirement(m.requirement).label}）"
                                for m in item.materials)
    return state


def diff_snapshots(db: Session, *, city: Org, old_id: int | None = None,
                   new_id: int | None = None) -> dict[str, Any]:
    """What a city changed between two snapshots (by default its last two): items added,
    removed, and changed with each field's old and new value."""
    found = snapshots(db, org=city)
    by_id = {s.id: s for s in found}
    if (old_id is not None and old_id not in by_id) or (new_id is not None and new_id not in by_id):
        raise NotFound(f"未找到{city.name}的该快照")
    new = by_id[new_id] if new_id is not None else (found[-1] if found else None)
    older = [s for s in found if new is not None and (s.as_of, s.id) < (new.as_of, new.id)]
    old = by_id[old_id] if old_id is not None else (older[-1] if older else None)

    def items_of(snapshot: CatalogSnapshot | None) -> dict[str, SnapshotItem]:
        if snapshot is None:
            return {}
        return {i.key: i for i in db.scalars(
            select(SnapshotItem).where(SnapshotItem.snapshot_id == snapshot.id))}

    before, after = items_of(old), items_of(new)
    changed = []
    for key in sorted(before.keys() & after.keys()):
        a, b = _item_state(before[key]), _item_state(after[key])
        fields = {f: [a[f], b[f]] for f in a if a[f] != b[f]}
        if fields:
            changed.append({"key": key, "name": after[key].name, "fields": fields})

    def brief(s: CatalogSnapshot | None) -> dict[str, Any] | None:
        return None if s is None else {"id": s.id, "date": s.as_of.isoformat(),
                                       "items": s.item_count}

    return {"city": city.name, "from": brief(old), "to": brief(new),
            "added": [{"key": k, "name": after[k].name} for k in sorted(after.keys() - before.keys())],
            "removed": [{"key": k, "name": before[k].name}
                        for k in sorted(before.keys() - after.keys())],
            "changed": changed}
