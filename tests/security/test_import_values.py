"""Values no import may take: inf, NaN and 1e999 as numbers, digits int() cannot read as
levels or months; and errors that name the row and column of the file."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, csrf_of, located, logged_in_client, make_user
from tests.security.import_paths import PATHS, csv_bytes, score_cohort, with_sheet, xlsx_bytes
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.cli import app as cli
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.rectification import service as rectification

NOT_FINITE = ["inf", "-inf", "NaN", "nan", "Infinity", "1e999", "-1E999", "1e999%"]
PATH = {p.name: p for p in PATHS}


def refused(db: Session, data: bytes, name: str = "sec.csv", **kwargs: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as excinfo:
        importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data), filename=name,
                              **kwargs)  # type: ignore[arg-type]
    return excinfo.value


def test_metric_values_that_are_not_finite_are_refused(db: Session) -> None:
    rows = [["2026-02", "巴中", f"sec_{n}", value] for n, value in enumerate(NOT_FINITE)]
    failure = refused(db, csv_bytes([["period", "org", "metric", "value"], *rows]))
    assert located(failure) == [(n + 2, "value", f"数值「{value}」不是数字")
                                for n, value in enumerate(NOT_FINITE)]
    assert PATH["metrics"].stored(db) == 0


def test_an_xlsx_number_beyond_any_float_is_refused(db: Session) -> None:
    data = with_sheet(xlsx_bytes([["period", "org", "metric", "value"],
                                  ["2026-02", "巴中", "sec_1", 12345]]),
                      lambda body: body.replace(b"<v>12345</v>", b"<v>1e999</v>"))
    failure = refused(db, data, "sec.xlsx")
    assert [(row, column) for row, column, _ in located(failure)] == [(2, "value")]


@pytest.mark.parametrize("value", NOT_FINITE)
def test_points_and_deductions_that_are_not_finite_are_refused(db: Session, value: str) -> None:
    cohort = score_cohort(db)
    rows = [["2026-02", "巴中", "G1", value, ""], ["2026-02", "达州", "扣分", value, "原因"],
            ["2026-02", "南充", "加分", value, "原因"]]
    failure = refused(db, csv_bytes([["period", "org", "indicator", "points", "note"], *rows]),
                      cohort_code=cohort)
    assert located(failure) == [(n, "points", f"得分「{value}」不是数字") for n in (2, 3, 4)]


def test_a_wide_sheet_refuses_what_is_not_finite(db: Session) -> None:
    cohort = score_cohort(db)
    data = csv_bytes([["单位", "G1", "G2", "扣分", "总分", "排名"],
                      ["巴中", "NaN", "4", "inf", "1e999", "-inf"]])
    failure = refused(db, data, cohort_code=cohort, period="2026-02")
    assert [(row, column) for row, column, _ in located(failure)] == [
        (2, "G1"), (2, "扣分"), (2, "总分"), (2, "排名")]


def test_a_month_in_digits_int_cannot_read_is_a_row_error(db: Session) -> None:
    data = csv_bytes([["period", "org", "metric", "value"], ["2026-²", "巴中", "sec_1", "1"],
                      ["2026-①", "巴中", "sec_2", "1"], ["２０２６-０２", "巴中", "sec_3", "1"]])
    failure = refused(db, data)
    assert located(failure) == [(2, "period", "考核期「2026-²」不是 YYYY-MM 格式"),
                                (3, "period", "考核期「2026-①」不是 YYYY-MM 格式")]


def test_services_refuse_metric_values_and_adjustments_that_are_not_finite(db: Session) -> None:
    org = org_service.resolve_org(db, ref="巴中")
    with pytest.raises(DomainError, match="有限的数字"):
        assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="test", values=[
            MetricInput("2026-02", org.id, "claimed", math.inf)])
    for points in (math.inf, -math.inf, math.nan):
        with pytest.raises(DomainError, match="有限的数字"):
            assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-02", org=org,
                                         points=points, reason="测试")


def test_the_api_refuses_nan_and_infinity(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))

    def post(path: str, body: dict[str, object]) -> Any:  # Python's json writes NaN, -Infinity
        return client.post(path, content=json.dumps(body), headers={
            "Content-Type": "application/json"})

    metric = post("/api/v1/assessment/metrics", {"source": "省平台", "values": [
        {"period": "2026-04", "org": "巴中", "metric": "claimed", "value": math.nan}]})
    assert metric.status_code == 422
    assert metric.json()["errors"][0]["reason"] == "数值「nan」不是数字"
    adjustment = post("/api/v1/assessment/adjustments", {
        "period": "2026-04", "org": "巴中", "points": -math.inf, "reason": "测试"})
    assert adjustment.status_code == 400 and "有限的数字" in adjustment.json()["detail"]


@pytest.mark.parametrize("bulk_sql", ["true", "false"], ids=["set-based", "row-by-row"])
def test_review_levels_int_cannot_read_are_row_errors(
        db: Session, monkeypatch: pytest.MonkeyPatch, bulk_sql: str) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_BULK_SQL", bulk_sql)
    get_settings.cache_clear()
    reviews = PATH["reviews"]
    rows = reviews.rows(4)
    for row, level in zip(rows, ["²", "①", "1" * 5000, "５"], strict=True):
        row[6] = level
    with pytest.raises(ValidationFailed) as excinfo:
        reviews.run(db, reviews.csv(rows), "sec.csv")
    assert located(excinfo.value) == [
        (n, "level", f"评价等级「{level}」应为1–5或其中文名称")
        for n, level in ((2, "²"), (3, "①"), (4, "1" * 5000))]
    assert reviews.stored(db) == 0


def test_cases_handled_errors_name_the_files_row_and_column(db: Session, tmp_path: Path) -> None:
    file = tmp_path / "sec-办件量.csv"
    file.write_bytes(csv_bytes([["period", "org", "cases_handled"], ["2026-02", "巴中", "100"],
                                ["2026-02", "不存在的单位", "x"], ["2026-02", "巴中", "inf"]]))
    result = CliRunner().invoke(cli, ["reviews", "import", str(file), "--json"])
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [(e["rows"], e["column"]) for e in errors] == [
        ([3], "org"), ([3], "cases_handled"), ([4], "cases_handled")]
    assert all(e["file"] == "sec-办件量.csv" for e in errors)
    assert errors[1]["reason"] == "办件量「x」应为不小于0的整数"
    assert PATH["cases-handled"].stored(db) == 0


@pytest.mark.parametrize(("points_each", "message"), [
    ("abc", "每项扣分「abc」不是数字"), ("inf", "每项扣分「inf」不是数字"),
    ("-1", "每项扣分和扣分上限须为大于0的数字")])
def test_the_feedback_import_page_refuses_a_penalty_that_is_no_number(
        db: Session, points_each: str, message: str) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/rectification/import")
    feedback = PATH["feedback"]
    response = client.post("/rectification/import", data={
        "csrf_token": token, "penalty_indicator": "A04", "points_each": points_each},
        files={"file": ("sec.csv", feedback.csv(feedback.rows(2)), "text/csv")})
    assert response.status_code == 400 and message in response.text
    assert feedback.stored(db) == 0


def test_a_penalty_that_is_not_finite_is_refused_by_the_service(db: Session) -> None:
    feedback = PATH["feedback"]
    for points_each, cap in ((math.inf, None), (math.nan, None), (0.2, math.inf)):
        with pytest.raises(DomainError, match="大于0的数字"):
            rectification.import_feedback(
                db, actor=SYSTEM_ACTOR, source=io.BytesIO(feedback.csv(feedback.rows(2))),
                filename="sec.csv", penalty_indicator="A04", points_each=points_each, cap=cap)
