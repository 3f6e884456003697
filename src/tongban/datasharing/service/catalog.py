"""The 数据资源目录: each department's datasets and their fields, imported and exported as CSV or
XLSX (all or nothing, every row error named), edited on pages, read within the actor's scope
(a liaison sees its own department's datasets)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    DomainError,
    ErrorGroups,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.core.tabular import Cell, ImportCounts, cell_text, open_table
from tongban.datasharing.checks import FieldSpec
from tongban.datasharing.enums import (
    FieldFormat,
    FieldType,
    Frequency,
    OpenType,
    ShareType,
    by_label,
)
from tongban.datasharing.models import Dataset, DatasetField
from tongban.datasharing.sources import check_source, shown
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org

audit.name_objects({"data_dataset": "数据资源目录"})

CATALOG_COLUMNS = {"数据集编码": "code", "数据集名称": "name", "提供部门": "department",
                   "更新频率": "frequency", "共享类型": "share_type", "开放类型": "open_type",
                   "重点数据": "key_data", "服务业务": "business"}
FIELD_COLUMNS = {"数据集编码": "dataset", "字段名": "name", "类型": "type", "必填": "required",
                 "格式": "format", "主键": "primary_key"}
_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")
_YES, _NO = ("是", "y", "yes", "true", "1"), ("否", "n", "no", "false", "0", "")


def _yes_no(text: str) -> bool | None:
    lowered = text.strip().lower()
    return True if lowered in _YES else False if lowered in _NO else None


def require_data_area(actor: Actor) -> None:
    org_service.require_area(actor, Area.datasharing)


def scoped(db: Session, actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """Datasets ``actor`` may see: a liaison its department's (and below), city-wide roles all."""
    require_data_area(actor)
    if actor.is_citywide:
        return stmt
    return stmt.join(Org, Org.id == Dataset.department_id).where(
        org_service.scope_condition(db, actor=actor))


def key_data_named(name: str) -> bool:
    """Whether a dataset's name is on the configured list of key data (重点数据)."""
    return any(word and word in name for word in get_settings().data_key_name_list)


#: The catalog as a list: by department, then code.
DATASETS = Listing(sorts={"code": ("编码", [Dataset.code]), "name": ("名称", [Dataset.name])},
                   key=Dataset.id, search="数据集名称或编码中的文字")


def list_datasets(db: Session, *, actor: Actor, department: Org | None = None,
                  key_only: bool = False, params: ListParams) -> Page[Dataset]:
    stmt = scoped(db, actor, select(Dataset).where(Dataset.is_active))
    if department is not None:
        stmt = stmt.where(Dataset.department_id == department.id)
    if key_only:
        stmt = stmt.where(Dataset.key_data)
    if params.q:
        stmt = stmt.where(Dataset.name.contains(params.q, autoescape=True)
                          | Dataset.code.startswith(params.q, autoescape=True))
    return paginate(db, stmt, params=params,
                    order=DATASETS.order(params, default=[Dataset.department_id, Dataset.code]))


def get_dataset(db: Session, *, actor: Actor, code: str) -> Dataset:
    """One dataset by its code, to those who may see it (anyone else: the same 404)."""
    found: Dataset | None = db.scalar(
        scoped(db, actor, select(Dataset).where(Dataset.code == code[:64]))
        .options(selectinload(Dataset.fields)))
    if found is None:
        raise NotFound(f"未找到数据集「{code[:64]}」")
    return found


def specs_of(dataset: Dataset) -> list[FieldSpec]:
    return [FieldSpec(f.name, FieldType(f.type), f.required, FieldFormat(f.format), f.primary_key)
            for f in dataset.fields]


def _require_editor(actor: Actor) -> None:
    if not actor.can_manage:
        raise PermissionDenied("只有考核管理员或系统管理员可以编辑数据资源目录")


@dataclass
class _Entry:
    row: int
    values: dict[str, Any]
    fields: list[dict[str, Any]]


def _catalog_rows(db: Session, rows: Iterable[tuple[int, dict[str, Cell]]], name: str,
                  errors: ErrorGroups, listed: set[str]) -> dict[str, _Entry]:
    """The catalog's rows by code; ``listed`` gets every code the file names, valid or not
    (a field of a refused dataset is no second error)."""
    found: dict[str, _Entry] = {}
    labels = {"frequency": by_label(Frequency), "share_type": by_label(ShareType),
              "open_type": by_label(OpenType)}
    for row, cells in rows:
        text = {k: cell_text(cells.get(k)) for k in CATALOG_COLUMNS.values()}
        listed.add(text["code"])
        problems: list[tuple[str, str]] = []
        if not _CODE.fullmatch(text["code"]):
            problems.append(("数据集编码",
                             f"编码「{text['code'][:30]}」应为字母、数字、-、_ 和 .（至多64个）"))
        elif text["code"] in found:
            problems.append(("数据集编码", f"与第{found[text['code']].row}行的编码重复"))
        if not text["name"] or len(text["name"]) > 200:
            problems.append(("数据集名称", "缺少名称，或超过200字"))
        department = None
        if not text["department"]:
            problems.append(("提供部门", "缺少提供部门"))
        else:
            try:
                department = org_service.resolve_org(db, ref=text["department"])
            except DomainError as exc:
                problems.append(("提供部门", exc.message))
        values: dict[str, Any] = {"code": text["code"], "name": text["name"],
                                  "business": text["business"][:300]}
        for key, choices in labels.items():
            member = choices.get(text[key])
            column = next(c for c, k in CATALOG_COLUMNS.items() if k == key)
            if member is None:
                allowed = "/".join(m.label for m in choices.values() if m.value and m.label)
                problems.append((column, f"「{text[key][:20]}」不是可选值（{allowed}）"))
            else:
                values[key] = member.value
        key_data = _yes_no(text["key_data"])
        if key_data is None:
            problems.append(("重点数据", f"「{text['key_data'][:10]}」应为是或否"))
        for column, reason in problems:
            errors.append(RowError(row, column, reason, name))
        if problems or department is None:
            continue
        values["department_id"] = department.id
        values["key_data"] = bool(key_data) or key_data_named(text["name"])
        found[text["code"]] = _Entry(row, values, [])
    return found


def _field_rows(entries: dict[str, _Entry], rows: Iterable[tuple[int, dict[str, Cell]]],
                name: str, errors: ErrorGroups, listed: set[str]) -> None:
    types, formats = by_label(FieldType), by_label(FieldFormat)
    for row, cells in rows:
        text = {k: cell_text(cells.get(k)) for k in FIELD_COLUMNS.values()}
        problems: list[tuple[str, str]] = []
        entry = entries.get(text["dataset"])
        if text["dataset"] not in listed:
            problems.append(("数据集编码", f"目录文件中没有数据集「{text['dataset'][:30]}」"))
        if not text["name"] or len(text["name"]) > 100:
            problems.append(("字段名", "缺少字段名，或超过100字"))
        elif entry is not None and any(f["name"] == text["name"] for f in entry.fields):
            problems.append(("字段名", f"字段「{text['name']}」在该数据集中重复"))
        kind = types.get(text["type"])
        if kind is None:
            problems.append(("类型", f"「{text['type'][:10]}」不是可选值（文本/整数/小数/日期）"))
        fmt = formats.get(text["format"]) if text["format"] else FieldFormat.none
        if fmt is None:
            problems.append(("格式", f"「{text['format'][:10]}」不是可选值（统一社会信用代码/身份证号/"
                                   "日期/行政区划代码/手机号，或留空）"))
        required, primary = _yes_no(text["required"]), _yes_no(text["primary_key"])
        if required is None:
            problems.append(("必填", "应为是或否"))
        if primary is None:
            problems.append(("主键", "应为是或否"))
        for column, reason in problems:
            errors.append(RowError(row, column, reason, name))
        if problems or entry is None or kind is None or fmt is None:
            continue
        entry.fields.append({"name": text["name"], "type": kind.value,
                             "required": bool(required) or bool(primary), "format": fmt.value,
                             "primary_key": bool(primary)})


@audit.action({"data.catalog_imported": "导入数据资源目录"})
def import_catalog(db: Session, *, actor: Actor, catalog: Path | IO[bytes],
                   fields: Path | IO[bytes], catalog_name: str = "",
                   fields_name: str = "") -> ImportCounts:
    """The catalog and its fields from two files (CSV or XLSX), all or nothing: datasets are
    keyed by their code (a re-import updates them and replaces their fields; the same files
    again change nothing); every dataset must have at least one field."""
    _require_editor(actor)
    names = [catalog_name or getattr(catalog, "name", "目录文件"),
             fields_name or getattr(fields, "name", "字段文件")]
    tables = [open_table(source, filename=Path(n).name, aliases=columns)
              for source, n, columns in ((catalog, names[0], CATALOG_COLUMNS),
                                         (fields, names[1], FIELD_COLUMNS))]
    errors = ErrorGroups(file=tables[0].filename)
    for table, columns in ((tables[0], CATALOG_COLUMNS), (tables[1], FIELD_COLUMNS)):
        missing = [c for c, k in columns.items() if k not in table.header and k != "business"]
        if missing:
            raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", table.filename)
                                           for c in missing],
                                   summary=f"{table.filename} 格式不正确")
    listed: set[str] = set()
    entries = _catalog_rows(db, tables[0].rows, tables[0].filename, errors, listed)
    _field_rows(entries, tables[1].rows, tables[1].filename, errors, listed)
    for code, entry in entries.items():
        if not entry.fields:
            errors.append(RowError(entry.row, "数据集编码", f"数据集「{code}」在字段文件中没有字段",
                                   tables[0].filename))
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"有 {errors.count} 处错误，未导入任何数据集")
    if not entries:
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有数据集", tables[0].filename)],
                               summary="目录文件为空，未导入")
    counts = _store(db, entries.values())
    audit.record(db, actor=actor, action="data.catalog_imported", object_type="data_dataset",
                 object_id=tables[0].filename[:128], changes=counts.as_dict())
    return counts


def _store(db: Session, entries: Iterable[_Entry]) -> ImportCounts:
    counts = ImportCounts()
    known = {d.code: d for d in db.scalars(select(Dataset).options(selectinload(Dataset.fields)))}
    for entry in entries:
        dataset = known.get(entry.values["code"])
        wanted = [dict(f, position=n) for n, f in enumerate(entry.fields, start=1)]
        if dataset is None:
            dataset = Dataset(**entry.values, is_active=True)
            dataset.fields = [DatasetField(**f) for f in wanted]
            db.add(dataset)
            counts.added += 1
            continue
        current = [{"name": f.name, "type": f.type, "required": f.required, "format": f.format,
                    "primary_key": f.primary_key, "position": f.position} for f in dataset.fields]
        same = all(getattr(dataset, k) == v for k, v in entry.values.items()) \
            and current == wanted and dataset.is_active
        if same:
            counts.unchanged += 1
            continue
        for key, value in entry.values.items():
            setattr(dataset, key, value)
        dataset.is_active, dataset.updated_at = True, utcnow()
        dataset.fields.clear()
        db.flush()
        dataset.fields.extend(DatasetField(**f) for f in wanted)
        counts.changed += 1
    db.flush()
    return counts


def catalog_rows(db: Session, *, actor: Actor) -> tuple[list[list[str]], list[list[str]]]:
    """The catalog and its fields as the import reads them (header first), for export."""
    datasets = list(db.scalars(scoped(db, actor, select(Dataset).where(Dataset.is_active))
                               .options(selectinload(Dataset.fields))
                               .order_by(Dataset.code)))
    catalog = [list(CATALOG_COLUMNS)] + [
        [d.code, d.name, d.department.name, Frequency(d.frequency).label,
         ShareType(d.share_type).label, OpenType(d.open_type).label,
         "是" if d.key_data else "否", d.business] for d in datasets]
    fields = [list(FIELD_COLUMNS)] + [
        [d.code, f.name, FieldType(f.type).label, "是" if f.required else "否",
         FieldFormat(f.format).label if f.format else "", "是" if f.primary_key else "否"]
        for d in datasets for f in d.fields]
    return catalog, fields


@dataclass(frozen=True)
class DatasetInput:
    """A dataset as a page's form edits it."""

    code: str
    name: str
    department: str
    frequency: Frequency
    share_type: ShareType
    open_type: OpenType
    key_data: bool = False
    business: str = ""
    #: Where the department publishes it (``sources``): None keeps what is registered, ""
    #: removes it.
    pull_url: str | None = None
    pull_table: str = ""


@audit.action({"data.dataset_saved": "编辑数据集"})
def save_dataset(db: Session, *, actor: Actor, given: DatasetInput,
                 fields: list[FieldSpec]) -> Dataset:
    """Create a dataset or change one (its fields replaced), on the catalog page."""
    _require_editor(actor)
    errors = ErrorGroups(file="数据集")
    if not _CODE.fullmatch(given.code):
        errors.append(RowError(None, "数据集编码", "编码应为字母、数字、-、_ 和 .（至多64个）"))
    if not given.name.strip() or len(given.name) > 200:
        errors.append(RowError(None, "数据集名称", "缺少名称，或超过200字"))
    names = [f.name for f in fields]
    if not fields or any(not n.strip() or len(n) > 100 for n in names) \
            or len(set(names)) != len(names):
        errors.append(RowError(None, "字段", "至少一个字段，字段名不能为空、超过100字或重复"))
    source: dict[str, str] = {}
    existing = db.scalars(select(Dataset).where(Dataset.code == given.code)).one_or_none()
    kept = existing.pull_url if existing is not None else ""
    if given.pull_url is not None or (existing is not None and kept
                                      and given.pull_table.strip() != existing.pull_table):
        try:
            url, table = check_source(kept if given.pull_url is None else given.pull_url,
                                      given.pull_table)
            source = {"pull_url": url, "pull_table": table}
        except DomainError as exc:
            errors.append(RowError(None, "拉取地址", exc.message))
    if errors:
        raise ValidationFailed(errors=errors, summary="数据集未保存")
    department = org_service.resolve_org(db, ref=given.department)
    entry = _Entry(0, {"code": given.code, "name": given.name.strip(),
                       "department_id": department.id, "frequency": given.frequency.value,
                       "share_type": given.share_type.value, "open_type": given.open_type.value,
                       "key_data": given.key_data or key_data_named(given.name),
                       "business": given.business[:300], **source},
                   [{"name": f.name.strip(), "type": f.type.value,
                     "required": f.required or f.primary_key, "format": f.format.value,
                     "primary_key": f.primary_key} for f in fields])
    counts = _store(db, [entry])
    dataset = db.scalars(select(Dataset).where(Dataset.code == given.code)).one()
    audit.record(db, actor=actor, action="data.dataset_saved", object_type="data_dataset",
                 object_id=dataset.code, changes={**counts.as_dict(), **(
                     {"pull": shown(source["pull_url"]), "table": source["pull_table"]}
                     if source else {})})
    return dataset


def departments_with_datasets(db: Session, *, actor: Actor) -> list[Org]:
    """The departments whose datasets ``actor`` sees, by name."""
    ids = set(db.scalars(scoped(db, actor, select(Dataset.department_id).where(
        Dataset.is_active))))
    return sorted((db.get_one(Org, i) for i in ids), key=lambda o: o.code)
