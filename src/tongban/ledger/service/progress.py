"""Figures imported per month (办件量 for 落地率, an indicator's values), where each org stands
(``status``: total, done, not applicable, open, rates), a county's townships rolled up for the
board, and the monthly metric values the type declares."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, ErrorGroups, RowError, ValidationFailed
from tongban.core.periods import check_period, month_of, previous_period
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.core.tabular import ImportCounts, cell_number, cell_text, open_table
from tongban.core.workdays import local_today
from tongban.ledger.enums import FigureKind, StatusKind
from tongban.ledger.metrics import OWNER
from tongban.ledger.models import LedgerEntry, LedgerFigure, LedgerItem
from tongban.ledger.service.entries import (
    active_items,
    applies,
    required_orgs,
    visible_required,
)
from tongban.ledger.service.records import org_records
from tongban.ledger.service.types import current_type, require_editor
from tongban.ledger.spec import LedgerSpec
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org

FIGURE_COLUMNS = {FigureKind.cases: {"单位": "org", "事项编码": "item", "办件量": "value"},
                  FigureKind.amount: {"单位": "org", "事项编码": "item", "数值": "value"}}


@audit.action({"ledger.figures_imported": "导入台账月度数据"})
def import_figures(db: Session, *, actor: Actor, type_code: str, kind: FigureKind, period: str,
                   source: Path | IO[bytes], filename: str = "") -> ImportCounts:
    """One month's figures (单位, 事项编码, 办件量 or 数值), all or nothing; the same file
    again changes nothing."""
    require_editor(actor, "导入台账月度数据")
    _, spec = current_type(db, actor=actor, code=type_code)
    period = check_period(period)
    if kind.value not in spec.figures:
        raise DomainError(f"台账「{spec.name}」不导入{kind.label}")
    columns = FIGURE_COLUMNS[kind]
    table = open_table(source, filename=Path(filename or getattr(source, "name", "数据文件")).name,
                       aliases=columns)
    name = table.filename
    missing = [c for c, k in columns.items() if k not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    value_column = next(c for c, k in columns.items() if k == "value")
    rules = {org.id: categories for org, categories in required_orgs(db, spec=spec)}
    items = {i.code: i for i in active_items(db, spec=spec)}
    orgs: dict[str, Org | str] = {}
    errors = ErrorGroups(file=name)
    found: dict[tuple[int, int], tuple[int, float]] = {}
    for row, cells in table.rows:
        text = {k: cell_text(cells.get(k)) for k in columns.values()}
        problems: list[tuple[str, str]] = []
        if text["org"] not in orgs:
            try:
                orgs[text["org"]] = org_service.resolve_org(db, ref=text["org"])
            except DomainError as exc:
                orgs[text["org"]] = exc.message
        org = orgs[text["org"]]
        if isinstance(org, str):
            problems.append(("单位", org))
        elif org.id not in rules:
            problems.append(("单位", f"「{org.name}」不在台账「{spec.name}」的填报单位中"))
        item = items.get(text["item"])
        if item is None:
            problems.append(("事项编码", f"台账中没有事项「{text['item'][:30]}」"))
        elif isinstance(org, Org) and org.id in rules and not applies(item, org, rules[org.id]):
            problems.append(("事项编码", f"事项「{item.code}」不由「{org.name}」承接"))
        value = cell_number(cells.get("value"))
        if value is None or value < 0 or (kind is FigureKind.cases and value != int(value)):
            problems.append((value_column, f"「{text['value'][:20]}」应为不小于0的"
                                           f"{'整数' if kind is FigureKind.cases else '数'}"))
        if not problems and isinstance(org, Org) and item is not None and value is not None:
            first = found.get((org.id, item.id))
            if first is not None and first[1] != value:
                problems.append(("事项编码", f"与第{first[0]}行是同一单位的同一事项，{value_column}不同"))
            else:
                found[(org.id, item.id)] = (row, value)
        for column, why in problems:
            errors.append(RowError(row, column, why, name))
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入任何数据")
    if not found:
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有数据", name)],
                               summary="数据文件为空，未导入")
    counts = ImportCounts()
    known = {(f.org_id, f.item_id): f for f in db.scalars(select(LedgerFigure).where(
        LedgerFigure.type_code == spec.code, LedgerFigure.period == period,
        LedgerFigure.kind == kind.value))}
    for (org_id, item_id), (_, value) in found.items():
        figure = known.get((org_id, item_id))
        if figure is None:
            db.add(LedgerFigure(type_code=spec.code, item_id=item_id, org_id=org_id,
                                period=period, kind=kind.value, value=value))
            counts.added += 1
        elif figure.value == value:
            counts.unchanged += 1
        else:
            figure.value = value
            counts.changed += 1
    db.flush()
    if counts.added or counts.changed:
        audit.record(db, actor=actor, action="ledger.figures_imported",
                     object_type="ledger_figure", object_id=f"{spec.code}/{period}/{name}"[:128],
                     changes=counts.as_dict())
    return counts


# ---------------------------------------------------------------- status


@dataclass
class OrgStatus:
    """Where one org (or a county's townships together) stands on a ledger."""

    org: Org
    total: int = 0
    done: int = 0
    not_applicable: int = 0
    landed: int = 0
    orgs: int = 1
    #: orgs with their 权责清单 compiled, and staff who passed the law-enforcement exam
    lists: int = 0
    qualified: int = 0

    @property
    def open(self) -> int:
        return self.total - self.done - self.not_applicable

    @property
    def applicable(self) -> int:
        return self.total - self.not_applicable

    @property
    def rate(self) -> float | None:
        """done ÷ (total − not applicable); None without anything to do."""
        return round(self.done / self.applicable, 4) if self.applicable else None

    @property
    def landing_rate(self) -> float | None:
        """landed ÷ done; None before anything is done."""
        return round(self.landed / self.done, 4) if self.done else None

    def add(self, other: OrgStatus) -> None:
        self.total += other.total
        self.done += other.done
        self.not_applicable += other.not_applicable
        self.landed += other.landed
        self.lists += other.lists
        self.qualified += other.qualified

    def as_dict(self) -> dict[str, object]:
        return {"org": self.org.name, "total": self.total, "done": self.done,
                "not_applicable": self.not_applicable, "open": self.open, "rate": self.rate,
                "landed": self.landed, "landing_rate": self.landing_rate}


def _statuses(db: Session, spec: LedgerSpec, orgs: list[tuple[Org, list[str]]],
              period: str | None) -> list[OrgStatus]:
    items = active_items(db, spec=spec)
    ids = [org.id for org, _ in orgs]
    kinds = {s.code: s.kind for s in spec.statuses}
    counted: dict[tuple[int, str], int] = {}
    landed: dict[int, int] = defaultdict(int)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for org_id, state, n in db.execute(
                select(LedgerEntry.org_id, LedgerEntry.state, func.count())
                .join(LedgerItem, LedgerItem.id == LedgerEntry.item_id)
                .where(LedgerEntry.type_code == spec.code, LedgerEntry.org_id.in_(part),
                       LedgerItem.is_active.is_(True))
                .group_by(LedgerEntry.org_id, LedgerEntry.state)):
            counted[(org_id, state)] = n
        if period is not None and "cases" in spec.figures:
            done = [code for code, kind in kinds.items() if kind is StatusKind.done]
            for org_id, n in db.execute(
                    select(LedgerEntry.org_id, func.count())
                    .join(LedgerItem, LedgerItem.id == LedgerEntry.item_id)
                    .join(LedgerFigure, (LedgerFigure.item_id == LedgerEntry.item_id)
                          & (LedgerFigure.org_id == LedgerEntry.org_id))
                    .where(LedgerEntry.type_code == spec.code, LedgerEntry.org_id.in_(part),
                           LedgerEntry.state.in_(done), LedgerItem.is_active.is_(True),
                           LedgerFigure.period == period,
                           LedgerFigure.kind == FigureKind.cases.value, LedgerFigure.value > 0)
                    .group_by(LedgerEntry.org_id)):
                landed[org_id] = n
    records = org_records(db, spec=spec, org_ids=ids)
    out = []
    for org, categories in orgs:
        total = sum(1 for item in items if applies(item, org, categories))
        if total == 0:
            continue
        compiled, qualified = records.get(org.id, (False, 0))
        found = OrgStatus(org, total=total, landed=landed[org.id], lists=int(compiled),
                          qualified=qualified)
        for (org_id, state), n in counted.items():
            if org_id != org.id:
                continue
            if kinds.get(state) is StatusKind.done:
                found.done += n
            elif kinds.get(state) is StatusKind.not_applicable:
                found.not_applicable += n
        out.append(found)
    return out


def status(db: Session, *, actor: Actor, type_code: str, org: Org | None = None,
           period: str | None = None) -> tuple[LedgerSpec, list[OrgStatus]]:
    """Each required org the actor sees (those below ``org``, or ``org`` itself) and where it
    stands; ``landed`` counts the done items with at least one case in ``period`` (by default
    the last month that is over)."""
    _, spec = current_type(db, actor=actor, code=type_code)
    if org is not None:
        org_service.ensure_visible(db, actor=actor, org=org)
    period = check_period(period) if period else previous_period(month_of(local_today()))
    return spec, _statuses(db, spec, visible_required(db, actor=actor, spec=spec, under=org),
                           period)


def board(db: Session, *, actor: Actor, type_code: str, under: Org | None = None,
          period: str | None = None) -> tuple[LedgerSpec, list[OrgStatus], OrgStatus | None]:
    """The board's rows: below ``under``, each org; at the top, a county's townships rolled
    up into one row per county (drill down to them), other orgs as they are; and the total."""
    spec, rows = status(db, actor=actor, type_code=type_code, org=under, period=period)
    if under is None:
        grouped: dict[int, OrgStatus] = {}
        for row in rows:
            parent = row.org.parent
            if row.org.level == OrgLevel.township.value and parent is not None:
                group = grouped.setdefault(parent.id, OrgStatus(parent, orgs=0))
                group.add(row)
                group.orgs += 1
            else:
                grouped[row.org.id] = row
        rows = list(grouped.values())
    if not rows:
        return spec, rows, None
    total = OrgStatus(under or rows[0].org, orgs=0)
    for row in rows:
        total.add(row)
        total.orgs += row.orgs
    return spec, rows, total


def status_dicts(rows: list[OrgStatus]) -> list[dict[str, object]]:
    """The rows as ``tongban ledger status --json`` prints them: an org by its name, or by
    ``县/名称`` where two orgs of the list share one (兴隆镇 of 通江县 and of 平昌县)."""
    names = Counter(row.org.name for row in rows)
    out = []
    for row in rows:
        shown = row.as_dict()
        if names[row.org.name] > 1 and row.org.parent is not None:
            shown["org"] = f"{row.org.parent.name}/{row.org.name}"
        out.append(shown)
    return out


# ---------------------------------------------------------------- metrics


def record_metrics(db: Session, *, period: str) -> int:
    """Write each type's declared metrics of ``period`` for its orgs and for the counties above
    its townships; how many values were new or changed."""
    from tongban.ledger.service.types import list_types

    values: list[MetricInput] = []
    for _, spec in list_types(db, actor=SYSTEM_ACTOR):
        if not spec.metrics:
            continue
        rows = _statuses(db, spec, required_orgs(db, spec=spec), check_period(period))
        counties: dict[int, OrgStatus] = {}
        for row in rows:
            parent = row.org.parent
            if row.org.level == OrgLevel.township.value and parent is not None:
                counties.setdefault(parent.id, OrgStatus(parent, orgs=0)).add(row)
        for row in [*rows, *counties.values()]:
            parts = {"applicable": row.applicable, "done": row.done, "landed": row.landed,
                     "target": spec.target or 0, "list_compiled": row.lists,
                     "qualified_staff": row.qualified}
            values += [MetricInput(period, row.org.id, code, float(parts[role]))
                       for role, code in spec.metrics.items() if role != "target"]
        if "target" in spec.metrics and spec.target is not None:
            city = org_service.resolve_org(db, ref=get_settings().city_code)
            done = sum(row.done for row in rows)
            values.append(MetricInput(period, city.id, spec.metrics["target"], float(spec.target)))
            if "done" in spec.metrics:
                values.append(MetricInput(period, city.id, spec.metrics["done"], float(done)))
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values, source=OWNER)


def city_count(db: Session, *, actor: Actor, type_code: str) -> tuple[int, int | None]:
    """How many items are done across the city, against the type's target (3 zones)."""
    spec, rows = status(db, actor=actor, type_code=type_code)
    return sum(r.done for r in rows), spec.target

