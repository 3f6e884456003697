"""Analysis of score sheets: trends, gaps, points lost, distance to a rank, what-if, alerts.

Reads sheets only. A what-if starts from the numbers stored on the sheet (not from metric
values that may have changed since), changes one org, and leaves every other org as it was.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tongban.assessment import service
from tongban.assessment.enums import Grade, SheetStatus
from tongban.assessment.explain import describe
from tongban.assessment.ranking import competition_rank
from tongban.assessment.rules import (
    CohortValues,
    ItemResult,
    score_indicator,
)
from tongban.assessment.scoring import indicator_total, set_item_points
from tongban.assessment.service import SheetRow, SheetView
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, NotFound
from tongban.core.numbers import precise
from tongban.core.periods import period_label
from tongban.core.security import Actor
from tongban.org import service as org_service

# ---------------------------------------------------------------- trend


@dataclass(frozen=True)
class TrendPoint:
    period: str
    total: float
    rank: int
    of: int
    grade: Grade
    rank_change: int | None  # positive: rose by that many places
    status: str

    @property
    def draft(self) -> bool:
        return self.status == SheetStatus.draft.value


def trend(db: Session, *, actor: Actor, cohort_code: str, org_ref: str) -> list[TrendPoint]:
    """The org's total, rank and grade in every month that has a sheet (``status`` says
    which are drafts); a month's rank change is against the previous month's published sheet."""
    cohort = service.get_cohort(db, code=cohort_code)
    org = org_service.resolve_org(db, ref=org_ref, actor=actor)
    points: list[TrendPoint] = []
    previous_rank: int | None = None
    for sheet in service.sheets_of(db, cohort=cohort, actor=actor):
        line = next((ln for ln in sheet.lines if ln.org_id == org.id), None)
        if line is None:
            previous_rank = None
            continue
        change = previous_rank - line.rank if previous_rank is not None else None
        points.append(TrendPoint(sheet.period, line.total, line.rank, len(sheet.lines),
                                 Grade(line.grade), change, sheet.status))
        # a draft is shown (marked) but never the base of the next month's 较上月
        previous_rank = line.rank if sheet.status == SheetStatus.published.value else None
    return points


# ---------------------------------------------------------------- gaps


@dataclass(frozen=True)
class IndicatorGap:
    """One indicator of one org against the cohort."""

    code: str
    name: str
    category: str
    points: float
    max_points: float
    lost: float
    leader_points: float
    median_points: float
    gap_to_leader: float
    gap_to_median: float
    place: int
    at_bottom: bool
    note: str
    excluded: bool


@dataclass(frozen=True)
class Standing:
    """One indicator across a sheet's cohort: every org's points, the leader, the median,
    the bottom and each org's place (computed once per sheet, read for every org)."""

    points: dict[int, float]
    leader: float
    median: float
    bottom: float
    at_bottom_count: int
    places: dict[int, int]


def standings(view: SheetView) -> dict[str, Standing]:
    """Each indicator's :class:`Standing` on ``view`` (pass it to :func:`indicator_gaps` when
    reading many orgs of one sheet: the cohort is ranked once per indicator, not per org)."""
    out = {}
    for _, indicator in view.definition.indicators():
        points = {other.org_id: p for other in view.rows
                  if (p := other.points(indicator.code)) is not None}
        bottom = min(points.values(), default=0.0)
        out[indicator.code] = Standing(
            points=points, leader=max(points.values(), default=0.0),
            median=statistics.median(points.values()) if points else 0.0, bottom=bottom,
            at_bottom_count=sum(1 for v in points.values() if round(v, 4) == round(bottom, 4)),
            places=competition_rank(points, decimals=4))
    return out


def indicator_gaps(view: SheetView, row: SheetRow,
                   standing: dict[str, Standing] | None = None) -> list[IndicatorGap]:
    """Per indicator: points, points lost, and the gap to the cohort's leader and median."""
    standing = standing if standing is not None else standings(view)
    gaps = []
    for category, indicator in view.definition.indicators():
        cohort = standing[indicator.code]
        stored = row.item(indicator) or ItemResult(0.0, indicator.max_points, {})
        own = stored.points
        compared = bool(cohort.points) and not stored.excluded
        leader, median, bottom = cohort.leader, cohort.median, cohort.bottom
        at_bottom = (
            row.org_id in cohort.points and round(own, 4) == round(bottom, 4)
            and round(bottom, 4) < round(leader, 4)
            and cohort.at_bottom_count <= max(1, len(cohort.points) // 4)
        )
        gaps.append(IndicatorGap(
            code=indicator.code, name=indicator.name, category=category.name, points=own,
            max_points=indicator.max_points, lost=stored.lost,
            leader_points=leader, median_points=round(median, 4),
            gap_to_leader=max(0.0, round(leader - own, 4)) if compared else 0.0,
            gap_to_median=round(median - own, 4) if compared else 0.0,
            place=cohort.places.get(row.org_id, len(cohort.points)), at_bottom=at_bottom,
            note=describe(indicator, stored.as_dict()), excluded=stored.excluded,
        ))
    return gaps


def points_lost(gaps: list[IndicatorGap]) -> list[IndicatorGap]:
    """Indicators where points were lost, largest first."""
    return sorted((g for g in gaps if g.lost > 0), key=lambda g: (-g.lost, g.code))


def points_to_rank(view: SheetView, row: SheetRow, target_rank: int) -> float:
    """Points the org needs to reach ``target_rank`` (ties share the higher place); 0 if there."""
    if target_rank < 1:
        raise DomainError("目标名次应不小于1")
    decimals = view.definition.decimals
    others = sorted((r.total for r in view.rows if r.org_id != row.org_id), reverse=True)
    if target_rank > len(others):
        return 0.0
    needed = round(others[target_rank - 1], decimals) - round(row.total, decimals)
    return max(0.0, round(needed, decimals))


# ---------------------------------------------------------------- what-if


@dataclass
class WhatIfResult:
    org_code: str
    org_name: str
    before_total: float
    before_rank: int
    after_total: float
    after_rank: int
    passes: list[str] = field(default_factory=list)
    falls_behind: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    #: What was entered but could not count as entered (points capped at the indicator's maximum).
    notes: list[str] = field(default_factory=list)


def _stored_values(view: SheetView) -> dict[int, dict[str, float]]:
    """The metric values each line was scored on, from the inputs kept in its items."""
    values: dict[int, dict[str, float]] = {}
    for row in view.rows:
        merged: dict[str, float] = dict(row.values)
        for code, item in row.stored.items():
            if code.startswith("_") or not isinstance(item, dict):
                continue
            for name, value in item.get("inputs", {}).items():
                if value is not None and name not in ("rank", "of"):
                    merged[name] = float(value)
        values[row.org_id] = merged
    return values


def row_of(db: Session, *, actor: Actor, view: SheetView, org_ref: str) -> SheetRow:
    """The row of the org ``org_ref`` names (code, name or id) on a sheet ``actor`` reads."""
    org = org_service.resolve_org(db, ref=org_ref, actor=actor)
    row = view.row_of(org.id)
    if row is None:
        raise NotFound(f"「{org.name}」不在{view.cohort_name}中")
    return row


def whatif(
    db: Session,
    *,
    actor: Actor,
    cohort_code: str,
    period: str,
    org_ref: str,
    drop_adjustments: list[int] | None = None,
    set_points: Mapping[str, float] | None = None,
    set_metrics: Mapping[str, float] | None = None,
    extra_points: float = 0.0,
) -> WhatIfResult:
    """The org's total and rank if an adjustment were dropped, an indicator's points set, a
    metric value set, or ``extra_points`` added (a deduction when negative); every other org
    keeps its total."""
    view = service.read_sheet(db, actor=actor, cohort_code=cohort_code, period=period)
    return whatif_on(view, row_of(db, actor=actor, view=view, org_ref=org_ref),
                     drop_adjustments=drop_adjustments, set_points=set_points,
                     set_metrics=set_metrics, extra_points=extra_points)


def whatif_on(
    view: SheetView,
    row: SheetRow,
    *,
    drop_adjustments: list[int] | None = None,
    set_points: Mapping[str, float] | None = None,
    set_metrics: Mapping[str, float] | None = None,
    extra_points: float = 0.0,
) -> WhatIfResult:
    """:func:`whatif` on a sheet already read."""
    definition = view.definition
    drop = set(drop_adjustments or [])
    unknown = drop - {a.id for a in row.adjustments}
    if unknown:
        raise NotFound(f"「{row.org_name}」本期没有编号为 {'、'.join(map(str, sorted(unknown)))} 的加扣分")
    for code in (set_points or {}):
        if definition.indicator(code) is None:
            raise NotFound(f"考核方案中没有指标「{code}」")
    metrics_known = definition.metrics()
    for name in (set_metrics or {}):
        if name not in metrics_known:
            raise NotFound(f"考核方案中没有用到数据项「{name}」")

    items: dict[str, ItemResult] = {
        i.code: item for _, i in definition.indicators() if (item := row.item(i)) is not None
    }
    changes: list[str] = []
    notes: list[str] = []
    if set_metrics:
        values = _stored_values(view)
        values[row.org_id] = {**values.get(row.org_id, {}), **set_metrics}
        cohort_values = CohortValues(values)
        for _category, indicator in definition.indicators():
            if set(indicator.metrics()) & set(set_metrics):
                items[indicator.code] = score_indicator(indicator, row.org_id, cohort_values)
        changes += [f"{name} 设为 {precise(v)}" for name, v in set_metrics.items()]
    for code, points in (set_points or {}).items():
        target = definition.indicator(code)
        assert target is not None
        items[code] = set_item_points(items[code], points)
        changes.append(f"{code} {target.name} 得分设为 {precise(items[code].points)}")
        if points > items[code].max_points:
            notes.append(f"{code} {target.name}：输入 {precise(points)} 分，"
                         f"已按该指标满分 {precise(items[code].max_points)} 分封顶")
        elif points < 0:
            notes.append(f"{code} {target.name}：输入 {precise(points)} 分，已按 0 分计")
    kept = [a for a in row.adjustments if a.id not in drop]
    changes += [f"去掉{'扣分' if a.points < 0 else '加分'} {precise(abs(a.points))}（{a.reason}）"
                for a in row.adjustments if a.id in drop]
    if extra_points:
        changes.append(f"{'扣' if extra_points < 0 else '加'} {precise(abs(extra_points))} 分")
    subtotal, _ = indicator_total(definition, items)
    after_total = round(subtotal + sum(a.points for a in kept) + extra_points, 4)

    after_rank = view.rank_with(row.org_id, after_total)
    d = definition.decimals
    before, after = round(row.total, d), round(after_total, d)
    result = WhatIfResult(row.org_code, row.org_name, row.total, row.rank, after_total,
                          after_rank, changes=changes, notes=notes)
    for other in view.rows:
        if other.org_id == row.org_id:
            continue
        theirs = round(other.total, d)
        if theirs >= before and theirs < after:
            result.passes.append(other.org_name)
        elif theirs <= before and theirs > after:
            result.falls_behind.append(other.org_name)
    return result


# ---------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    kind: str  # rank_drop | indicator_bottom | poor_twice
    org_code: str
    org_name: str
    message: str
    severity: float

    @property
    def label(self) -> str:
        return {"rank_drop": "排名下滑", "indicator_bottom": "指标垫底",
                "poor_twice": "连续两月为差"}[self.kind]


def alerts(db: Session, *, actor: Actor, cohort_code: str, period: str) -> list[Alert]:
    """Early warnings: a fall of N places, an indicator at the cohort's bottom, 差 twice running."""
    view = service.read_sheet(db, actor=actor, cohort_code=cohort_code, period=period)
    threshold = get_settings().alert_rank_drop
    out: list[Alert] = []
    label = period_label(period)
    standing = standings(view)
    for row in view.shown:
        name, code = row.org_name, row.org_code
        earlier = row.previous_rank
        if earlier is not None and row.rank - earlier >= threshold:
            out.append(Alert("rank_drop", code, name,
                             f"{name}{label}排第{row.rank}名，比上月（第{earlier}名）"
                             f"下降{row.rank - earlier}位", float(row.rank - earlier)))
        if row.grade == Grade.poor and row.previous_grade == Grade.poor:
            out.append(Alert("poor_twice", code, name,
                             f"{name}连续两个月等次为「差」，须说明整改情况", 100.0))
        for gap in indicator_gaps(view, row, standing):
            if gap.at_bottom:
                out.append(Alert("indicator_bottom", code, name,
                                 f"{name}「{gap.name}」得 {precise(gap.points)} 分（满分 "
                                 f"{precise(gap.max_points)}），在{view.cohort_name}中垫底，"
                                 f"比中位数低 {precise(gap.gap_to_median)} 分", gap.gap_to_median))
    return sorted(out, key=lambda a: -a.severity)
