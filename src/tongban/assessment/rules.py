"""Scorers: one function per rule type, turning metric values into points with an explanation.

Every scorer returns points clamped to [0, max] and says in Chinese how it got there.
A missing metric is handled by the indicator's policy (see ``enums.MissingPolicy``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban.assessment.enums import MissingPolicy
from tongban.assessment.ranking import competition_rank
from tongban.assessment.scheme import (
    FormulaRule,
    GivenRule,
    IndicatorDef,
    PerEventDeductionRule,
    RankBasedRule,
    RatioRule,
    ThresholdRule,
    _metric_list,
)

Values = Mapping[str, float]


class FormulaError(ValueError):
    """An expression that is not allowed, or cannot be evaluated."""


@dataclass
class ItemResult:
    """The points of one org on one indicator, and why."""

    points: float
    max_points: float
    inputs: dict[str, float | None]
    note: str
    excluded: bool = False
    error: str | None = None

    @property
    def lost(self) -> float:
        return 0.0 if self.excluded else round(self.max_points - self.points, 4)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "points": self.points,
            "max": self.max_points,
            "lost": self.lost,
            "inputs": self.inputs,
            "note": self.note,
        }
        if self.excluded:
            data["excluded"] = True
        if self.error:
            data["error"] = self.error
        return data


def clamp(points: float, max_points: float) -> float:
    """Points rounded to 4 places and held within [0, max] (rounding never exceeds max)."""
    return min(max(round(points, 4), 0.0), max_points)


def fmt(value: float | None) -> str:
    """A number as a person writes it: 2.6, 13, 0.95."""
    if value is None:
        return "无"
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- safe formulas

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}


class SafeFormula:
    """Arithmetic over metric names: + − × ÷, comparisons, ``a if c else b``, min/max/abs/round.

    Parsed with ``ast`` and evaluated by walking a whitelist of nodes; never ``eval``.
    """

    def __init__(self, expression: str) -> None:
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"公式语法错误：{expression}") from exc
        self.expression = expression
        self.names: set[str] = set()
        self._check(tree.body)
        self._tree = tree.body

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise FormulaError(f"公式中只能用数字常量：{ast.unparse(node)}")
        elif isinstance(node, ast.Name):
            self.names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise FormulaError(f"公式中不允许的运算：{ast.unparse(node)}")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise FormulaError(f"公式中不允许的运算：{ast.unparse(node)}")
            self._check(node.operand)
        elif isinstance(node, ast.Compare):
            if any(type(op) not in _COMPARE for op in node.ops):
                raise FormulaError(f"公式中不允许的比较：{ast.unparse(node)}")
            for child in (node.left, *node.comparators):
                self._check(child)
        elif isinstance(node, ast.BoolOp):
            for child in node.values:
                self._check(child)
        elif isinstance(node, ast.IfExp):
            for child in (node.test, node.body, node.orelse):
                self._check(child)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS \
                    or node.keywords:
                raise FormulaError(
                    f"公式中只能调用 min、max、abs、round：{ast.unparse(node)}"
                )
            for arg in node.args:
                self._check(arg)
        else:
            raise FormulaError(f"公式中不允许的写法：{ast.unparse(node)}")

    def evaluate(self, values: Mapping[str, float]) -> float:
        return float(self._eval(self._tree, values))

    def _eval(self, node: ast.AST, values: Mapping[str, float]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, values), self._eval(node.right, values)
            if isinstance(node.op, ast.Div) and right == 0:
                raise FormulaError("除数为0")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, values)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, values)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comparator, values)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.BoolOp):
            results = [self._eval(v, values) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.IfExp):
            branch = node.body if self._eval(node.test, values) else node.orelse
            return self._eval(branch, values)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))
        raise FormulaError("公式无法计算")  # unreachable: _check admits nothing else


# ---------------------------------------------------------------- scorers


@dataclass
class CohortValues:
    """The metric values of every org in the cohort, for rules that compare orgs."""

    values: Mapping[int, Values]
    _rank_cache: dict[str, dict[int, int]] = field(default_factory=dict)


def _missing(indicator: IndicatorDef, names: list[str], values: Values) -> list[str]:
    return [n for n in names if n not in values]


def _apply_missing(
    indicator: IndicatorDef, missing: list[str], inputs: dict[str, float | None]
) -> ItemResult | None:
    """The result a missing metric forces, or None when scoring goes on (as_zero)."""
    policy = indicator.missing_policy
    names = "、".join(missing)
    if policy is MissingPolicy.as_zero:
        return None
    if policy is MissingPolicy.exclude:
        return ItemResult(0.0, indicator.max_points, inputs,
                          f"缺少数据项 {names}，本指标不参与考核（按其余指标折算）", excluded=True)
    if policy is MissingPolicy.error:
        return ItemResult(0.0, indicator.max_points, inputs, f"缺少数据项 {names}",
                          error=f"缺少数据项 {names}")
    return ItemResult(0.0, indicator.max_points, inputs, f"缺少数据项 {names}，按0分计")


def score_indicator(
    indicator: IndicatorDef, org_id: int, cohort: CohortValues
) -> ItemResult:
    """Points of ``org_id`` on ``indicator`` from the cohort's metric values."""
    values = cohort.values.get(org_id, {})
    names = indicator.metrics()
    inputs: dict[str, float | None] = {n: values.get(n) for n in names}
    missing = _missing(indicator, names, values)
    if missing:
        forced = _apply_missing(indicator, missing, inputs)
        if forced is not None:
            return forced
        values = {**values, **{n: 0.0 for n in missing}}
    rule = indicator.rule
    mx = indicator.max_points
    if isinstance(rule, GivenRule):
        return _given(indicator, values[names[0]], inputs)
    if isinstance(rule, RatioRule):
        return _ratio(rule, mx, values, inputs)
    if isinstance(rule, ThresholdRule):
        return _threshold(rule, mx, values[rule.metric], inputs)
    if isinstance(rule, PerEventDeductionRule):
        return _per_event(rule, mx, values[rule.metric], inputs)
    if isinstance(rule, RankBasedRule):
        return _rank_based(indicator, rule, org_id, cohort, inputs)
    return _formula(indicator, rule, values, inputs)


def _given(indicator: IndicatorDef, value: float, inputs: dict[str, float | None]) -> ItemResult:
    points = clamp(value, indicator.max_points)
    note = f"考核通报得分 {fmt(value)}"
    if points != value:
        note += f"，超出 [0, {fmt(indicator.max_points)}] 按 {fmt(points)} 计"
    return ItemResult(points, indicator.max_points, inputs, note)


def _ratio(rule: RatioRule, mx: float, values: Values,
           inputs: dict[str, float | None]) -> ItemResult:
    numerators = _metric_list(rule.numerator)
    num = sum(values[n] for n in numerators)
    den = values[rule.denominator]
    expr = f"({' + '.join(fmt(values[n]) for n in numerators)})" if len(numerators) > 1 \
        else fmt(num)
    if den == 0:
        if rule.zero_denominator == "exclude":
            return ItemResult(0.0, mx, inputs, f"{rule.denominator} 为0，本指标不参与考核",
                              excluded=True)
        points = mx if rule.zero_denominator == "full" else 0.0
        return ItemResult(points, mx, inputs, f"{rule.denominator} 为0，按{fmt(points)}分计")
    ratio = num / den
    if ratio < rule.floor:
        return ItemResult(0.0, mx, inputs,
                          f"{expr} ÷ {fmt(den)} = {ratio:.2%}，低于下限 {rule.floor:.0%}，得0分")
    points = clamp(mx * min(1.0, ratio / rule.target), mx)
    target = f"，目标 {rule.target:.0%}" if rule.target != 1 else ""
    return ItemResult(points, mx, inputs,
                      f"{expr} ÷ {fmt(den)} = {ratio:.2%}{target}，得 {fmt(points)} 分")


def _threshold(rule: ThresholdRule, mx: float, value: float,
               inputs: dict[str, float | None]) -> ItemResult:
    higher = rule.direction == "higher"
    reached = value >= rule.target if higher else value <= rule.target
    relation = "≥" if higher else "≤"
    if reached:
        return ItemResult(mx, mx, inputs,
                          f"{rule.metric} = {fmt(value)} {relation} 目标 {fmt(rule.target)}，得满分")
    if rule.below == "linear":
        floor = rule.floor if rule.floor is not None else 0.0
        span = (rule.target - floor) if higher else (floor - rule.target)
        progress = (value - floor) if higher else (floor - value)
        points = clamp(mx * progress / span, mx)
        note = (f"{rule.metric} = {fmt(value)}，未达目标 {fmt(rule.target)}，"
                f"按 {fmt(floor)}→{fmt(rule.target)} 线性计 {fmt(points)} 分")
        return ItemResult(points, mx, inputs, note)
    if rule.below == "steps":
        ordered = sorted(rule.steps, key=lambda s: s.at, reverse=higher)
        for step in ordered:
            if (value >= step.at) if higher else (value <= step.at):
                points = clamp(step.points, mx)
                return ItemResult(points, mx, inputs,
                                  f"{rule.metric} = {fmt(value)} {relation} {fmt(step.at)}，"
                                  f"按档得 {fmt(points)} 分")
    return ItemResult(0.0, mx, inputs,
                      f"{rule.metric} = {fmt(value)}，未达目标 {fmt(rule.target)}，得0分")


def _per_event(rule: PerEventDeductionRule, mx: float, count: float,
               inputs: dict[str, float | None]) -> ItemResult:
    events = max(count, 0.0)
    cap = rule.cap if rule.cap is not None else mx
    deduction = min(cap, events * rule.points_each)
    points = clamp(mx - deduction, mx)
    capped = "（已达扣分上限）" if events * rule.points_each > cap else ""
    return ItemResult(points, mx, inputs,
                      f"{rule.metric} = {fmt(events)} 项 × {fmt(rule.points_each)} 分，"
                      f"扣 {fmt(deduction)} 分{capped}")


def _rank_based(indicator: IndicatorDef, rule: RankBasedRule, org_id: int, cohort: CohortValues,
                inputs: dict[str, float | None]) -> ItemResult:
    mx = indicator.max_points
    ranks = cohort._rank_cache.get(indicator.code)
    if ranks is None:
        as_zero = indicator.missing_policy is MissingPolicy.as_zero
        participants = {
            oid: vals.get(rule.metric, 0.0 if as_zero else math.nan)
            for oid, vals in cohort.values.items()
        }
        participants = {k: v for k, v in participants.items() if not math.isnan(v)}
        ranks = competition_rank(participants, decimals=6,
                                 higher_is_better=rule.direction == "higher")
        cohort._rank_cache[indicator.code] = ranks
    rank = ranks[org_id]
    n = len(ranks)
    if rule.table:
        points = rule.table[rank - 1] if rank <= len(rule.table) else rule.rest
    else:
        low = rule.min_points or 0.0
        points = mx if n <= 1 else mx - (rank - 1) * (mx - low) / (n - 1)
    points = clamp(points, mx)
    return ItemResult(points, mx, {**inputs, "rank": float(rank), "of": float(n)},
                      f"{rule.metric} = {fmt(inputs.get(rule.metric))}，在 {n} 个单位中排第 {rank} 名，"
                      f"得 {fmt(points)} 分")


def _formula(indicator: IndicatorDef, rule: FormulaRule, values: Values,
             inputs: dict[str, float | None]) -> ItemResult:
    mx = indicator.max_points
    try:
        raw = SafeFormula(rule.expression).evaluate(values)
    except FormulaError as exc:
        forced = _apply_missing(indicator, [f"（{exc}）"], inputs)
        return forced or ItemResult(0.0, mx, inputs, f"公式 {rule.expression}：{exc}，得0分")
    points = clamp(raw, mx)
    clamped = f"，限定在 [0, {fmt(mx)}]" if points != round(raw, 4) else ""
    return ItemResult(points, mx, inputs,
                      f"{rule.expression} = {fmt(round(raw, 4))}{clamped}，得 {fmt(points)} 分")
