"""Schemes: validation with YAML paths, immutable versions, selection by period, diffs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import make_cohort, scheme_yaml
from tongban.assessment import service
from tongban.assessment.scheme import diff_schemes, parse_scheme
from tongban.core.errors import Conflict, NotFound, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR


def errors_of(text: str) -> list[tuple[str | None, str]]:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_scheme(text)
    return [(e.column, e.reason) for e in excinfo.value.errors]


def test_a_valid_scheme_parses() -> None:
    scheme = parse_scheme(scheme_yaml())
    assert [i.code for _, i in scheme.indicators()] == ["X1", "X2"]
    assert scheme.cohorts == ["t-cohort"]


def test_unknown_rule_type_names_its_path() -> None:
    text = scheme_yaml(indicators="""
      - {code: X1, name: a, max_points: 10, rule: {type: ratoi, metric: m}}
""")
    assert errors_of(text) == [("categories[0].indicators[0].rule",
                                "未知的规则类型「ratoi」，可用：given、ratio、threshold、rank_based、"
                                "per_event_deduction、formula")]


def test_duplicate_indicator_codes_are_refused() -> None:
    text = scheme_yaml(indicators="""
      - {code: X1, name: a, max_points: 5, rule: {type: given}}
      - {code: X1, name: b, max_points: 5, rule: {type: given}}
""")
    [(path, reason)] = errors_of(text)
    assert path == "categories[0].indicators[1].code"
    assert "重复" in reason


def test_max_points_must_add_up_to_the_total() -> None:
    text = scheme_yaml(total=12)
    assert errors_of(text) == [("total_points", "各指标分值合计 10 与 total_points 12 不符")]


def test_bad_rule_parameters_are_reported() -> None:
    text = scheme_yaml(indicators="""
      - {code: X1, name: a, max_points: 5, rule: {type: per_event_deduction, metric: m, points_each: -1}}
      - {code: X2, name: b, max_points: 5, rule: {type: formula, expression: "open('x')"}}
""")
    found = dict(errors_of(text))
    assert found["categories[0].indicators[0].rule.points_each"] == "应 > 0"
    assert "只能调用" in found["categories[0].indicators[1].rule.expression"]


def test_missing_key_and_bad_period() -> None:
    text = scheme_yaml().replace("name: 测试方案\n", "").replace("2026-01", "2026-13")
    found = dict(errors_of(text))
    assert found["name"] == "缺少必填项"
    assert "YYYY-MM" in found["effective_from"]


def test_loading_the_same_version_twice_is_idempotent_but_changes_are_refused(db: Session) -> None:
    make_cohort(db, code="t-cohort", members=["巴中", "达州"])
    first, created = service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml())
    again, created_again = service.load_scheme(db, actor=SYSTEM_ACTOR,
                                               text="# 注释不影响\n" + scheme_yaml())
    assert created and not created_again and first.id == again.id
    with pytest.raises(Conflict):
        service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(total=10).replace(
            "name: 认领率", "name: 认领率（改）"))


def test_scheme_naming_an_unknown_cohort_is_refused(db: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(cohort="nobody"))
    assert "考核分组「nobody」不存在" in str(excinfo.value)


def test_the_scheme_in_force_is_chosen_by_period(db: Session) -> None:
    make_cohort(db, code="t-cohort", members=["巴中", "达州"])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(version="1"))
    service.load_scheme(db, actor=SYSTEM_ACTOR,
                        text=scheme_yaml(version="2", effective_from="2026-04"))
    cohort = service.get_cohort(db, code="t-cohort")
    assert service.scheme_for(db, cohort=cohort, period="2026-03").version == "1"
    assert service.scheme_for(db, cohort=cohort, period="2026-04").version == "2"
    with pytest.raises(NotFound):
        service.scheme_for(db, cohort=cohort, period="2025-12")


def test_the_demo_province_scheme_has_16_categories_and_180_indicators(db: Session) -> None:
    scheme = service.get_scheme(db, actor=SYSTEM_ACTOR, ref="sc-ywtb@2026.1")
    definition = service.scheme_definition(scheme)
    assert len(definition.categories) == 16
    assert len(definition.indicators()) >= 180


def test_diff_lists_added_removed_and_reweighted(db: Session) -> None:
    changes = {(c.change, c.code) for c in service.diff(db, actor=SYSTEM_ACTOR, old_ref="sc-ywtb@2026.1",
                                                         new_ref="sc-ywtb@2026.2")}
    assert changes == {("reweighted", "E01"), ("reweighted", "E02"), ("added", "P14"),
                       ("removed", "P13")}


def test_diff_reports_rule_changes() -> None:
    old = parse_scheme(scheme_yaml())
    new = parse_scheme(scheme_yaml().replace("points_each: 0.5", "points_each: 1"))
    assert [c.change for c in diff_schemes(old, new)] == ["rule_changed"]
