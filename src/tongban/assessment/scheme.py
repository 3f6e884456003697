"""Schemes (考核方案): a declarative YAML definition, validated, hashed and diffable.

A scheme is data, not code: categories → indicators → one rule each. Validation errors name the
YAML path (``categories[0].indicators[2].rule.type``) and the reason in Chinese.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tongban.assessment.enums import MissingPolicy
from tongban.assessment.formula import FormulaError, SafeFormula
from tongban.assessment.metrics import unknown_reason
from tongban.core.errors import RowError, ValidationFailed
from tongban.core.periods import is_period

METRIC_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _metric_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class GivenRule(_Strict):
    """Points supplied from outside (the province's sheet); read from a metric."""

    type: Literal["given"]
    metric: str | None = Field(default=None, description="默认为指标代码")


class RatioRule(_Strict):
    """sum(numerator) ÷ denominator × max; below ``floor`` scores 0; at ``target`` full."""

    type: Literal["ratio"]
    numerator: str | list[str]
    denominator: str
    target: float = Field(default=1.0, gt=0)
    floor: float = Field(default=0.0, ge=0)
    zero_denominator: Literal["full", "zero", "exclude"] = "full"

    @model_validator(mode="after")
    def _floor_below_target(self) -> RatioRule:
        if self.floor >= self.target:
            raise ValueError("floor 必须小于 target")
        return self


class Step(_Strict):
    """One band: ``points`` when the value reaches ``at`` (≥ for higher, ≤ for lower)."""

    at: float
    points: float = Field(ge=0)


class ThresholdRule(_Strict):
    """Full points at or beyond ``target``; below it: zero, linear from ``floor``, or steps."""

    type: Literal["threshold"]
    metric: str
    target: float
    direction: Literal["higher", "lower"] = "higher"
    below: Literal["zero", "linear", "steps"] = "zero"
    floor: float | None = None
    steps: list[Step] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ThresholdRule:
        if self.below == "steps" and not self.steps:
            raise ValueError("below: steps 需要给出 steps 列表")
        if self.below == "linear":
            floor = self.floor if self.floor is not None else 0.0
            if self.direction == "higher" and floor >= self.target:
                raise ValueError("floor 必须小于 target")
            if self.direction == "lower" and self.floor is None:
                raise ValueError("direction: lower 且 below: linear 时须给出 floor（得0分的值）")
            if self.direction == "lower" and floor <= self.target:
                raise ValueError("direction: lower 时 floor 必须大于 target")
        return self


class RankBasedRule(_Strict):
    """Points by the org's rank on a metric within the cohort (ties share the higher place)."""

    type: Literal["rank_based"]
    metric: str
    direction: Literal["higher", "lower"] = "higher"
    table: list[float] = Field(default_factory=list, description="第1名、第2名……的得分")
    rest: float = Field(default=0.0, ge=0, description="表外名次的得分")
    min_points: float | None = Field(default=None, ge=0, description="不给 table 时末名得分")

    @model_validator(mode="after")
    def _has_table_or_linear(self) -> RankBasedRule:
        if not self.table and self.min_points is None:
            raise ValueError("rank_based 需要 table（按名次的分值）或 min_points（线性递减）")
        return self


class PerEventDeductionRule(_Strict):
    """max − count × points_each, the deduction capped (default: at max)."""

    type: Literal["per_event_deduction"]
    metric: str
    points_each: float = Field(gt=0)
    cap: float | None = Field(default=None, gt=0)


class FormulaRule(_Strict):
    """Arithmetic over named metrics, evaluated safely (see ``formula.SafeFormula``)."""

    type: Literal["formula"]
    expression: str = Field(min_length=1)

    @field_validator("expression")
    @classmethod
    def _safe(cls, value: str) -> str:
        try:
            SafeFormula(value)
        except FormulaError as exc:
            raise ValueError(str(exc)) from exc
        return value


Rule = Annotated[
    GivenRule | RatioRule | ThresholdRule | RankBasedRule | PerEventDeductionRule | FormulaRule,
    Field(discriminator="type"),
]


class IndicatorDef(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    max_points: float = Field(gt=0)
    rule: Rule
    missing: MissingPolicy | None = None
    description: str = ""

    @property
    def missing_policy(self) -> MissingPolicy:
        if self.missing is not None:
            return self.missing
        if isinstance(self.rule, PerEventDeductionRule):
            return MissingPolicy.as_zero
        return MissingPolicy.zero

    def metrics(self) -> list[str]:
        """The metric codes this indicator reads."""
        rule = self.rule
        if isinstance(rule, GivenRule):
            return [rule.metric or self.code]
        if isinstance(rule, RatioRule):
            return [*_metric_list(rule.numerator), rule.denominator]
        if isinstance(rule, FormulaRule):
            return sorted(SafeFormula.compiled(rule.expression).names)
        return [rule.metric]


class CategoryDef(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    indicators: list[IndicatorDef] = Field(min_length=1)

    @property
    def max_points(self) -> float:
        return sum(i.max_points for i in self.indicators)


class Grading(_Strict):
    """好/中/差 by place (``good_top``, ``poor_bottom``) or by score (``good_min``, ``poor_below``)."""

    good_top: int | None = Field(default=None, ge=0)
    poor_bottom: int | None = Field(default=None, ge=0)
    good_min: float | None = None
    poor_below: float | None = None

    @model_validator(mode="after")
    def _one_style(self) -> Grading:
        by_place = self.good_top is not None or self.poor_bottom is not None
        by_score = self.good_min is not None or self.poor_below is not None
        if by_place and by_score:
            raise ValueError("grading 只能按名次（good_top/poor_bottom）或按分数（good_min/poor_below）之一")
        if self.good_min is not None and self.poor_below is not None \
                and self.poor_below > self.good_min:
            raise ValueError("poor_below 不能高于 good_min")
        return self


class DataItemDef(_Strict):
    """A data item the scheme expects from files (the province's own 数据项), declared here so
    that the scheme loads before the item's first import."""

    code: str = Field(pattern=METRIC_RE.pattern, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    unit: str = Field(default="", max_length=16)


class LeadingGroup(_Strict):
    """The top band of a ranking (第一方阵): the first ``top`` places, or a fraction."""

    top: int | None = Field(default=None, ge=1)
    fraction: float = Field(default=1 / 3, gt=0, le=1)


class SchemeDef(_Strict):
    """A whole scheme as loaded from YAML."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str = Field(min_length=1)
    issuer: str = ""
    version: str = Field(min_length=1, max_length=32)
    effective_from: str
    effective_to: str | None = None
    cohorts: list[str] = Field(min_length=1)
    total_points: float = Field(gt=0)
    decimals: int = Field(default=2, ge=0, le=6, description="排名比较的小数位数")
    grading: Grading = Field(default_factory=Grading)
    leading_group: LeadingGroup = Field(default_factory=LeadingGroup)
    categories: list[CategoryDef] = Field(min_length=1)
    description: str = ""
    data_items: list[DataItemDef] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _cohort_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "cohort" in data:
            data = dict(data)
            cohort = data.pop("cohort")
            if "cohorts" in data:
                raise ValueError("cohort 与 cohorts 只能写一个")
            data["cohorts"] = [cohort] if isinstance(cohort, str) else cohort
        for key in ("effective_from", "effective_to", "version"):
            if isinstance(data, dict) and key in data and not isinstance(data[key], str) \
                    and data[key] is not None:
                data = dict(data)
                data[key] = str(data[key])
        return data

    @field_validator("effective_from", "effective_to")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None and not is_period(value):
            raise ValueError(f"「{value}」不是 YYYY-MM 格式的月份")
        return value

    def indicators(self) -> list[tuple[CategoryDef, IndicatorDef]]:
        return [(c, i) for c in self.categories for i in c.indicators]

    def indicator(self, code: str) -> IndicatorDef | None:
        return next((i for _, i in self.indicators() if i.code == code), None)

    def metrics(self) -> set[str]:
        return {m for _, i in self.indicators() for m in i.metrics()}

    def in_force(self, period: str) -> bool:
        return self.effective_from <= period and (
            self.effective_to is None or period <= self.effective_to
        )


_PYDANTIC_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的键",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "string_pattern_mismatch": "格式不符（小写字母、数字、- 和 _）",
    "bool_parsing": "应为是/否",
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"GivenRule", "RatioRule", "ThresholdRule", "RankBasedRule",
                      "PerEventDeductionRule", "FormulaRule"} or part.startswith(
                          ("given", "ratio", "threshold", "rank_based", "per_event", "formula")):
            continue
        else:
            out += ("." if out else "") + part
    return out or "(根)"


def _reason(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        return (f"未知的规则类型「{ctx.get('tag')}」，可用：given、ratio、threshold、rank_based、"
                "per_event_deduction、formula")
    if kind == "union_tag_not_found":
        return "缺少规则类型 type"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        symbol = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<",
                  "less_than_equal": "≤"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"应 {symbol} {bound:g}" if isinstance(bound, int | float) else f"应 {symbol} {bound}"
    if kind == "literal_error":
        return f"取值无效，应为 {ctx.get('expected', '')}"
    if kind == "enum":
        return f"取值无效，应为 {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    return _PYDANTIC_MESSAGES.get(kind, str(error.get("msg", "格式不正确")))


def _semantic_errors(scheme: SchemeDef) -> list[RowError]:
    errors: list[RowError] = []
    seen_categories: dict[str, int] = {}
    seen_indicators: dict[str, str] = {}
    for ci, category in enumerate(scheme.categories):
        where = f"categories[{ci}]"
        if category.code in seen_categories:
            errors.append(RowError(None, f"{where}.code",
                                   f"大类代码「{category.code}」与 categories"
                                   f"[{seen_categories[category.code]}] 重复"))
        seen_categories.setdefault(category.code, ci)
        for ii, indicator in enumerate(category.indicators):
            at = f"{where}.indicators[{ii}]"
            if indicator.code in seen_indicators:
                errors.append(RowError(None, f"{at}.code",
                                       f"指标代码「{indicator.code}」与 "
                                       f"{seen_indicators[indicator.code]} 重复"))
            seen_indicators.setdefault(indicator.code, at)
            errors.extend(_rule_errors(indicator, at))
    total = round(sum(c.max_points for c in scheme.categories), 6)
    if abs(total - scheme.total_points) > 1e-6:
        errors.append(RowError(None, "total_points",
                               f"各指标分值合计 {total:g} 与 total_points {scheme.total_points:g} 不符"))
    if scheme.effective_to is not None and scheme.effective_to < scheme.effective_from:
        errors.append(RowError(None, "effective_to", "effective_to 早于 effective_from"))
    return errors


def _rule_errors(indicator: IndicatorDef, at: str) -> list[RowError]:
    errors: list[RowError] = []
    rule = indicator.rule
    for metric in indicator.metrics():
        if not METRIC_RE.match(metric):
            errors.append(RowError(None, f"{at}.rule",
                                   f"指标数据项「{metric}」只能由字母、数字和下划线组成，以字母开头"))
    if isinstance(rule, PerEventDeductionRule) and rule.cap is not None \
            and rule.cap > indicator.max_points:
        errors.append(RowError(None, f"{at}.rule.cap",
                               f"扣分上限 {rule.cap:g} 超过该指标分值 {indicator.max_points:g}"))
    if isinstance(rule, RankBasedRule):
        if any(p > indicator.max_points or p < 0 for p in rule.table):
            errors.append(RowError(None, f"{at}.rule.table", "名次分值应在 0 到该指标分值之间"))
        if rule.rest > indicator.max_points:
            errors.append(RowError(None, f"{at}.rule.rest", "rest 超过该指标分值"))
    if isinstance(rule, ThresholdRule) and rule.below == "steps" \
            and any(s.points > indicator.max_points for s in rule.steps):
        errors.append(RowError(None, f"{at}.rule.steps", "分档得分超过该指标分值"))
    return errors


def _metric_paths(indicator: IndicatorDef, at: str) -> list[tuple[str, str]]:
    """Each metric the indicator's rule reads, with the YAML path that names it."""
    rule = indicator.rule
    if isinstance(rule, GivenRule):
        return []  # the indicator's own points, declared by the scheme
    if isinstance(rule, RatioRule):
        numerator = ([(f"{at}.rule.numerator", rule.numerator)] if isinstance(rule.numerator, str)
                     else [(f"{at}.rule.numerator[{n}]", m) for n, m in enumerate(rule.numerator)])
        return [*numerator, (f"{at}.rule.denominator", rule.denominator)]
    if isinstance(rule, FormulaRule):
        return [(f"{at}.rule.expression", m) for m in indicator.metrics()]
    return [(f"{at}.rule.metric", rule.metric)]


def unknown_metrics(scheme: SchemeDef, known: Collection[str]) -> list[RowError]:
    """A metric the scheme reads that nobody declares (a feeder, a file, the scheme's own
    ``data_items``): refused with its path and the nearest known codes."""
    available = {*known, *(d.code for d in scheme.data_items)}
    return [RowError(None, path, unknown_reason(code, available))
            for ci, category in enumerate(scheme.categories)
            for ii, indicator in enumerate(category.indicators)
            for path, code in _metric_paths(indicator, f"categories[{ci}].indicators[{ii}]")
            if code not in available]


def parse_scheme(text: str, *, filename: str = "",
                 known: Collection[str] | None = None) -> SchemeDef:
    """Parse and validate a scheme's YAML; every problem is reported with its path. With
    ``known`` (the declared metric codes), a metric nobody declares is a problem too."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise ValidationFailed(
            errors=[RowError(row, None, f"YAML 语法错误：{getattr(exc, 'problem', exc)}",
                             filename or None)],
            summary="考核方案文件无法解析",
        ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(errors=[RowError(None, None, "文件内容应为一个映射（键: 值）")],
                               summary="考核方案文件格式不正确")
    try:
        scheme = SchemeDef.model_validate(data)
    except ValidationError as exc:
        errors = [RowError(None, _path(e["loc"]), _reason(e), filename or None)
                  for e in exc.errors()]
        raise ValidationFailed(errors=errors, summary="考核方案校验未通过") from exc
    semantic = _semantic_errors(scheme)
    if known is not None:
        semantic += unknown_metrics(scheme, known)
    if semantic:
        raise ValidationFailed(
            errors=[RowError(e.row, e.column, e.reason, filename or None) for e in semantic],
            summary="考核方案校验未通过",
        )
    return scheme


def canonical_json(scheme: SchemeDef) -> str:
    content = scheme.model_dump(mode="json")
    if not content["data_items"]:
        del content["data_items"]  # schemes loaded before data items existed keep their hash
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


def content_hash(scheme: SchemeDef) -> str:
    """SHA-256 of the scheme's normalised content (comments and key order do not count)."""
    return hashlib.sha256(canonical_json(scheme).encode()).hexdigest()


@dataclass(frozen=True)
class IndicatorChange:
    code: str
    name: str
    change: Literal["added", "removed", "reweighted", "rule_changed", "renamed", "moved"]
    old_points: float | None = None
    new_points: float | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        return {"added": "新增", "removed": "删除", "reweighted": "调整分值",
                "rule_changed": "调整计分规则", "renamed": "更名", "moved": "调整大类"}[self.change]


def diff_schemes(old: SchemeDef, new: SchemeDef) -> list[IndicatorChange]:
    """Indicators added, removed, re-weighted, renamed, moved or re-ruled between two versions."""
    old_map = {i.code: (c, i) for c, i in old.indicators()}
    new_map = {i.code: (c, i) for c, i in new.indicators()}
    changes: list[IndicatorChange] = []
    for code, (category, indicator) in new_map.items():
        if code not in old_map:
            changes.append(IndicatorChange(code, indicator.name, "added", None,
                                           indicator.max_points, f"{category.name}"))
            continue
        old_category, old_indicator = old_map[code]
        if old_indicator.max_points != indicator.max_points:
            changes.append(IndicatorChange(code, indicator.name, "reweighted",
                                           old_indicator.max_points, indicator.max_points))
        if old_indicator.rule != indicator.rule or old_indicator.missing != indicator.missing:
            changes.append(IndicatorChange(code, indicator.name, "rule_changed",
                                           old_indicator.max_points, indicator.max_points,
                                           f"{old_indicator.rule.type} → {indicator.rule.type}"))
        if old_indicator.name != indicator.name:
            changes.append(IndicatorChange(code, indicator.name, "renamed",
                                           detail=f"{old_indicator.name} → {indicator.name}"))
        if old_category.code != category.code:
            changes.append(IndicatorChange(code, indicator.name, "moved",
                                           detail=f"{old_category.name} → {category.name}"))
    for code, (_category, indicator) in old_map.items():
        if code not in new_map:
            changes.append(IndicatorChange(code, indicator.name, "removed",
                                           indicator.max_points, None))
    return changes
