"""Scorers: one function per rule type, turning metric values into points.

Every scorer returns points clamped to [0, max], with the inputs and flags that
``explain.describe`` turns into a sentence. A missing metric is handled by the indicator's
policy (see ``enums.MissingPolicy``); formulas are evaluated by ``formula.SafeFormula``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tongban.assessment.enums import MissingPolicy
from tongban.assessment.formula import Array, FormulaError, Mask, SafeFormula
from tongban.assessment.scheme import (
    FormulaRule,
    GivenRule,
    IndicatorDef,
    PerEventDeductionRule,
    RankBasedRule,
    RatioRule,
    ThresholdRule,
)

Values = Mapping[str, float]


@dataclass(slots=True)
class ItemResult:
    """The points of one org on one indicator, and the inputs they came from.

    ``flag`` records why a rule did not run normally (a missing metric, a zero denominator, a
    formula error, a what-if setting); :func:`explain.describe` turns all of it into a sentence.
    """

    points: float
    max_points: float
    inputs: dict[str, float | None]
    flag: str | None = None
    detail: str = ""
    excluded: bool = False
    error: str | None = None

    @property
    def lost(self) -> float:
        return 0.0 if self.excluded else round(self.max_points - self.points, 4)

    def as_dict(self) -> dict[str, Any]:
        """The stored form: points and inputs, plus flags only when set."""
        data: dict[str, Any] = {"points": self.points, "inputs": self.inputs}
        if self.flag:
            data["flag"] = self.flag
        if self.detail:
            data["detail"] = self.detail
        if self.excluded:
            data["excluded"] = True
        if self.error:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_points: float) -> ItemResult:
        return cls(float(data["points"]), max_points, dict(data.get("inputs", {})),
                   flag=data.get("flag"), detail=str(data.get("detail", "")),
                   excluded=bool(data.get("excluded")), error=data.get("error"))


def clamp(points: float, max_points: float) -> float:
    """Points rounded to 4 places and held within [0, max] (rounding never exceeds max).

    Rounds as NumPy does (half to even at the 4th place of ``points × 10⁴``), so that scoring
    one org and scoring a cohort's arrays (:func:`clamp_many`) agree to the last bit.
    """
    scaled = points * 10000.0  # beyond ±1.8e304 this overflows; the bounds then decide alone
    if math.isfinite(scaled):
        points = round(scaled) / 10000.0
    return min(max(points, 0.0), max_points)


def clamp_many(points: Array, max_points: float | Array) -> Array:
    """:func:`clamp` for every element of ``points`` (finite ones)."""
    with np.errstate(over="ignore"):  # an overflow gives ±inf, which the bounds then clamp
        return np.minimum(np.maximum(np.rint(points * 10000.0) / 10000.0, 0.0), max_points)


# ---------------------------------------------------------------- scorers


@dataclass
class CohortValues:
    """The metric values of every org in the cohort, for rules that compare orgs."""

    values: Mapping[int, Values]
    _rank_cache: dict[str, dict[int, int]] = field(default_factory=dict)


_EMPTY: Values = {}
Scorer = Callable[["CompiledIndicator", Values, int, CohortValues],
                  tuple[float, str | None, dict[str, float] | None]]


@dataclass(frozen=True)
class CompiledIndicator:
    """An indicator with what scoring needs looked up once per scheme, not once per org."""

    code: str
    indicator: IndicatorDef
    max_points: float
    names: tuple[str, ...]
    policy: MissingPolicy
    scorer: Scorer


def compile_indicator(indicator: IndicatorDef) -> CompiledIndicator:
    rule = indicator.rule
    scorer: Scorer = {
        GivenRule: _given, RatioRule: _ratio, ThresholdRule: _threshold,
        PerEventDeductionRule: _per_event, RankBasedRule: _rank_based, FormulaRule: _formula,
    }[type(rule)]
    return CompiledIndicator(indicator.code, indicator, indicator.max_points,
                             tuple(indicator.metrics()), indicator.missing_policy, scorer)


def score_compiled(ci: CompiledIndicator, org_id: int, cohort: CohortValues) -> ItemResult:
    """Points of ``org_id`` on one compiled indicator."""
    values = cohort.values.get(org_id, _EMPTY)
    get = values.get
    inputs: dict[str, float | None] = {n: get(n) for n in ci.names}
    if None in inputs.values():
        missing = "、".join(n for n, v in inputs.items() if v is None)
        policy = ci.policy
        if policy is MissingPolicy.exclude:
            return ItemResult(0.0, ci.max_points, inputs, "missing", missing, excluded=True)
        if policy is MissingPolicy.error:
            return ItemResult(0.0, ci.max_points, inputs, "missing", missing,
                              error=f"缺少数据项 {missing}")
        if policy is MissingPolicy.zero:
            return ItemResult(0.0, ci.max_points, inputs, "missing", missing)
        values = {**values, **{n: 0.0 for n, v in inputs.items() if v is None}}
    points, flag, extra = ci.scorer(ci, values, org_id, cohort)
    if extra:
        inputs.update(extra)
    if flag == "excluded":
        return ItemResult(0.0, ci.max_points, inputs, "zero_denominator", excluded=True)
    if flag and flag.startswith("formula:"):
        return ItemResult(0.0, ci.max_points, inputs, "formula_error", flag[8:])
    return ItemResult(points, ci.max_points, inputs, flag)


#: Array form of a rule for a group of its indicators: (indicators, inputs n × k × orgs, orgs,
#: cohort) → (points n × orgs, mask of what it could score, extra inputs such as rank, n × orgs).
GroupScorer = Callable[[list["CompiledIndicator"], Array, Sequence[int], CohortValues],
                       tuple[Array, Mask, dict[str, Array]]]


#: Inputs a rule adds to the org's metric values to explain its points, in stored order.
EXPLAINED_BY: dict[type, tuple[str, ...]] = {RankBasedRule: ("rank", "of")}


@dataclass(slots=True)
class IndicatorColumn:
    """One indicator scored for a whole cohort.

    ``points`` holds every org's points in cohort order. Where the rule ran normally on inputs
    that are all present, that number and the org's metric values are the whole story, plus,
    for rules that explain themselves by more (a rank and the cohort size, see
    :data:`EXPLAINED_BY`), ``extra`` — those values per org, in that order. Every other org (a
    missing metric, a zero denominator, a formula error) has its full :class:`ItemResult` in
    ``special``, by position.
    """

    ci: CompiledIndicator
    points: list[float]
    special: dict[int, ItemResult]
    extra: list[list[float]] | None = None

    @property
    def code(self) -> str:
        return self.ci.code

    def item(self, j: int, values: Values) -> ItemResult:
        """The org at position ``j`` as one result, its inputs taken from its ``values``."""
        if j in self.special:
            return self.special[j]
        inputs: dict[str, float | None] = {n: values.get(n) for n in self.ci.names}
        if self.extra is not None:
            inputs.update(zip(EXPLAINED_BY[type(self.ci.indicator.rule)], self.extra[j],
                              strict=True))
        return ItemResult(self.points[j], self.ci.max_points, inputs)


def score_indicators(compiled: Sequence[CompiledIndicator], org_ids: Sequence[int],
                     cohort: CohortValues) -> list[IndicatorColumn]:
    """Every indicator's points for every org, in the order given.

    Indicators of one rule type with the same number of inputs are scored together as one
    array (formulas each on their own); every org whose inputs are all present is scored there,
    the rest (missing data, a zero denominator, a formula that cannot be computed) and rules
    with no array form one org at a time by :func:`score_compiled`. Both agree point for point.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, ci in enumerate(compiled):
        groups.setdefault(_group_key(ci), []).append(position)
    matrix, row_of = _input_matrix(compiled, org_ids, cohort)
    out: dict[int, IndicatorColumn] = {}
    for key, positions in groups.items():
        members = [compiled[p] for p in positions]
        scorer = _GROUP_SCORERS.get(key[0])
        if scorer is None:
            for p, ci in zip(positions, members, strict=True):
                out[p] = _column(ci, [score_compiled(ci, org_id, cohort) for org_id in org_ids])
            continue
        table = matrix[np.array([[row_of[n] for n in ci.names] for ci in members],
                                dtype=np.intp)]
        with np.errstate(all="ignore"):
            raw, fits, extra = scorer(members, table, org_ids, cohort)
        fits &= ~np.isnan(table).any(axis=1) & np.isfinite(raw)
        mx = np.array([[ci.max_points] for ci in members])
        points = np.where(fits, clamp_many(np.where(fits, raw, 0.0), mx), 0.0).tolist()
        fit_rows = fits.tolist()
        # Per indicator, per org: the explaining values (rank, of) in EXPLAINED_BY's order.
        explained = np.stack(list(extra.values()), axis=-1).tolist() if extra else None
        for i, (p, ci) in enumerate(zip(positions, members, strict=True)):
            out[p] = _finish(ci, org_ids, cohort, points[i], fit_rows[i],
                             explained[i] if explained is not None else None)
    return [out[p] for p in range(len(compiled))]


def score_many(ci: CompiledIndicator, org_ids: Sequence[int],
               cohort: CohortValues) -> IndicatorColumn:
    """One indicator's points for every org (see :func:`score_indicators`)."""
    return score_indicators([ci], org_ids, cohort)[0]


def _group_key(ci: CompiledIndicator) -> tuple[Any, ...]:
    rule = ci.indicator.rule
    if isinstance(rule, ThresholdRule) and rule.below == "steps":
        return (None, ci.code)
    if isinstance(rule, FormulaRule):
        return (FormulaRule, ci.code)
    return (type(rule), len(ci.names))


def _input_matrix(compiled: Sequence[CompiledIndicator], org_ids: Sequence[int],
                  cohort: CohortValues) -> tuple[Array, dict[str, int]]:
    """Every metric the indicators read × every org (NaN where missing)."""
    names = sorted({n for ci in compiled for n in ci.names})
    missing = itertools.repeat(math.nan)  # endless: map stops with the names
    by_org = [list(map(cohort.values.get(org_id, _EMPTY).get, names, missing))
              for org_id in org_ids]
    matrix = np.array(by_org, dtype=np.float64).reshape(len(org_ids), len(names)).T
    return matrix, {n: i for i, n in enumerate(names)}


def _finish(ci: CompiledIndicator, org_ids: Sequence[int], cohort: CohortValues,
            points: list[float], fits: list[bool], extra: list[list[float]] | None,
            ) -> IndicatorColumn:
    """One indicator's column from its array results; the orgs it could not score, one by one."""
    special: dict[int, ItemResult] = {}
    for j, ok in enumerate(fits):
        if not ok:
            special[j] = score_compiled(ci, org_ids[j], cohort)
            points[j] = special[j].points
    return IndicatorColumn(ci, points, special, extra)


def _column(ci: CompiledIndicator, results: list[ItemResult]) -> IndicatorColumn:
    """Results scored one by one, as a column: plain results keep only their points."""
    names = set(ci.names)
    special = {j: r for j, r in enumerate(results)
               if r.flag or r.excluded or r.error or r.inputs.keys() != names}
    return IndicatorColumn(ci, [r.points for r in results], special)


def stored_points(items: Mapping[str, Any], code: str) -> float | None:
    """One indicator's points on a stored line; None when it was not scored or was excluded."""
    raw = items.get(code)
    if isinstance(raw, dict):
        return None if raw.get("excluded") else float(raw["points"])
    if isinstance(raw, list):
        return float(raw[0])
    return None if raw is None else float(raw)


def stored_item(items: Mapping[str, Any], indicator: IndicatorDef) -> dict[str, Any] | None:
    """One indicator's stored result on a score line, with its inputs.

    A line keeps the org's metric values once under ``_inputs``; an item stored as a bare
    number takes its inputs from there, and one stored as a list ``[points, rank, of]`` adds
    the values its rule is explained by (:data:`EXPLAINED_BY`). Items stored whole (and every
    item of lines written before these forms) are returned as they are.
    """
    raw = items.get(indicator.code)
    if raw is None or isinstance(raw, dict):
        return raw
    known: Mapping[str, float] = items.get("_inputs", {})
    inputs: dict[str, float | None] = {n: known.get(n) for n in indicator.metrics()}
    if isinstance(raw, list):
        inputs.update(zip(EXPLAINED_BY[type(indicator.rule)], raw[1:], strict=True))
        raw = raw[0]
    return {"points": float(raw), "inputs": inputs}


def _column_of(values: Sequence[float]) -> Array:
    """Per-indicator parameters as a column, to broadcast over the orgs."""
    return np.array(values, dtype=np.float64)[:, None]


def _everyone(table: Array) -> Mask:
    return np.ones((table.shape[0], table.shape[2]), dtype=np.bool_)


def _given_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                 cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    return table[:, 0, :], _everyone(table), {}


def _ratio_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                 cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    rules: list[RatioRule] = [_rule(ci) for ci in cis]
    den = table[:, -1, :]
    ratio = table[:, :-1, :].sum(axis=1) / den
    mx = _column_of([ci.max_points for ci in cis])
    floor, target = _column_of([r.floor for r in rules]), _column_of([r.target for r in rules])
    return np.where(ratio < floor, 0.0, mx * np.minimum(1.0, ratio / target)), den != 0, {}


def _threshold_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                     cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    rules: list[ThresholdRule] = [_rule(ci) for ci in cis]
    value, mx = table[:, 0, :], _column_of([ci.max_points for ci in cis])
    target = _column_of([r.target for r in rules])
    floor = _column_of([r.floor if r.floor is not None else 0.0 for r in rules])
    higher = np.array([[r.direction == "higher"] for r in rules])
    linear = np.array([[r.below == "linear"] for r in rules])
    full = np.where(higher, value >= target, value <= target)
    span = np.where(higher, target - floor, floor - target)
    progress = np.where(higher, value - floor, floor - value)
    below = np.where(linear, mx * progress / span, 0.0)
    return np.where(full, mx, below), _everyone(table), {}


def _per_event_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                     cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    rules: list[PerEventDeductionRule] = [_rule(ci) for ci in cis]
    mx = _column_of([ci.max_points for ci in cis])
    cap = _column_of([r.cap if r.cap is not None else ci.max_points
                      for r, ci in zip(rules, cis, strict=True)])
    each = _column_of([r.points_each for r in rules])
    return mx - np.minimum(cap, np.maximum(table[:, 0, :], 0.0) * each), _everyone(table), {}


def _rank_based_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                      cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    whole_cohort = len(org_ids) == len(cohort.values) and all(o in cohort.values for o in org_ids)
    points, ranks, sizes = [], [], []
    for ci, row in zip(cis, table[:, 0, :], strict=True):
        rule: RankBasedRule = _rule(ci)
        if whole_cohort:  # the table holds every participant's value: rank it as it is
            if ci.policy is MissingPolicy.as_zero:
                row = np.nan_to_num(row, nan=0.0)
            rank = _places(row, higher=rule.direction == "higher").astype(np.float64)
            n = int(np.count_nonzero(rank))
        else:
            by_org = _cohort_ranks(ci, cohort)
            rank = np.array([by_org.get(org_id, 0) for org_id in org_ids], dtype=np.float64)
            n = len(by_org)
        mx = ci.max_points
        if rule.table:
            by_place = np.array([*rule.table, rule.rest], dtype=np.float64)
            points.append(by_place[np.clip(rank - 1, 0, len(rule.table)).astype(np.intp)])
        elif n <= 1:
            points.append(np.full(len(org_ids), mx))
        else:
            low = rule.min_points or 0.0
            points.append(mx - (rank - 1) * (mx - low) / (n - 1))
        ranks.append(rank)
        sizes.append(np.full(len(org_ids), float(n)))
    rank_table = np.array(ranks)
    return (np.array(points), rank_table > 0,
            dict(zip(EXPLAINED_BY[RankBasedRule], (rank_table, np.array(sizes)), strict=True)))


def _formula_group(cis: list[CompiledIndicator], table: Array, org_ids: Sequence[int],
                   cohort: CohortValues) -> tuple[Array, Mask, dict[str, Array]]:
    [ci] = cis  # formulas differ: each is a group of its own
    rule: FormulaRule = _rule(ci)
    faults = np.zeros(len(org_ids), dtype=np.bool_)
    raw = SafeFormula.compiled(rule.expression).vector()(dict(zip(ci.names, table[0], strict=True)),
                                                         faults)
    points = np.broadcast_to(np.asarray(raw, dtype=np.float64), (len(org_ids),))
    return points[None, :], ~faults[None, :], {}


_GROUP_SCORERS: dict[Any, GroupScorer] = {
    GivenRule: _given_group, RatioRule: _ratio_group, ThresholdRule: _threshold_group,
    PerEventDeductionRule: _per_event_group, RankBasedRule: _rank_based_group,
    FormulaRule: _formula_group,
}


def score_indicator(indicator: IndicatorDef, org_id: int, cohort: CohortValues) -> ItemResult:
    """Points of ``org_id`` on ``indicator`` from the cohort's metric values."""
    return score_compiled(compile_indicator(indicator), org_id, cohort)


def _rule(ci: CompiledIndicator) -> Any:
    return ci.indicator.rule


def _given(ci: CompiledIndicator, values: Values, org_id: int,
           cohort: CohortValues) -> tuple[float, str | None, None]:
    return clamp(values[ci.names[0]], ci.max_points), None, None


def _ratio(ci: CompiledIndicator, values: Values, org_id: int,
           cohort: CohortValues) -> tuple[float, str | None, None]:
    rule: RatioRule = _rule(ci)
    names = ci.names
    den = values[names[-1]]
    if den == 0:
        if rule.zero_denominator == "exclude":
            return 0.0, "excluded", None
        return (ci.max_points if rule.zero_denominator == "full" else 0.0), "zero_denominator", None
    ratio = sum(values[n] for n in names[:-1]) / den
    if ratio < rule.floor:
        return 0.0, None, None
    return clamp(ci.max_points * min(1.0, ratio / rule.target), ci.max_points), None, None


def _threshold(ci: CompiledIndicator, values: Values, org_id: int,
               cohort: CohortValues) -> tuple[float, str | None, None]:
    rule: ThresholdRule = _rule(ci)
    value = values[rule.metric]
    mx = ci.max_points
    higher = rule.direction == "higher"
    if (value >= rule.target) if higher else (value <= rule.target):
        return mx, None, None
    if rule.below == "linear":
        floor = rule.floor if rule.floor is not None else 0.0
        span = (rule.target - floor) if higher else (floor - rule.target)
        progress = (value - floor) if higher else (floor - value)
        return clamp(mx * progress / span, mx), None, None
    if rule.below == "steps":
        for step in sorted(rule.steps, key=lambda s: s.at, reverse=higher):
            if (value >= step.at) if higher else (value <= step.at):
                return clamp(step.points, mx), None, None
    return 0.0, None, None


def _per_event(ci: CompiledIndicator, values: Values, org_id: int,
               cohort: CohortValues) -> tuple[float, str | None, None]:
    rule: PerEventDeductionRule = _rule(ci)
    cap = rule.cap if rule.cap is not None else ci.max_points
    deduction = min(cap, max(values[rule.metric], 0.0) * rule.points_each)
    return clamp(ci.max_points - deduction, ci.max_points), None, None


def _places(values: Array, *, higher: bool) -> Array:
    """Competition places (ties share the higher place) at 6 decimals; 0 where a value is NaN.

    An org's place is one more than the number of orgs strictly better than it, as in
    :func:`ranking.competition_rank`.
    """
    rounded = np.round(values, 6)
    absent = np.isnan(rounded)
    ordered = np.sort(rounded[~absent])
    if higher:
        places = len(ordered) + 1 - np.searchsorted(ordered, rounded, side="right")
    else:
        places = np.searchsorted(ordered, rounded, side="left") + 1
    return np.where(absent, 0, places)


def _cohort_ranks(ci: CompiledIndicator, cohort: CohortValues) -> dict[int, int]:
    """Every participating org's rank on a rank-based indicator's metric (computed once)."""
    ranks = cohort._rank_cache.get(ci.code)
    if ranks is None:
        rule: RankBasedRule = _rule(ci)
        missing = 0.0 if ci.policy is MissingPolicy.as_zero else math.nan
        org_ids = list(cohort.values)
        values = np.array([cohort.values[o].get(rule.metric, missing) for o in org_ids],
                          dtype=np.float64)
        places = _places(values, higher=rule.direction == "higher").tolist()
        ranks = cohort._rank_cache[ci.code] = {
            org_id: place for org_id, place in zip(org_ids, places, strict=True) if place}
    return ranks


def _rank_points(ci: CompiledIndicator, rank: int, n: int) -> float:
    rule: RankBasedRule = _rule(ci)
    mx = ci.max_points
    if rule.table:
        points = rule.table[rank - 1] if rank <= len(rule.table) else rule.rest
    else:
        low = rule.min_points or 0.0
        points = mx if n <= 1 else mx - (rank - 1) * (mx - low) / (n - 1)
    return clamp(points, mx)


def _rank_based(ci: CompiledIndicator, values: Values, org_id: int,
                cohort: CohortValues) -> tuple[float, str | None, dict[str, float]]:
    ranks = _cohort_ranks(ci, cohort)
    rank, n = ranks[org_id], len(ranks)
    return _rank_points(ci, rank, n), None, {"rank": float(rank), "of": float(n)}


def _formula(ci: CompiledIndicator, values: Values, org_id: int,
             cohort: CohortValues) -> tuple[float, str | None, None]:
    rule: FormulaRule = _rule(ci)
    try:
        raw = SafeFormula.compiled(rule.expression).evaluate(values)
    except FormulaError as exc:
        return 0.0, f"formula:{exc}", None
    return clamp(raw, ci.max_points), None, None
