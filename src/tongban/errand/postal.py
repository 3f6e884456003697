"""政务服务+邮政: the registry of post offices (邮政网点) per county, its import, and coverage
against the targets (settings ``TONGBAN_ERRAND_POSTAL_TARGET_*``: ≥ 100 outlets upgraded,
≥ 90 % of outlets upgraded, ≥ 20 departments and ≥ 200 items offered).

An import (CSV or XLSX) is all or nothing and idempotent: outlets are keyed by their code
(网点编码); a re-import adds new outlets, updates changed ones and keeps the rest. A county is
a zone of the 跑团 (``errand_zone``); items are codes of the city's catalog.

Coverage of a county and month (month of the upgrade date, Beijing time): ``postal_outlets``
(outlets registered), ``postal_outlets_upgraded`` (upgraded by the month's end),
``postal_coverage_rate`` = upgraded ÷ outlets × 100, ``postal_departments`` and
``postal_items`` (distinct departments and items across the upgraded outlets); written
through ``assessment.service.record_metric_values`` (source ``errand``) by ``jobs run``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.catalog import service as catalog
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.errors import ErrorGroups, RowError, ValidationFailed
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.periods import first_day, month_of, next_period, previous_period
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.core.tabular import Cell, ImportCounts, cell_number, cell_text, open_table
from tongban.errand.metrics import METRICS as DECLARED
from tongban.errand.metrics import OWNER
from tongban.errand.models import ErrandZone, PostOffice
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org

audit.name_objects({"errand_post_office": "邮政网点"})

ALIASES = {
    "网点编码": "code", "编码": "code", "网点名称": "name", "名称": "name", "地址": "address",
    "区县": "county", "所属区县": "county", "县区": "county", "纬度": "lat", "经度": "lng",
    "升级状态": "status", "状态": "status", "升级日期": "upgraded_on", "可办部门": "departments",
    "部门": "departments", "可办事项": "items", "事项编码": "items", "事项": "items",
}
REQUIRED = ("code", "name", "county", "status")
#: The columns as errors name them (the template's headers).
COLUMNS = {"code": "网点编码", "name": "网点名称", "address": "地址", "county": "区县",
           "lat": "纬度", "lng": "经度", "status": "升级状态", "upgraded_on": "升级日期",
           "departments": "可办部门", "items": "可办事项"}
UPGRADED, NOT_UPGRADED = "已升级", "未升级"
_SPLIT = re.compile(r"[、,，;；\n]+")
METRICS = tuple(DECLARED[c].code for c in (
    "postal_outlets", "postal_outlets_upgraded", "postal_coverage_rate", "postal_departments",
    "postal_items"))


def _parts(text: str) -> list[str]:
    return sorted({p.strip() for p in _SPLIT.split(text) if p.strip()})


def _date(value: Cell) -> date:
    """A date cell (an XLSX date, or 2026-03-01, 2026/3/1, 2026年3月1日); ValueError if not."""
    text = cell_text(value)
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if not match:
        raise ValueError(text)
    return date(*(int(g) for g in match.groups()))


def _zones(db: Session) -> dict[str, Org]:
    """The counties outlets may belong to, by code, name and short name."""
    found: dict[str, Org] = {}
    for zone in db.scalars(select(ErrandZone)):
        for key in (zone.org.code, zone.org.name, zone.org.short_name):
            if key:
                found[key] = zone.org
    return found


def _row(row: int, values: dict[str, Cell], name: str, errors: ErrorGroups,
         zones: dict[str, Org]) -> dict[str, object] | None:
    cells = {key: cell_text(values.get(key)) for key in
             ("code", "name", "address", "county", "status", "departments", "items")}
    problems: list[tuple[str, str]] = []
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_-]{0,49}", cells["code"]):
        problems.append(("code", f"网点编码「{cells['code'][:40]}」应为字母、数字、连字符"))
    if not cells["name"] or len(cells["name"]) > 200:
        problems.append(("name", "网点名称须为 1 到 200 个字"))
    if len(cells["address"]) > 300:
        problems.append(("address", "地址超过300字"))
    county = zones.get(cells["county"])
    if county is None:
        problems.append(("county", f"区县「{cells['county'][:20]}」不是本市的代办区域"))
    if cells["status"] not in (UPGRADED, NOT_UPGRADED):
        problems.append(("status", f"升级状态须为「{UPGRADED}」或「{NOT_UPGRADED}」"))
    upgraded_on = None
    if cell_text(values.get("upgraded_on")):
        try:
            upgraded_on = _date(values.get("upgraded_on"))
        except ValueError:
            problems.append(("upgraded_on", "升级日期应为 2026-03-01 这样的日期"))
    elif cells["status"] == UPGRADED:
        problems.append(("upgraded_on", "已升级的网点须填写升级日期"))
    point: list[float | None] = []
    for column, low, high in (("lat", -90, 90), ("lng", -180, 180)):
        number = cell_number(values.get(column)) if cell_text(values.get(column)) else None
        if cell_text(values.get(column)) and (number is None or not low <= number <= high):
            problems.append((column, f"{'纬度' if column == 'lat' else '经度'}无效"))
        point.append(number)
    if (point[0] is None) != (point[1] is None):
        problems.append(("lat", "纬度和经度须同时填写或同时留空"))
    departments, items = _parts(cells["departments"]), _parts(cells["items"])
    if any(len(d) > 100 for d in departments):
        problems.append(("departments", "部门名称超过100字"))
    if any(not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z-]{2,99}", i) for i in items):
        problems.append(("items", "事项编码应为字母、数字和连字符"))
    for column, reason in problems:
        errors.append(RowError(row, COLUMNS[column], reason, name))
    if problems or county is None:
        return None
    return {"code": cells["code"], "name": cells["name"], "address": cells["address"],
            "county_org_id": county.id, "lat": point[0], "lng": point[1],
            "upgraded": cells["status"] == UPGRADED, "upgraded_on": upgraded_on,
            "departments": "\n".join(departments), "item_codes": "\n".join(items)}


def may_import(actor: Actor) -> bool:
    """Whether ``actor`` may import the registry (the page shows the form only then)."""
    return actor.can_manage


@audit.action({"errand_post_office.imported": "导入邮政网点"})
def import_post_offices(db: Session, *, actor: Actor, source: Path | IO[bytes],
                        filename: str | None = None) -> ImportCounts:
    """The post-office registry from a CSV or XLSX file: all rows or none (managers only)."""
    org_service.require_manager(actor, "导入邮政网点")
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    table = open_table(io.BytesIO(raw), filename=name, aliases=ALIASES)
    missing = [c for c in REQUIRED if c not in table.header]
    if missing:
        shown = [COLUMNS[c] for c in missing]
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in shown],
                               summary=f"{name} 格式不正确：缺少 {'、'.join(shown)} 列")
    errors = ErrorGroups(file=name)
    zones = _zones(db)
    parsed: dict[str, tuple[int, dict[str, object]]] = {}
    for row, values in table.rows:
        cells = _row(row, values, name, errors, zones)
        if cells is None:
            continue
        if cells["code"] in parsed:
            errors.append(RowError(row, COLUMNS["code"], f"网点编码 {cells['code']} 在文件中重复",
                                   name))
            continue
        parsed[str(cells["code"])] = (row, cells)
    wanted = {code for _, cells in parsed.values() for code in str(cells["item_codes"]).split()}
    known = catalog.item_names(db, codes=wanted)
    for row, cells in parsed.values():
        unknown = [c for c in str(cells["item_codes"]).split() if c not in known]
        if unknown:
            errors.append(RowError(row, COLUMNS["items"], f"事项目录中没有 {'、'.join(unknown[:3])}"
                                   + ("等" if len(unknown) > 3 else ""), name))
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{name} 有 {errors.count} 处错误，未导入任何网点")
    result = ImportCounts()
    existing = {o.code: o for o in db.scalars(select(PostOffice).where(
        PostOffice.code.in_(list(parsed))))}
    for code, (_, cells) in parsed.items():
        office = existing.get(code)
        if office is None:
            db.add(PostOffice(**cells))
            result.added += 1
        elif any(getattr(office, key) != value for key, value in cells.items()):
            for key, value in cells.items():
                setattr(office, key, value)
            result.changed += 1
        else:
            result.unchanged += 1
    db.flush()
    audit.record(db, actor=actor, action="errand_post_office.imported",
                 object_type="errand_post_office", object_id=name[:128],
                 changes=result.as_dict())
    return result


POST_OFFICES = Listing(sorts={"code": ("网点编码", [PostOffice.code]),
                              "upgraded_on": ("升级日期", [PostOffice.upgraded_on])},
                       key=PostOffice.id, search="网点名称、编码或地址中的文字")


def list_post_offices(db: Session, *, actor: Actor, params: ListParams,
                      county: Org | None = None,
                      upgraded: bool | None = None) -> Page[PostOffice]:
    """The outlets of the counties the actor may see, filtered by county and status."""
    org_service.require_area(actor, Area.errands)
    stmt = select(PostOffice).where(
        PostOffice.county_org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if county is not None:
        stmt = stmt.where(PostOffice.county_org_id == county.id)
    if upgraded is not None:
        stmt = stmt.where(PostOffice.upgraded == upgraded)
    if params.q:
        stmt = stmt.where(PostOffice.name.contains(params.q, autoescape=True)
                          | PostOffice.code.contains(params.q, autoescape=True)
                          | PostOffice.address.contains(params.q, autoescape=True))
    return paginate(db, stmt, params=params,
                    order=POST_OFFICES.order(params, default=[PostOffice.code]))


def office_row(office: PostOffice) -> dict[str, Any]:
    """An outlet as the CLI's JSON prints it (no personal data in it)."""
    return {"id": office.id, "code": office.code, "name": office.name,
            "county_code": office.county.code, "county_name": office.county.name,
            "address": office.address, "lat": office.lat, "lng": office.lng,
            "upgraded": office.upgraded,
            "upgraded_on": office.upgraded_on.isoformat() if office.upgraded_on else None,
            "departments": office.department_list, "item_codes": office.item_code_list}


def counties(db: Session, *, actor: Actor) -> list[Org]:
    """The counties (代办区域) the actor may see, for the page's filter."""
    return sorted((z.org for z in db.scalars(select(ErrandZone))
                   if org_service.can_see(db, actor=actor, org=z.org)), key=lambda o: o.code)


# ---------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Target:
    """One coverage figure against its target: value, target, and the denominator of a rate."""

    label: str
    value: float
    target: float
    denominator: int | None = None

    @property
    def met(self) -> bool:
        return self.value >= self.target


@dataclass(frozen=True)
class Coverage:
    outlets: int
    upgraded: int
    departments: int
    items: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.upgraded / self.outlets, 2) if self.outlets else None


def _coverage(offices: list[PostOffice], *, by: date | None = None) -> Coverage:
    done = [o for o in offices if o.upgraded and o.upgraded_on is not None
            and (by is None or o.upgraded_on <= by)]
    return Coverage(outlets=len(offices), upgraded=len(done),
                    departments=len({d for o in done for d in o.department_list}),
                    items=len({i for o in done for i in o.item_code_list}))


def coverage(db: Session, *, actor: Actor) -> tuple[Coverage, list[Target]]:
    """The coverage of the outlets the actor may see, and each figure against its target."""
    org_service.require_area(actor, Area.errands)
    offices = list(db.scalars(select(PostOffice).where(
        PostOffice.county_org_id.in_(org_service.visible_org_ids(db, actor=actor)))))
    found = _coverage(offices)
    s = get_settings()
    targets = [
        Target("已升级网点", found.upgraded, s.errand_postal_target_upgraded),
        Target("网点升级覆盖率(%)", found.rate or 0.0, s.errand_postal_target_rate, found.outlets),
        Target("可办部门", found.departments, s.errand_postal_target_departments),
        Target("可办事项", found.items, s.errand_postal_target_items),
    ]
    return found, targets


def metrics_by_county(db: Session, *, period: str) -> dict[int, dict[str, float]]:
    """Each county's coverage at the end of ``period`` (upgrades dated in or before it)."""
    end = first_day(next_period(period)).toordinal() - 1
    by = date.fromordinal(end)
    grouped: dict[int, list[PostOffice]] = {}
    for office in db.scalars(select(PostOffice)):
        grouped.setdefault(office.county_org_id, []).append(office)
    found: dict[int, dict[str, float]] = {}
    for county, offices in grouped.items():
        c = _coverage(offices, by=by)
        found[county] = {"postal_outlets": c.outlets, "postal_outlets_upgraded": c.upgraded,
                         "postal_departments": c.departments, "postal_items": c.items}
        if c.rate is not None:
            found[county]["postal_coverage_rate"] = c.rate
    return found


def record_metrics(db: Session, *, as_of: date) -> int:
    """Write last month's and this month's coverage of every county (idempotent); how many
    values were new or changed."""
    this_month = month_of(as_of)
    values = [MetricInput(period, county, name, float(value))
              for period in (previous_period(this_month), this_month)
              for county, numbers in metrics_by_county(db, period=period).items()
              for name, value in numbers.items()]
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values,
                                           source=OWNER)
