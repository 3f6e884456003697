"""Imports: province sheets (long and wide) and metric values; every error, idempotency."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import located, make_cohort, scheme_yaml
from tongban.assessment import importers, service
from tongban.assessment.models import Adjustment, MetricValue
from tongban.cli import app as cli
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR

GIVEN = """
      - {code: G1, name: 事项认领, max_points: 5, rule: {type: given}}
      - {code: G2, name: 办事指南, max_points: 5, rule: {type: given}}
"""


@pytest.fixture
def province(db: Session) -> str:
    make_cohort(db, code="t-prov", members=["巴中", "达州", "南充"])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
        code="t-prov", cohort="t-prov", indicators=GIVEN, grading="{good_top: 1}"))
    return "t-prov"


def run(db: Session, text: str, *, cohort: str | None = "t-prov", period: str | None = None,
        name: str = "sheet.csv") -> importers.ImportReport:
    return importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                                 filename=name, cohort_code=cohort, period=period)


def errors(db: Session, text: str, **kwargs: object) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(ValidationFailed) as excinfo:
        run(db, text, **kwargs)  # type: ignore[arg-type]
    return located(excinfo.value)


LONG = """period,org,indicator,points,note
2026-02,巴中,G1,5,
2026-02,巴中,G2,4.5,
2026-02,达州市,G1,4,
2026-02,达州市,G2,5,
2026-02,511300,G1,3,
2026-02,511300,G2,3,
2026-02,巴中,扣分,2.6,13个异常办事指南未按期整改
"""


def test_long_sheet_imports_points_and_deductions(db: Session, province: str) -> None:
    report = run(db, LONG)
    assert (report.rows, report.metric_values_changed, report.adjustments_created) == (7, 6, 1)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=province,
                                  period="2026-02")
    totals = {ln.org.short_name: ln.total for ln in sheet.lines}
    assert totals == {"巴中": 6.9, "达州": 9.0, "南充": 6.0}


def test_minus_and_plain_deduction_mean_the_same(db: Session, province: str) -> None:
    run(db, LONG.replace(",扣分,2.6,", ",扣分,-2.6,"))
    adjustment = db.scalars(select(Adjustment).where(Adjustment.scheme_code == "t-prov")).one()
    assert adjustment.points == -2.6 and adjustment.reason == "13个异常办事指南未按期整改"


def test_the_same_file_twice_changes_nothing(db: Session, province: str) -> None:
    run(db, LONG)
    again = run(db, LONG)
    assert again.repeated and again.changed == 0
    assert db.scalar(select(func.count()).select_from(Adjustment).where(
        Adjustment.scheme_code == "t-prov")) == 1


def test_a_reissued_sheet_replaces_the_old_deduction(db: Session, province: str) -> None:
    run(db, LONG)
    report = run(db, LONG.replace("2.6,13个异常办事指南未按期整改", "2.4,12个异常办事指南未按期整改"))
    assert (report.adjustments_created, report.adjustments_voided) == (1, 1)
    live = db.scalars(select(Adjustment).where(Adjustment.voided_at.is_(None),
                                               Adjustment.scheme_code == "t-prov")).all()
    assert [a.points for a in live] == [-2.4]


def test_every_row_error_is_reported_and_nothing_is_written(db: Session, province: str) -> None:
    text = """period,org,indicator,points,note
2026-02,巴中,G1,5,
2026-02,不存在市,G1,5,
2026-02,巴中,G9,1,
2026-02,巴中,G1,4,
2026-02,达州,G2,abc,
2026-13,达州,G1,1,
2026-02,达州,G1,6,
2026-02,成都,G1,1,
2026-02,南充,扣分,1,
"""
    found = errors(db, text)
    assert [(row, column) for row, column, _ in found] == [
        (3, "org"), (4, "indicator"), (5, "indicator"), (6, "points"), (7, "period"),
        (8, "points"), (9, "org"), (10, "note")]
    reasons = dict(((r, c), reason) for r, c, reason in found)
    assert "未找到组织「不存在市」" in reasons[(3, "org")]
    assert "没有指标「G9」" in reasons[(4, "indicator")]
    assert reasons[(5, "indicator")] == "与第2行重复"
    assert "不是数字" in reasons[(6, "points")]
    assert "不是 YYYY-MM" in reasons[(7, "period")]
    assert "超出该指标分值范围" in reasons[(8, "points")]
    assert "不在考核分组" in reasons[(9, "org")]
    assert db.scalar(select(func.count()).select_from(MetricValue).where(
        MetricValue.source == "import:sheet.csv")) == 0


def test_a_period_other_than_the_one_given_is_refused(db: Session, province: str) -> None:
    [(row, column, reason)] = errors(db, LONG.splitlines()[0] + "\n2026-03,巴中,G1,5,\n",
                                     period="2026-02")
    assert (row, column) == (2, "period") and "与指定的 2026-02 不符" in reason


def test_wide_xlsx_reports_total_and_rank_mismatches_without_taking_them(
    db: Session, province: str
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位", "G1", "G2", "扣分", "扣分说明", "总分", "排名"])
    sheet.append(["巴中市", 5, 4.5, 2.6, "13个异常办事指南未按期整改", 6.9, 2])
    sheet.append(["达州市", 4, 5, None, None, 9.5, 1])
    sheet.append(["南充市", 3, 3, None, None, 6, 3])
    buffer = io.BytesIO()
    book.save(buffer)
    report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(buffer.getvalue()),
                                   filename="通报.xlsx", cohort_code=province, period="2026-02")
    assert report.kind == "sheet-wide" and report.adjustments_created == 1
    assert report.mismatches == [{
        "row": 3, "column": "总分", "org": "达州市", "in_file": 9.5, "computed": 9.0,
        "reason": "第3行 达州市：文件总分 9.5，按方案计算 9"}]


def test_wide_sheet_needs_a_period_and_known_columns(db: Session, province: str) -> None:
    text = "单位,G1,G7\n巴中,5,1\n"
    found = errors(db, text, name="w.csv")
    assert (2, "period") in [(r, c) for r, c, _ in found]
    found = errors(db, text, name="w.csv", period="2026-02")
    assert [(r, c) for r, c, _ in found] == [(1, "G7")]


def test_metric_values_import_and_reimport(db: Session) -> None:
    text = "period,org,metric,value\n2026-02,巴中,claimed,90\n2026-02,巴中,should_claim,100\n"
    first = run(db, text, cohort=None, name="m.csv")
    assert first.kind == "metrics" and first.metric_values_changed == 2
    assert run(db, text, cohort=None, name="m.csv").metric_values_changed == 0
    changed = run(db, text.replace(",90", ",95"), cohort=None, name="m.csv")
    assert changed.metric_values_changed == 1


def test_metric_errors_name_row_and_column(db: Session) -> None:
    text = "period,org,metric,value\n2026-02,巴中,认领数,1\n2026-02,巴中,claimed,x\n"
    found = errors(db, text, cohort=None)
    assert [(r, c) for r, c, _ in found] == [(2, "metric"), (3, "value")]


def test_a_sheet_needs_a_cohort(db: Session) -> None:
    with pytest.raises(DomainError, match="须选定考核分组") as refused:
        run(db, LONG, cohort=None)
    assert "--" not in refused.value.message  # pages show it: no CLI flags


def test_a_missing_period_is_explained_without_cli_flags(db: Session, province: str) -> None:
    [(row, column, reason)] = errors(db, "单位,G1\n巴中,5\n", name="w.csv")
    assert (row, column) == (2, "period") and "--" not in reason and "选定考核期" in reason


def test_reimporting_a_bare_sheet_keeps_the_deductions_reason(db: Session, province: str) -> None:
    """The province's first file says why; its later bare re-issue gives only the points."""
    reasoned = "单位,G1,G2,扣分,扣分说明\n巴中,5,4.5,2.6,13个异常办事指南未按期整改\n达州,4,5,,\n"
    run(db, reasoned, period="2026-02", name="通报.csv")
    report = run(db, "单位,G1,G2,扣分\n巴中,5,4.5,2.6\n达州,4,5,\n", period="2026-02",
                 name="通报-重发.csv")
    assert (report.adjustments_created, report.adjustments_voided) == (0, 0)
    [live] = db.scalars(select(Adjustment).where(Adjustment.voided_at.is_(None),
                                                 Adjustment.scheme_code == "t-prov")).all()
    assert (live.points, live.reason) == (-2.6, "13个异常办事指南未按期整改")
    changed = run(db, "单位,G1,G2,扣分\n巴中,5,4.5,2.4\n达州,4,5,\n", period="2026-02")
    assert (changed.adjustments_created, changed.adjustments_voided) == (1, 1)  # new points


def test_an_ambiguous_or_unknown_indicator_name_lists_its_candidates(db: Session) -> None:
    make_cohort(db, code="t-amb", members=["巴中", "达州"])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
        code="t-amb", cohort="t-amb", grading="{good_top: 1}", indicators="""
      - {code: G1, name: 办事指南准确率, max_points: 4, rule: {type: given}}
      - {code: G2, name: 办事指南, max_points: 3, rule: {type: given}}
      - {code: G3, name: 办事指南, max_points: 3, rule: {type: given}}
"""))
    found = errors(db, "period,org,indicator,points,note\n2026-02,巴中,办事指南,5,\n"
                       "2026-02,巴中,准确率,4,\n", cohort="t-amb")
    by_row = {row: reason for row, _, reason in found}
    assert "2 个指标名为「办事指南」" in by_row[2] and "G2" in by_row[2] and "G3" in by_row[2]
    assert "没有指标「准确率」" in by_row[3] and "G1 办事指南准确率" in by_row[3]


def test_gb18030_csv_from_excel_is_read(db: Session, province: str) -> None:
    data = LONG.encode("gb18030")
    report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data),
                                   filename="gbk.csv", cohort_code=province)
    assert report.rows == 7


def test_cli_import_json_and_errors(db: Session, province: str, tmp_path: Path) -> None:
    good = tmp_path / "sheet.csv"
    good.write_text(LONG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["assess", "import", str(good), "--cohort", province,
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["adjustments_created"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("period,org,indicator,points,note\n2026-02,巴中,G1,x,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["assess", "import", str(bad), "--cohort", province])
    assert result.exit_code == 1
    assert "bad.csv 有 1 处错误" in result.output
    assert "得分「x」不是数字：「points」列第2行" in result.output


def service_org(db: Session, org_id: int) -> str:
    from tongban.org.models import Org

    org = db.get(Org, org_id)
    assert org is not None
    return org.name


def province_workbook() -> bytes:
    """The province's sheet as it really comes: a title row, two header rows with merged
    category cells, footnotes under the table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年2月全省一网通办能力考核通报"])
    sheet.merge_cells("A1:H1")
    sheet.append([])
    sheet.append(["序号", "单位", "政务服务事项管理（10分）", None, "扣分", "扣分说明", "总分", "排名"])
    sheet.append([None, None, "事项认领", "办事指南", None, None, None, None])
    sheet.merge_cells("C3:D3")
    for column in "ABEFGH":
        sheet.merge_cells(f"{column}3:{column}4")
    sheet.append([1, "巴中市", 5, 4.5, 2.6, "13个异常办事指南未按期整改", 6.9, 2])
    sheet.append([2, "达州市", 4, 5, None, None, 9, 1])
    sheet.append([3, "南充市", 3, 3, None, None, 6, 3])
    sheet.append(["注：总分含加扣分；数据来源：省政务服务管理局。"])
    sheet.append(["制表：省政务服务管理局", None, None, None, None, None, "2026年3月5日"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_province_xlsx_with_title_merged_headers_and_footnotes_imports(
        db: Session, province: str) -> None:
    report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(province_workbook()),
                                   filename="2月通报.xlsx", cohort_code=province,
                                   period="2026-02")
    assert (report.kind, report.rows, report.adjustments_created) == ("sheet-wide", 3, 1)
    assert report.metric_values_changed == 6 and report.mismatches == []
    per_org = dict(db.execute(select(MetricValue.org_id, func.sum(MetricValue.value))
                              .where(MetricValue.period == "2026-02",
                                     MetricValue.source == "import:2月通报.xlsx")
                              .group_by(MetricValue.org_id)).all())
    by_name = {service_org(db, org_id): total for org_id, total in per_org.items()}
    assert by_name == {"巴中市": 9.5, "达州市": 9, "南充市": 6}  # 事项认领 + 办事指南
    [adjustment] = db.scalars(select(Adjustment).where(Adjustment.scheme_code == "t-prov")).all()
    assert adjustment.reason == "13个异常办事指南未按期整改" and "第5行" in adjustment.source_ref


def _upload(client: Any, body: bytes, name: str, **form: str) -> Any:
    from tests.factories import csrf_of

    return client.post("/assessment/import", data={**form, "csrf_token": csrf_of(
        client, "/assessment/import")}, files={"file": (name, body, "application/octet-stream")})


def test_the_provinces_own_xlsx_imports_through_the_page(db: Session, province: str) -> None:
    from tests.factories import logged_in_client, make_user
    from tongban.core.security import Role

    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = _upload(client, province_workbook(), "2月通报.xlsx", cohort=province,
                   period="2026-02")
    assert page.status_code == 200, page.text
    assert 'data-testid="import-report"' in page.text and "3 行" in page.text


def test_a_schemes_template_filled_in_imports_as_is(db: Session, province: str) -> None:
    from openpyxl import load_workbook

    from tests.factories import logged_in_client, make_user
    from tongban.core.security import Role

    client = logged_in_client(db, make_user(db, role=Role.analyst))
    scheme = service.get_scheme(db, actor=SYSTEM_ACTOR, ref=province)
    assert 'data-testid="sheet-template"' in client.get(
        f"/assessment/schemes/{scheme.code}/{scheme.version}").text
    answer = client.get(f"/assessment/schemes/{scheme.code}/{scheme.version}/template.xlsx")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][2:4] == ("G1 事项认领（5分）", "G2 办事指南（5分）")  # under the merged category
    members = [r for r in rows[3:] if r and isinstance(r[0], int)]
    assert sorted(str(r[1]) for r in members) == ["南充市", "巴中市", "达州市"]
    for index, row in enumerate(sheet.iter_rows(min_row=4, max_row=3 + len(members)), start=1):
        row[2].value, row[3].value = 5 - index, 4
    filled = io.BytesIO()
    book.save(filled)
    page = _upload(client, filled.getvalue(), "模板.xlsx", cohort=province, period="2026-02")
    assert page.status_code == 200 and "3 行" in page.text and "数据项变更 6" in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert liaison.get(f"/assessment/schemes/{scheme.code}/{scheme.version}/template.xlsx"
                       ).status_code == 403
