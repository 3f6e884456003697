"""办事指南体检 (the guide self-check): the home city's latest catalog snapshot read against
rules, before the province's scan finds the same.

The rules are data (``GuideRule``; which run is ``TONGBAN_BENCHMARK_GUIDE_RULES``, the
elements a guide must fill ``TONGBAN_BENCHMARK_GUIDE_ELEMENTS``). A run lists anomalies per
item and department, the items whose 差评 carry the guide tags (指南外材料, 指南外条件), and the
points at risk under the guide indicator; on request it opens one rectification task per
department (category 异常办事指南, a line per item) through the rectification service, never
a second while the first is open.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.benchmark import service
from tongban.benchmark.enums import GuideRule, Requirement
from tongban.benchmark.importer import (
    ITEM_COLUMNS,
    latest_snapshot,
    list_materials,
    material_name,
)
from tongban.benchmark.models import CatalogSnapshot, SnapshotItem
from tongban.core import audit, workdays
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, permitted
from tongban.core.numbers import time_limit
from tongban.core.periods import period_label
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.enums import AliasKind
from tongban.org.models import Org
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource, TaskWork
from tongban.reviews import service as reviews

#: The rectification category of the tasks a run opens.
TASK_CATEGORY = "异常办事指南"
NO_DEPARTMENT = "（未注明）"

_PHONE = re.compile(r"0\d{9,11}|1[3-9]\d{9}|12\d{3}|[48]00\d{7}")
_PHONE_SPLIT = re.compile(r"[;；,，、/]|或")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?).*$", re.IGNORECASE)
_LABEL = re.compile(r"^[^\d]*[:：]")


def phone_is_valid(text: str) -> bool:
    """A phone field holds only valid numbers (several separated by ；、，/ or 或): a fixed
    line with its area code (0827-5261234, （028）12345678), a mobile (13800138000), a
    service number (12345) or a 400/800 number; an extension (转123) is allowed."""
    parts = [p for p in _PHONE_SPLIT.split(unicodedata.normalize("NFKC", text)) if p.strip()]
    if not parts:
        return False
    for part in parts:
        number = _LABEL.sub("", _EXTENSION.sub("", part.strip()))
        number = re.sub(r"[\s()\-—－]", "", number)
        if not _PHONE.fullmatch(number):
            return False
    return True


def guide_rules() -> list[GuideRule]:
    """The rules that run (the setting), or a DomainError naming an unknown one."""
    chosen = get_settings().benchmark_guide_rule_list
    unknown = [r for r in chosen if r not in GuideRule._value2member_map_]
    if unknown:
        raise DomainError(f"TONGBAN_BENCHMARK_GUIDE_RULES 中有未知的规则：{'、'.join(unknown)}；"
                          f"可用的规则：{'、'.join(r.value for r in GuideRule)}")
    return [GuideRule(r) for r in chosen]


def guide_elements() -> dict[str, str]:
    """The elements a guide must fill, header → item attribute (the setting)."""
    chosen = get_settings().benchmark_guide_element_list
    unknown = [e for e in chosen if e not in ITEM_COLUMNS or ITEM_COLUMNS[e] == "name"]
    if unknown:
        raise DomainError(f"TONGBAN_BENCHMARK_GUIDE_ELEMENTS 中有无法检查的要素：{'、'.join(unknown)}")
    return {e: ITEM_COLUMNS[e] for e in chosen}


@dataclass(frozen=True)
class Anomaly:
    """One rule an item's guide breaks."""

    item_key: str
    item: str
    code: str
    department: str
    rule: GuideRule
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "code": self.code, "department": self.department,
                "rule": self.rule.value, "rule_label": self.rule.label, "detail": self.detail}


@dataclass
class GuideRisk:
    """Points at risk under the guide indicator: each item with an anomaly costs
    ``points_each``, at most the indicator's points on the city's latest sheet."""

    indicator: str
    indicator_name: str
    items: int
    points_each: float
    at_risk: float
    basis: str = ""
    current_points: float | None = None
    current_rank: int | None = None
    projected_rank: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ItemFinding:
    """An item with what the check found: its anomalies and its 差评 carrying guide tags."""

    key: str
    item: str
    code: str
    department: str
    anomalies: list[Anomaly] = field(default_factory=list)
    review_tags: dict[str, int] = field(default_factory=dict)


@dataclass
class GuideCheck:
    """A run of the check over the city's latest snapshot."""

    city: Org
    snapshot: CatalogSnapshot | None
    rules: list[GuideRule]
    items_checked: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    findings: list[ItemFinding] = field(default_factory=list)
    list_items: int = 0
    risk: GuideRisk | None = None

    def by_department(self) -> list[tuple[str, list[ItemFinding]]]:
        """The findings per 实施部门, departments with most anomalous items first."""
        per: dict[str, list[ItemFinding]] = defaultdict(list)
        for finding in self.findings:
            per[finding.department or NO_DEPARTMENT].append(finding)
        return sorted(per.items(), key=lambda kv: (-sum(1 for f in kv[1] if f.anomalies), kv[0]))

    @property
    def anomalous_items(self) -> int:
        return sum(1 for f in self.findings if f.anomalies)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _list_by_item(db: Session, city: Org) -> dict[str, dict[str, str]]:
    """The city's 实施清单: item ref → normalised material name → requirement."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for material in list_materials(db, org=city):
        found[material.item][material_name(material.name)] = material.requirement
    return found


def _item_anomalies(item: SnapshotItem, rules: list[GuideRule], elements: dict[str, str],
                    listed: dict[str, str] | None) -> list[tuple[GuideRule, str]]:
    found: list[tuple[GuideRule, str]] = []
    if GuideRule.missing_element in rules:
        missing = [label for label, column in elements.items() if _blank(getattr(item, column))]
        if missing:
            found.append((GuideRule.missing_element, f"缺少：{'、'.join(missing)}"))
    if (GuideRule.promised_over_legal in rules and item.promised_days is not None
            and item.legal_days is not None and item.promised_days > item.legal_days):
        found.append((GuideRule.promised_over_legal,
                      f"承诺{time_limit(item.promised_days)}，法定{time_limit(item.legal_days)}"))
    if (GuideRule.instant_visits in rules and item.promised_days == 0
            and item.visits is not None and item.visits > 1):
        found.append((GuideRule.instant_visits, f"即办件跑动{item.visits}次"))
    by_name: dict[str, list[str]] = defaultdict(list)
    for material in item.materials:
        by_name[material_name(material.name)].append(material.requirement)
    written = {material_name(m.name): m.name for m in item.materials}
    if GuideRule.duplicate_material in rules:
        twice = [written[n] for n, marks in by_name.items() if len(marks) > 1]
        if twice:
            found.append((GuideRule.duplicate_material, f"重复列出：{'、'.join(twice)}"))
    if GuideRule.conflicting_material in rules:
        both = [written[n] for n, marks in by_name.items()
                if Requirement.required.value in marks and len(set(marks)) > 1]
        if both:
            found.append((GuideRule.conflicting_material, f"既必需又非必需：{'、'.join(both)}"))
    if GuideRule.bad_phone in rules:
        bad = [f"{label}「{value[:30]}」" for label, value in (
            ("咨询电话", item.consult_phone), ("监督电话", item.supervise_phone))
            if value.strip() and not phone_is_valid(value)]
        if bad:
            found.append((GuideRule.bad_phone, f"不是有效号码：{'、'.join(bad)}"))
    if GuideRule.list_mismatch in rules and listed is not None:
        ours = {n: marks[0] for n, marks in by_name.items()}
        extra = sorted(set(ours) - set(listed))
        lacking = sorted(set(listed) - set(ours))
        differ = sorted(n for n in set(ours) & set(listed)
                        if (ours[n] == Requirement.required.value)
                        != (listed[n] == Requirement.required.value))
        parts = ([f"清单外：{'、'.join(extra)}"] if extra else []) \
            + ([f"指南缺：{'、'.join(lacking)}"] if lacking else []) \
            + ([f"必需与否不同：{'、'.join(differ)}"] if differ else [])
        if parts:
            found.append((GuideRule.list_mismatch, "；".join(parts)))
    return found


def _risk(db: Session, actor: Actor, city: Org, items: int) -> GuideRisk:
    settings = get_settings()
    code, each = settings.benchmark_guide_indicator, settings.benchmark_guide_points_each
    risk = GuideRisk(indicator=code, indicator_name="", items=items, points_each=each,
                     at_risk=round(items * each, 4))
    view = assessment.latest_view_of(db, actor=actor, org=city)
    row = None if view is None else view.row_of(city.id)
    if view is None or row is None:
        return risk
    indicator = next((i for _, i in view.definition.indicators() if i.code == code), None)
    if indicator is None:
        return risk
    current = row.points(code)
    risk.indicator_name = indicator.name
    risk.current_points = current
    risk.at_risk = round(min(items * each, current if current is not None
                             else indicator.max_points), 4)
    risk.basis = f"{view.cohort_name}{period_label(view.period)}成绩单"
    projected = assessment.project_losses(db, actor=actor,
                                          losses=[(city, risk.at_risk, view.scheme_code)])[0]
    if projected is not None:
        risk.basis = projected.basis
        risk.current_rank, risk.projected_rank = projected.current_rank, projected.projected_rank
    return risk


def check_guides(db: Session, *, actor: Actor, city: Org | None = None) -> GuideCheck:
    """Run the check over ``city``'s (the home city's) latest snapshot."""
    service.require_benchmark(actor)
    city = city or service.home_city(db)
    rules, elements = guide_rules(), guide_elements()
    snapshot = latest_snapshot(db, org=city)
    result = GuideCheck(city=city, snapshot=snapshot, rules=rules)
    if snapshot is None:
        return result
    items = list(db.scalars(select(SnapshotItem).where(SnapshotItem.snapshot_id == snapshot.id)
                            .order_by(SnapshotItem.department, SnapshotItem.id)))
    result.items_checked = len(items)
    filled = {label: column for label, column in elements.items()
              if any(not _blank(getattr(i, column)) for i in items)}
    result.not_checked = [label for label in elements if label not in filled]
    listed = _list_by_item(db, city) if GuideRule.list_mismatch in rules else {}
    tagged = reviews.tagged_negative_items(
        db, actor=actor, tags=get_settings().benchmark_guide_review_tag_list)
    for item in items:
        in_list = listed.get(item.impl_code) if item.impl_code else None
        if in_list is None:
            in_list = listed.get(item.name)
        result.list_items += in_list is not None
        finding = ItemFinding(item.key, item.name, item.impl_code, item.department)
        for rule, detail in _item_anomalies(item, rules, filled, in_list):
            anomaly = Anomaly(item.key, item.name, item.impl_code, item.department, rule, detail)
            finding.anomalies.append(anomaly)
            result.anomalies.append(anomaly)
        for code in {item.impl_code, item.base_code, item.align_code} - {""}:
            for tag, count in tagged.get(code, {}).items():
                finding.review_tags[tag] = finding.review_tags.get(tag, 0) + count
        if finding.anomalies or finding.review_tags:
            result.findings.append(finding)
    result.risk = _risk(db, actor, city, result.anomalous_items)
    return result


def allowed_guide_actions(db: Session, *, actor: Actor) -> frozenset[str]:
    """``open_tasks`` when ``actor`` may open the departments' rectification tasks."""
    return permitted(["open_tasks"], lambda _: _check_open(db, actor))


def _check_open(db: Session, actor: Actor) -> None:
    service.require_benchmark(actor)
    rectification.require_allowed(db, actor=actor, action=TaskWork.issue)


@dataclass
class OpenedTask:
    department: str
    task_id: int | None  # None: the 实施部门 maps to no org
    items: int
    new: bool


def task_key(city: Org, department: Org) -> str:
    return f"guide-check:{city.code}:{department.code}"


@audit.action({"benchmark.guide_tasks_opened": "开具异常办事指南整改任务"})
def open_guide_tasks(db: Session, *, actor: Actor, check: GuideCheck) -> list[OpenedTask]:
    """One rectification task per department with anomalies (a line per item); a department
    whose task from an earlier run is still open gets none, unmapped 实施部门 none either."""
    _check_open(db, actor)
    depts = service.department_org_ids(db, city=check.city)
    orgs = {o.id: o for o in service.department_orgs(db, city=check.city)}
    today = local_today()
    try:
        due: date = workdays.add_workdays(
            today, get_settings().benchmark_guide_task_workdays, db=db)
    except workdays.UnknownCalendarYear:
        due = today + timedelta(days=7)
    opened: list[OpenedTask] = []
    for department, findings in check.by_department():
        anomalous = [f for f in findings if f.anomalies]
        if not anomalous:
            continue
        org = orgs.get(depts.get(department, -1)) if department != NO_DEPARTMENT else None
        if org is None:
            opened.append(OpenedTask(department, None, len(anomalous), False))
            continue
        key = task_key(check.city, org)
        existing = rectification.open_task_with_key(db, import_key=key)
        if existing is not None:
            opened.append(OpenedTask(department, existing.id, len(anomalous), False))
            continue
        task = rectification.create_task(
            db, actor=actor, source=TaskSource.city_inspection, category=TASK_CATEGORY,
            title=f"{org.name}异常办事指南整改（办事指南体检）", org=org, issued_on=today,
            due_on=due, import_key=key,
            detail=f"办事指南体检发现{len(anomalous)}个事项的办事指南异常，请按实施规范修改后重新发布。",
            lines=[rectification.LineInput(f.code, f.item, "；".join(
                f"{a.rule.label}：{a.detail}" for a in f.anomalies)) for f in anomalous])
        opened.append(OpenedTask(department, task.id, len(anomalous), True))
    org_service.note_unmapped(db, actor=actor, kind=AliasKind.dept_name, source="办事指南体检",
                              city=check.city, values={o.department for o in opened
                                                       if o.task_id is None
                                                       and o.department != NO_DEPARTMENT})
    new = [o for o in opened if o.new]
    if new:
        audit.record(db, actor=actor, action="benchmark.guide_tasks_opened",
                     object_type="benchmark_snapshot",
                     object_id=check.snapshot.id if check.snapshot else "",
                     changes={"city": check.city.name, "tasks": [o.task_id for o in new],
                              "items": sum(o.items for o in new)})
    return opened


def check_as_dict(check: GuideCheck) -> dict[str, Any]:
    """The run as the CLI and the API answer it."""
    return {
        "city": check.city.name,
        "snapshot": None if check.snapshot is None else {
            "id": check.snapshot.id, "date": check.snapshot.as_of.isoformat()},
        "items_checked": check.items_checked,
        "rules": [r.value for r in check.rules],
        "not_checked": check.not_checked,
        "anomalies": [a.as_dict() for a in check.anomalies],
        "by_department": {department: {
            "items": sum(1 for f in findings if f.anomalies),
            "anomalies": sum(len(f.anomalies) for f in findings)}
            for department, findings in check.by_department()},
        "reviews": [{"item": f.item, "code": f.code, "department": f.department,
                     "tags": f.review_tags} for f in check.findings if f.review_tags],
        "list_items": check.list_items,
        "risk": None if check.risk is None else check.risk.as_dict(),
    }
