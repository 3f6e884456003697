"""Rule types: each scorer, missing-data policies, the safe formula evaluator, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.assessment.explain import describe
from tongban.assessment.formula import FormulaError, SafeFormula
from tongban.assessment.rules import (
    CohortValues,
    ItemResult,
    compile_indicator,
    score_compiled,
    score_indicator,
    score_indicators,
    score_many,
)
from tongban.assessment.scheme import IndicatorDef


def indicator(rule: dict[str, object], max_points: float = 10, **extra: object) -> IndicatorDef:
    return IndicatorDef.model_validate(
        {"code": "T1", "name": "测试", "max_points": max_points, "rule": rule, **extra})


def note(ind: IndicatorDef, result: ItemResult) -> str:
    return describe(ind, result.as_dict())


def points(ind: IndicatorDef, values: dict[str, float], org: int = 1,
           others: dict[int, dict[str, float]] | None = None) -> float:
    cohort = CohortValues({org: values, **(others or {})})
    return score_indicator(ind, org, cohort).points


def test_given_takes_the_supplied_points_and_clamps_them() -> None:
    ind = indicator({"type": "given"}, max_points=5)
    assert points(ind, {"T1": 4.2}) == 4.2
    assert points(ind, {"T1": 7}) == 5


def test_ratio_sums_numerators_over_the_denominator() -> None:
    ind = indicator({"type": "ratio", "numerator": ["claimed", "not_needed"],
                     "denominator": "should_claim"}, max_points=5)
    assert points(ind, {"claimed": 80, "not_needed": 10, "should_claim": 100}) == 4.5


def test_ratio_reaches_full_points_at_its_target_and_zero_below_its_floor() -> None:
    ind = indicator({"type": "ratio", "numerator": "a", "denominator": "b", "target": 0.8,
                     "floor": 0.5})
    assert points(ind, {"a": 80, "b": 100}) == 10
    assert points(ind, {"a": 60, "b": 100}) == 7.5
    assert points(ind, {"a": 49, "b": 100}) == 0


def test_ratio_with_nothing_to_do_scores_full_by_default() -> None:
    ind = indicator({"type": "ratio", "numerator": "a", "denominator": "b"})
    result = score_indicator(ind, 1, CohortValues({1: {"a": 0, "b": 0}}))
    assert result.points == 10 and note(ind, result) == "b 为0，按10分计"


def test_threshold_linear_and_steps() -> None:
    linear = indicator({"type": "threshold", "metric": "s", "target": 0.95, "below": "linear",
                        "floor": 0.8})
    assert points(linear, {"s": 0.97}) == 10
    assert points(linear, {"s": 0.875}) == 5
    assert points(linear, {"s": 0.7}) == 0
    steps = indicator({"type": "threshold", "metric": "s", "target": 90, "below": "steps",
                       "steps": [{"at": 80, "points": 6}, {"at": 60, "points": 3}]})
    assert [points(steps, {"s": v}) for v in (95, 85, 70, 50)] == [10, 6, 3, 0]


def test_threshold_lower_is_better() -> None:
    ind = indicator({"type": "threshold", "metric": "days", "target": 5, "direction": "lower",
                     "below": "linear", "floor": 15})
    assert points(ind, {"days": 4}) == 10
    assert points(ind, {"days": 10}) == 5
    assert points(ind, {"days": 20}) == 0


def test_rank_based_by_table_with_ties_sharing_the_higher_place() -> None:
    ind = indicator({"type": "rank_based", "metric": "m", "table": [10, 8, 6], "rest": 2})
    others = {2: {"m": 90}, 3: {"m": 90}, 4: {"m": 50}}
    assert points(ind, {"m": 95}, others=others) == 10
    assert points(ind, {"m": 90}, org=2, others={1: {"m": 95}, 3: {"m": 90}, 4: {"m": 50}}) == 8
    assert points(ind, {"m": 50}, org=4, others={1: {"m": 95}, 2: {"m": 90}, 3: {"m": 90}}) == 2


def test_rank_based_linear_from_max_to_min_points() -> None:
    ind = indicator({"type": "rank_based", "metric": "m", "min_points": 6})
    cohort = CohortValues({1: {"m": 3}, 2: {"m": 2}, 3: {"m": 1}})
    assert [score_indicator(ind, o, cohort).points for o in (1, 2, 3)] == [10, 8, 6]


def test_per_event_deduction_is_capped() -> None:
    ind = indicator({"type": "per_event_deduction", "metric": "guides", "points_each": 0.2},
                    max_points=3)
    assert points(ind, {"guides": 13}) == 0.4
    assert points(ind, {"guides": 40}) == 0
    capped = indicator({"type": "per_event_deduction", "metric": "g", "points_each": 1,
                        "cap": 2}, max_points=3)
    assert points(capped, {"g": 5}) == 1


def test_per_event_deduction_treats_no_record_as_no_event() -> None:
    ind = indicator({"type": "per_event_deduction", "metric": "g", "points_each": 1})
    assert points(ind, {}) == 10


def test_formula_evaluates_arithmetic_over_metrics() -> None:
    ind = indicator({"type": "formula", "expression": "min(1, (a + b) / c) * 10 - (2 if d > 3 else 0)"})
    assert points(ind, {"a": 3, "b": 1, "c": 5, "d": 4}) == 6


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "a.__class__", "open('x')", "[a for a in b]",
    "lambda: 1", "a ** 100", "'text'", "min(a)", "abs(a, b)", "round(a, b)", "round(a, 1.5)",
])
def test_formula_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(FormulaError):
        SafeFormula(expression)


def test_missing_metric_policies_are_explained() -> None:
    base = {"type": "ratio", "numerator": "a", "denominator": "b"}
    zero_ind = indicator(base)
    zero = score_indicator(zero_ind, 1, CohortValues({1: {"b": 10}}))
    assert zero.points == 0 and note(zero_ind, zero) == "缺少数据项 a，按0分计"
    excluded_ind = indicator(base, missing="exclude")
    excluded = score_indicator(excluded_ind, 1, CohortValues({1: {}}))
    assert excluded.excluded and excluded.lost == 0
    assert "不参与考核" in note(excluded_ind, excluded)
    error = score_indicator(indicator(base, missing="error"), 1, CohortValues({1: {}}))
    assert error.error == "缺少数据项 a、b"
    as_zero_ind = indicator(base, missing="as_zero")
    as_zero = score_indicator(as_zero_ind, 1, CohortValues({1: {"b": 4}}))
    assert as_zero.points == 0 and note(as_zero_ind, as_zero) == "0 ÷ 4 = 0.00%，得 0 分"


def test_notes_explain_each_rule() -> None:
    ratio = indicator({"type": "ratio", "numerator": ["claimed", "not_needed"],
                       "denominator": "should_claim"}, max_points=5)
    result = score_indicator(ratio, 1, CohortValues(
        {1: {"claimed": 80, "not_needed": 10, "should_claim": 100}}))
    assert note(ratio, result) == "(80 + 10) ÷ 100 = 90.00%，得 4.5 分"
    events = indicator({"type": "per_event_deduction", "metric": "guides", "points_each": 0.2},
                       max_points=3)
    result = score_indicator(events, 1, CohortValues({1: {"guides": 13}}))
    assert note(events, result) == "guides = 13 项 × 0.2 分，扣 2.6 分"
    ranked = indicator({"type": "rank_based", "metric": "m", "min_points": 6})
    result = score_indicator(ranked, 2, CohortValues({1: {"m": 3}, 2: {"m": 2}, 3: {"m": 1}}))
    assert note(ranked, result) == "m = 2，在 3 个单位中排第 2 名，得 8 分"


numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(a=numbers, b=numbers, mx=st.floats(min_value=0.1, max_value=50))
def test_every_rule_stays_within_zero_and_max(a: float, b: float, mx: float) -> None:
    rules: list[dict[str, object]] = [
        {"type": "given", "metric": "a"},
        {"type": "ratio", "numerator": "a", "denominator": "b"},
        {"type": "threshold", "metric": "a", "target": 10, "below": "linear"},
        {"type": "per_event_deduction", "metric": "a", "points_each": 0.5},
        {"type": "formula", "expression": "a * 2 - b"},
        {"type": "rank_based", "metric": "a", "min_points": 0},
    ]
    for rule in rules:
        result = score_indicator(indicator(rule, max_points=mx), 1,
                                 CohortValues({1: {"a": a, "b": b}, 2: {"a": b, "b": a}}))
        assert 0 <= result.points <= mx


@given(x=st.floats(min_value=0, max_value=1000), y=st.floats(min_value=0, max_value=1000))
def test_ratio_and_threshold_are_monotone_in_their_metric(x: float, y: float) -> None:
    low, high = sorted((x, y))
    ratio = indicator({"type": "ratio", "numerator": "a", "denominator": "b", "floor": 0.1})
    threshold = indicator({"type": "threshold", "metric": "a", "target": 500, "below": "linear"})
    for ind in (ratio, threshold):
        assert points(ind, {"a": low, "b": 1000}) <= points(ind, {"a": high, "b": 1000})


@given(x=st.integers(min_value=0, max_value=100), y=st.integers(min_value=0, max_value=100))
def test_more_events_never_score_more(x: int, y: int) -> None:
    fewer, more = sorted((x, y))
    ind = indicator({"type": "per_event_deduction", "metric": "e", "points_each": 0.3})
    assert points(ind, {"e": more}) <= points(ind, {"e": fewer})


ARRAY_RULES: list[dict[str, object]] = [
    {"type": "given", "metric": "a"},
    {"type": "ratio", "numerator": ["a", "b"], "denominator": "c", "floor": 0.2, "target": 0.9},
    {"type": "ratio", "numerator": "a", "denominator": "c", "zero_denominator": "exclude"},
    {"type": "threshold", "metric": "a", "target": 10, "below": "linear", "floor": -5},
    {"type": "threshold", "metric": "a", "target": 10, "direction": "lower"},
    {"type": "threshold", "metric": "a", "target": 10, "below": "steps",
     "steps": [{"at": 5, "points": 4}, {"at": 0, "points": 1}]},
    {"type": "per_event_deduction", "metric": "a", "points_each": 0.3, "cap": 6},
    {"type": "rank_based", "metric": "a", "min_points": 2},
    {"type": "rank_based", "metric": "b", "table": [10, 8, 6], "rest": 1},
    {"type": "formula", "expression": "min(1, a / c) * 10 - (2 if b > 3 else 0)"},
    {"type": "formula",
     "expression": "round(abs(a - b) / (c + 1), 2) + max(a, b, 0) / 100 + (a > 1 and b < 5)"},
    {"type": "formula", "expression": "(1 < a <= b or c == 0) * 4 + -a / 10 + round(b)"},
]
small = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 3.0, 10.0, -2.0]),
                  st.floats(min_value=-50, max_value=50, allow_nan=False))


@given(rows=st.lists(st.fixed_dictionaries({"a": small, "b": small, "c": small}),
                     min_size=1, max_size=8),
       missing=st.sampled_from(["zero", "as_zero", "exclude"]))
def test_scoring_all_orgs_at_once_matches_scoring_each_org(
        rows: list[dict[str, float | None]], missing: str) -> None:
    values = {org: {k: v for k, v in row.items() if v is not None}
              for org, row in enumerate(rows, start=1)}
    orgs = list(values)
    for rule in ARRAY_RULES:
        ci = compile_indicator(indicator(rule, missing=missing))
        column = score_many(ci, orgs, CohortValues(values))
        together = [column.item(j, values[org]).as_dict() for j, org in enumerate(orgs)]
        one_by_one = [score_compiled(ci, org, CohortValues(values)) for org in orgs]
        assert together == [r.as_dict() for r in one_by_one], rule
        assert column.points == [r.points for r in one_by_one]


@given(rows=st.lists(st.fixed_dictionaries({"a": small, "b": small, "c": small}),
                     min_size=1, max_size=6))
def test_indicators_scored_in_groups_match_each_scored_alone(
        rows: list[dict[str, float | None]]) -> None:
    values = {org: {k: v for k, v in row.items() if v is not None}
              for org, row in enumerate(rows, start=1)}
    orgs = list(values)
    compiled = [compile_indicator(IndicatorDef.model_validate(
        {"code": f"G{n}", "name": "测试", "max_points": 3 + n % 4, "rule": rule}))
        for n, rule in enumerate(ARRAY_RULES * 2)]
    together = score_indicators(compiled, orgs, CohortValues(values))
    alone = [score_many(ci, orgs, CohortValues(values)) for ci in compiled]
    assert [(c.code, c.points, {j: r.as_dict() for j, r in c.special.items()}, c.extra)
            for c in together] \
        == [(c.code, c.points, {j: r.as_dict() for j, r in c.special.items()}, c.extra)
            for c in alone]


def test_a_division_by_zero_in_one_org_is_reported_for_that_org_only() -> None:
    ci = compile_indicator(indicator({"type": "formula", "expression": "a / b"}))
    cohort = CohortValues({1: {"a": 4, "b": 2}, 2: {"a": 4, "b": 0}})
    column = score_many(ci, [1, 2], cohort)
    assert column.points == [2, 0] and list(column.special) == [1]
    assert describe(ci.indicator, column.special[1].as_dict()) == "公式 a / b：除数为0，得0分"
