"""One contract between the domains (issue #23 §1): feeders declare the metrics they write;
schemes, reports and imports use the declarations; a name nobody declared is refused where it
is written, with the nearest known codes."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import located, make_cohort, scheme_yaml
from tests.security.import_paths import csv_bytes
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.assessment.metrics import (
    Metric,
    MetricKind,
    count_of,
    declare,
    declared,
    figure,
    ratio_of,
)
from tongban.assessment.models import ImportedMetric
from tongban.assessment.service import MetricInput
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service

E04_TYPO = """
      - {code: E04, name: 差评按期整改率, max_points: 10,
         rule: {type: ratio, numerator: ontime_rectifed, denominator: bad_cases_due}}
"""


def test_a_scheme_naming_a_mistyped_metric_is_refused_with_its_path_and_the_nearest(
        db: Session) -> None:
    make_cohort(db, code="t-cohort", members=["巴州区"])
    with pytest.raises(ValidationFailed) as caught:
        assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
            code="t-typo", indicators=E04_TYPO, data_items=()))
    assert located(caught.value) == [
        (None, "categories[0].indicators[0].rule.numerator",
         "ontime_rectifed: 未知数据项，是否为 ontime_rectified？")]


def test_a_scheme_may_declare_the_data_items_it_expects_from_files(db: Session) -> None:
    make_cohort(db, code="t-cohort", members=["巴州区"])
    ratio = """
      - {code: Q1, name: 新数据项比率, max_points: 10,
         rule: {type: ratio, numerator: brand_new_items, denominator: should_claim}}
"""
    with pytest.raises(ValidationFailed):
        assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
            code="t-items", indicators=ratio, data_items=("should_claim",)))
    scheme, _ = assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
        code="t-items", indicators=ratio, data_items=("should_claim", "brand_new_items")))
    kept = db.get(ImportedMetric, "brand_new_items")
    assert kept is not None and kept.source == f"考核方案 t-items@{scheme.version}"
    assert "brand_new_items" in assessment.known_metrics(db)


def test_a_stored_version_reloads_though_what_it_reads_is_no_longer_known(db: Session) -> None:
    """A version is checked when first loaded; loading the same text again changes nothing."""
    make_cohort(db, code="t-cohort", members=["巴州区"])
    text = scheme_yaml(code="t-again")
    assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=text)
    for row in db.scalars(select(ImportedMetric).where(ImportedMetric.code == "bad_guides")):
        db.delete(row)
    db.flush()
    _, created = assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=text)
    assert created is False


def test_a_feeder_writes_only_the_metrics_it_declared(db: Session) -> None:
    org = org_service.resolve_org(db, ref="巴州区")
    with pytest.raises(DomainError, match="未声明的数据项：reviewz"):
        assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="reviews", values=[
            MetricInput("2026-05", org.id, "reviewz", 3)])
    with pytest.raises(DomainError, match="rect_overdue"):  # another feeder's metric
        assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="reviews", values=[
            MetricInput("2026-05", org.id, "rect_overdue", 3)])
    assert assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="reviews", values=[
        MetricInput("2026-05", org.id, "bad_cases_due", 3)]) == 1


def test_a_file_declares_its_new_data_items_apart_and_says_so(db: Session) -> None:
    data = csv_bytes([["period", "org", "metric", "value"], ["2026-05", "巴州区", "xyz_items", "4"],
                      ["2026-05", "巴州区", "reviews", "9"]])
    report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data),
                                   filename="省平台数据项.csv")
    assert report.declared == ["xyz_items"]  # 'reviews' is the reviews feeder's
    assert [m.code for m in assessment.imported_metrics(db)].count("xyz_items") == 1
    assert "reviews" not in [m.code for m in assessment.imported_metrics(db)]
    again = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data),
                                  filename="省平台数据项.csv")
    assert again.declared == []


def test_a_ratio_must_name_declared_parts() -> None:
    with pytest.raises(ValueError, match="not declared"):
        declare("t-owner", ratio_of("t_rate", "测试率", "t_nothing", "t_none"))
    with pytest.raises(ValueError, match="ratio"):
        Metric("t_bad", "坏", kind=MetricKind.ratio)


def test_a_code_declared_twice_by_two_feeders_is_refused() -> None:
    declared()
    with pytest.raises(ValueError, match="declared twice"):
        declare("someone-else", count_of("reviews", "评价数", "条"))


def test_every_declared_metric_has_a_chinese_name_and_its_ratios_parts() -> None:
    metrics = declared()
    assert len(metrics) > 40
    for metric in metrics.values():
        assert metric.name and metric.owner and any("\u4e00" <= c <= "\u9fff" for c in metric.name)
        for part in metric.parts:
            assert part in metrics and metrics[part].kind is not MetricKind.ratio


def test_a_figure_missing_a_part_says_no_data_and_why_never_zero() -> None:
    values = {"ontime_rectified": 11.0, "reviews": 40.0, "bad_reviews": 3.0}
    rate = figure(values, "ontime_rectification_rate")
    assert rate.value is None and rate.text() == "无数据（成绩单未含「到期应整改差评数」）"
    assert figure(values, "bad_rate").text() == "7.5%（3/40）"
    assert figure({**values, "bad_cases_due": 12.0},
                  "ontime_rectification_rate").text() == "91.7%（11/12）"
    assert figure({"reviews": 5.0}, "satisfaction_index").text() == \
        "无数据（成绩单未含「满意度指数」）"
