"""Scoring: one scheme × one cohort × one period → every org's points, total, rank and grade.

Pure functions over in-memory values, so that a full recomputation, a what-if and a test by
hand all go through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban.assessment.enums import Grade
from tongban.assessment.ranking import competition_rank, grade_of, leading_size
from tongban.assessment.rules import (
    CohortValues,
    CompiledIndicator,
    ItemResult,
    clamp,
    compile_indicator,
    score_indicators,
)
from tongban.assessment.scheme import SchemeDef
from tongban.core.numbers import precise


@dataclass(frozen=True)
class AppliedAdjustment:
    """An adjustment as a sheet saw it."""

    id: int
    points: float
    reason: str
    indicator_code: str | None = None
    source: str = "manual"
    source_ref: str = ""
    source_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "points": self.points, "reason": self.reason,
                "indicator": self.indicator_code, "source": self.source,
                "source_ref": self.source_ref, "source_url": self.source_url}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppliedAdjustment:
        return cls(id=int(data["id"]), points=float(data["points"]), reason=str(data["reason"]),
                   indicator_code=data.get("indicator"), source=str(data.get("source", "")),
                   source_ref=str(data.get("source_ref", "")),
                   source_url=str(data.get("source_url", "")))


@dataclass
class OrgScore:
    """One org's result before it is stored as a ``ScoreLine``.

    ``points`` has every indicator's points; ``special`` the full result of the items that are
    more than a number, and ``explained`` the rank and cohort size of rank-based items (see
    :class:`rules.IndicatorColumn`); ``inputs`` the org's metric values.
    """

    org_id: int
    points: dict[str, float]
    special: dict[str, ItemResult]
    explained: dict[str, list[float]]
    inputs: Mapping[str, float]
    adjustments: list[AppliedAdjustment]
    indicator_total: float
    adjustment_total: float
    total: float
    rank: int = 0
    grade: Grade = Grade.fair
    leading: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{code}：{item.error}" for code, item in self.special.items() if item.error]

    def stored_items(self) -> dict[str, Any]:
        """The line's ``items`` column: bare points, ``[points, rank, of]`` for rank-based
        items, whole special items, and the inputs once (read back by ``rules.stored_item``)."""
        items: dict[str, Any] = dict(self.points)
        for code, extra in self.explained.items():
            items[code] = [items[code], *extra]
        for code, item in self.special.items():
            items[code] = item.as_dict()
        items["_inputs"] = dict(self.inputs)
        if self.notes:
            items["_notes"] = {"notes": self.notes}
        return items


def _rescaled(raw: float, excluded_max: float, full: float) -> tuple[float, str]:
    """The points of the counted indicators, rescaled to the full total when some are excluded."""
    if excluded_max and full > excluded_max:
        scaled = raw * full / (full - excluded_max)
        return round(scaled, 4), (
            f"{precise(excluded_max)} 分的指标不参与考核，其余指标得分 {precise(round(raw, 4))} "
            f"按 {precise(full)}/{precise(full - excluded_max)} 折算为 {precise(round(scaled, 4))}"
        )
    return round(raw, 4), ""


def indicator_total(scheme: SchemeDef, items: Mapping[str, ItemResult]) -> tuple[float, str]:
    """Sum of points; when indicators are excluded, the rest is rescaled to the full total."""
    raw = sum(item.points for item in items.values() if not item.excluded)
    excluded_max = sum(item.max_points for item in items.values() if item.excluded)
    return _rescaled(raw, excluded_max, sum(item.max_points for item in items.values()))


_COMPILED: dict[int, tuple[SchemeDef, list[CompiledIndicator]]] = {}


def compile_scheme(scheme: SchemeDef) -> list[CompiledIndicator]:
    """Every indicator with its metric names and scorer resolved once per scheme object.

    A scheme definition is immutable and kept by ``service.scheme_definition`` for its content
    hash, so a year of sheets compiles it once; the cache holds the last few.
    """
    cached = _COMPILED.get(id(scheme))
    if cached is not None and cached[0] is scheme:
        return cached[1]
    compiled = [compile_indicator(indicator) for _category, indicator in scheme.indicators()]
    if len(_COMPILED) >= 16:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(scheme)] = (scheme, compiled)
    return compiled


def set_item_points(item: ItemResult, points: float) -> ItemResult:
    """The item as if it had scored ``points`` (clamped), for what-if analysis."""
    return ItemResult(clamp(points, item.max_points), item.max_points, item.inputs, "set",
                      precise(item.points))


def rank_and_grade(scheme: SchemeDef, scores: list[OrgScore]) -> list[OrgScore]:
    """Competition ranks by total at the scheme's decimals; grades; the leading group."""
    ranks = competition_rank({s.org_id: s.total for s in scores}, decimals=scheme.decimals)
    count = len(scores)
    leading = leading_size(count=count, leading=scheme.leading_group)
    for score in scores:
        score.rank = ranks[score.org_id]
        score.grade = grade_of(rank=score.rank, total=score.total, count=count,
                               grading=scheme.grading)
        score.leading = score.rank <= leading
    return sorted(scores, key=lambda s: (s.rank, s.org_id))


def score_cohort(
    scheme: SchemeDef,
    org_ids: list[int],
    values: Mapping[int, Mapping[str, float]],
    adjustments: Mapping[int, list[AppliedAdjustment]],
) -> list[OrgScore]:
    """The whole cohort, ranked; each indicator is scored for all orgs at once."""
    cohort = CohortValues({org_id: values.get(org_id, {}) for org_id in org_ids})
    compiled = compile_scheme(scheme)
    columns = score_indicators(compiled, org_ids, cohort)
    codes = [ci.code for ci in compiled]
    full = sum(ci.max_points for ci in compiled)
    special: dict[int, dict[str, ItemResult]] = {j: {} for j in range(len(org_ids))}
    explained: dict[int, dict[str, list[float]]] = {j: {} for j in range(len(org_ids))}
    for column in columns:
        for j, item in column.special.items():
            special[j][column.code] = item
        if column.extra is not None:
            for j, extra in enumerate(column.extra):
                if j not in column.special:
                    explained[j][column.code] = extra
    scores = []
    for j, row in enumerate(zip(*(column.points for column in columns), strict=True)):
        org_id = org_ids[j]
        own = special[j]
        excluded = [item for item in own.values() if item.excluded]
        subtotal, scale_note = _rescaled(sum(row), sum(i.max_points for i in excluded), full)
        applied = adjustments.get(org_id, [])
        adjustment_total = round(sum(a.points for a in applied), 4)
        scores.append(OrgScore(
            org_id=org_id, points=dict(zip(codes, row, strict=True)), special=own,
            explained=explained[j],
            inputs=cohort.values[org_id], adjustments=applied, indicator_total=subtotal,
            adjustment_total=adjustment_total, total=round(subtotal + adjustment_total, 4),
            notes=[scale_note] if scale_note else []))
    return rank_and_grade(scheme, scores)
