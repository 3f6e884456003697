"""对标 outputs: the department summary (items, DTF, suggestions by kind and state, answered on
time), a department's suggestions as XLSX from the list page, the summary page, and the 对标报告
in the house's document (DOCX, XLSX, HTML) with the league, the counts and the worst items."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document as Docx
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.benchmark.test_benchmark import ITEMS, MATERIALS, city, hand_case, load
from tests.factories import api_client, logged_in_client, make_user
from tongban.benchmark import service
from tongban.benchmark.enums import SuggestionAction
from tongban.benchmark.models import Suggestion
from tongban.cli import app as cli
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.reports import benchmark as report
from tongban.reports import service as reports
from tongban.reports.enums import ReportFormat

TRANSPORT = "市交通运输局"


def summary_case(db: Session) -> None:
    """The hand case (巴中 has 6 suggestions for 市交通运输局) and one more 巴中 item alone."""
    hand_case(db)
    load(db, "巴中", ITEMS + "H1-511900000000-1,对标测试事项,市交通运输局,1,10,4,2\n"
                            "Q1-511900000000-1,本市独有事项,市交通运输局,1,5,3,1\n"
                            "Q2-511900000000-1,另一部门事项,某某中心,1,5,3,1\n",
         MATERIALS + "H1-511900000000-1,申请表,原件,1,是\n"
                     "H1-511900000000-1,居民身份证（复印件）,复印件,1,是\n"
                     "H1-511900000000-1,营业执照,原件,1,是\n", day=date(2026, 12, 2))
    service.align(db, actor=SYSTEM_ACTOR)
    service.suggest(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"))


def test_department_summary_counts_items_dtf_kinds_states_and_answers_on_time(
        db: Session) -> None:
    summary_case(db)
    home = city(db, "巴中")
    suggestions = list(db.scalars(select(Suggestion).where(
        Suggestion.org_id == home.id, Suggestion.state == "pending").order_by(Suggestion.id)))
    ontime, late = suggestions[0], suggestions[1]
    service.answer(db, actor=SYSTEM_ACTOR, suggestion=ontime, action=SuggestionAction.reject,
                   reason="法定程序")
    service.answer(db, actor=SYSTEM_ACTOR, suggestion=late, action=SuggestionAction.reject,
                   reason="法定程序")
    assert ontime.due_on is not None and late.due_on is not None
    late.answered_at = datetime(late.due_on.year + 1, 1, 5, 3, tzinfo=UTC)
    db.flush()
    rows = {r.department: r for r in service.department_summary(db, actor=SYSTEM_ACTOR,
                                                                city=home)}
    transport = rows[TRANSPORT]
    assert (transport.items, transport.shared, transport.dtf) == (2, 1, 0.0)
    assert transport.by_kind == {"procedure": 1, "time_limit": 1, "materials": 2, "exempt": 2}
    assert transport.by_state["rejected"] == 2 and transport.by_state["pending"] == 4
    assert (transport.answered_ontime, transport.due) == (1, 2)
    assert transport.dept_org is not None and transport.dept_org.name == TRANSPORT
    other = rows["某某中心"]
    assert (other.items, other.shared, other.dtf, other.suggestions, other.dept_org) == \
        (1, 0, None, 0, None)


def test_a_departments_suggestions_export_from_the_list_page(db: Session) -> None:
    summary_case(db)
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    sent = analyst.get(f"/benchmark/suggestions?department={TRANSPORT}&format=xlsx")
    assert sent.status_code == 200 and "spreadsheetml" in sent.headers["content-type"]
    sheet = load_workbook(io.BytesIO(sent.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "实施部门", "事项名称", "类型")
    assert len(rows) == 7 and {r[1] for r in rows[1:]} == {TRANSPORT}
    assert "导出 Excel" in analyst.get("/benchmark/suggestions").text
    county = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    mine = county.get(f"/benchmark/suggestions?department={TRANSPORT}&format=xlsx")
    assert len(list(load_workbook(io.BytesIO(mine.content)).worksheets[0].iter_rows())) == 1


def test_the_summary_page_shows_each_department_to_the_citywide_roles_only(db: Session) -> None:
    summary_case(db)
    page = logged_in_client(db, make_user(db, role=Role.leader)).get("/benchmark/summary")
    assert page.status_code == 200 and 'data-testid="benchmark-summary"' in page.text
    assert TRANSPORT in page.text and "某某中心" in page.text and "未对应部门" in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org=TRANSPORT))
    assert liaison.get("/benchmark/summary").status_code == 403
    assert api_client(db, make_user(db, role=Role.liaison, org=TRANSPORT)).get(
        "/api/v1/benchmark/league").status_code == 403


def _docx_text(raw: bytes) -> str:
    doc = Docx(io.BytesIO(raw))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_the_report_holds_the_league_the_counts_per_kind_and_department_and_worst_items(
        db: Session) -> None:
    summary_case(db)
    document = report.build(db, actor=SYSTEM_ACTOR)
    files = reports.render(document)
    text = _docx_text(files[ReportFormat.docx])
    assert "巴中市行政审批对标情况报告" in text
    assert "本市共有对标建议6条：流程1条，时限1条，材料2条，免提交2条" in text
    assert "巴中市（本市）" in text and "广元市" in text
    assert "对标测试事项" in text and "10/0" in text  # promised days: ours / the best
    book = load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    assert {"排名", "按类型", "按部门", "差距最大事项"} <= set(book.sheetnames)
    departments = list(book["按部门"].iter_rows(values_only=True))
    transport = next(r for r in departments if r and r[0] == TRANSPORT)
    assert transport[1:8] == (2, 0, 1, 1, 2, 2, 6)
    assert "对标测试事项" in files[ReportFormat.html].decode()


def test_the_report_command_writes_the_three_files(db: Session, tmp_path: Path) -> None:
    summary_case(db)
    done = CliRunner().invoke(cli, ["report", "benchmark", "--out", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert {Path(body[f]).suffix for f in ("docx", "xlsx", "html")} == {".docx", ".xlsx", ".html"}
    assert CliRunner().invoke(cli, ["report", "benchmark", "--city", "巴州区"]).exit_code == 2


def _upload(client: object, db: Session, ref: str, text: str, *, kind: str = "catalog",
            materials: str | None = None, name: str = "目录.csv") -> object:
    page = client.get("/benchmark")  # type: ignore[attr-defined]
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    files = {"file": (name, text.encode(), "text/csv")}
    if materials is not None:
        files["materials"] = ("材料.csv", materials.encode(), "text/csv")
    return client.post("/benchmark/import", data={  # type: ignore[attr-defined]
        "csrf_token": token, "city": str(city(db, ref).id), "kind": kind}, files=files,
        follow_redirects=False)


def test_analysts_import_a_catalog_and_a_list_from_the_page(db: Session) -> None:
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    assert 'data-testid="benchmark-import"' in analyst.get("/benchmark").text
    sent = _upload(analyst, db, "广元", ITEMS + "W1-510800000000-1,网页导入事项,局,1,5,3,1\n",
                   materials=MATERIALS + "W1-510800000000-1,申请表,原件,1,是\n")
    assert sent.status_code == 303  # type: ignore[attr-defined]
    diff = service.diff_snapshots(db, city=city(db, "广元"))
    assert [a["name"] for a in diff["added"]] == ["网页导入事项"]
    listed = _upload(analyst, db, "巴中", MATERIALS + "W1-511900000000-1,申请表,原件,1,是\n",
                     kind="implementation_list")
    assert listed.status_code == 303  # type: ignore[attr-defined]
    from tongban.benchmark.importer import list_materials
    assert [m.name for m in list_materials(db, org=city(db, "巴中"))] == ["申请表"]


def test_a_refused_upload_shows_each_error_on_the_page_and_imports_nothing(db: Session) -> None:
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    before = service.diff_snapshots(db, city=city(db, "广元"))["to"]
    sent = _upload(analyst, db, "广元", ITEMS + "W2-510800000000-1,,局,99,5,3,1\n", name="坏.csv")
    assert sent.status_code == 422  # type: ignore[attr-defined]
    text = sent.text  # type: ignore[attr-defined]
    assert 'data-testid="import-errors"' in text and "缺少事项名称" in text
    assert "坏.csv" in text and "未知的事项类型" in text
    assert service.diff_snapshots(db, city=city(db, "广元"))["to"] == before
    leader = logged_in_client(db, make_user(db, role=Role.leader))
    assert 'data-testid="benchmark-import"' not in leader.get("/benchmark").text
    assert _upload(leader, db, "广元", ITEMS).status_code == 403  # type: ignore[attr-defined]


def test_the_city_scheme_from_2027_scores_answers_and_adoption_from_the_bench_metrics(
        db: Session) -> None:
    from tongban.assessment import service as assessment
    from tongban.assessment.service import MetricInput
    from tongban.org import service as org_service

    transport = org_service.resolve_org(db, ref=TRANSPORT)
    period = "2027-01"
    assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="benchmark", values=[
        MetricInput(period, transport.id, metric, value) for metric, value in (
            ("bench_received", 10), ("bench_due", 4), ("bench_answered_ontime", 3),
            ("bench_adopted", 2), ("bench_implemented", 1))])
    sheet = assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-dept-a",
                                     period=period)
    assert (sheet.scheme.code, sheet.scheme.version) == ("bz-hcp", "2027.2")
    view = assessment.view_of(db, sheet=sheet, actor=None)
    indicators = {i.code: i for _, i in view.definition.indicators()}
    row = view.row_of(transport.id)
    assert row is not None
    b01, b02 = row.item(indicators["B01"]), row.item(indicators["B02"])
    assert b01 is not None and b01.points == 2.25  # 3 × 3/4
    assert b02 is not None and b02.points == pytest.approx(2 * (3 / 10) / 0.6, abs=0.01)  # 2 × 0.3/0.6
    other = view.row_of(org_service.resolve_org(db, ref="市水利局").id)
    assert other is not None and other.item(indicators["B01"]).excluded  # type: ignore[union-attr]
