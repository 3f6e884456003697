"""Assessment API and pages: league table, org page, what-if fragment, schemes, imports."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tongban.assessment import service
from tongban.core.security import SYSTEM_ACTOR, Role

FEB = "/api/v1/assessment/sheets/sichuan-cities/2026-02"


def test_api_rank_carries_rank_change_and_grade(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.leader))
    rows = client.get(f"{FEB}/rank").json()["items"]
    bazhong = next(r for r in rows if r["org_code"] == "511900")
    assert (bazhong["rank"], bazhong["rank_change"], bazhong["grade"]) == (15, -14, "fair")


def test_api_whatif_and_explain(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    explained = client.get(f"{FEB}/orgs/巴中/explain").json()
    adjustment_id = explained["adjustments"][0]["id"]
    result = client.post(f"{FEB}/orgs/511900/whatif",
                         json={"drop_adjustments": [adjustment_id]}).json()
    assert result["after"]["rank"] == 1


def test_api_adjustment_lifecycle_and_recompute(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    created = client.post("/api/v1/assessment/adjustments", json={
        "period": "2026-04", "org": "巴中", "points": -0.5, "reason": "数据共享接口中断",
        "source_url": "https://example.invalid/t/9"})
    assert created.status_code == 201
    sheet = client.post("/api/v1/assessment/sheets/sichuan-cities/2026-04/compute").json()
    assert sheet["status"] == "draft"
    explained = client.get("/api/v1/assessment/sheets/sichuan-cities/2026-04/orgs/巴中/explain")
    assert any(a["reason"] == "数据共享接口中断" for a in explained.json()["adjustments"])
    voided = client.post(f"/api/v1/assessment/adjustments/{created.json()['id']}/void",
                         json={"reason": "接口恢复，省里撤回"})
    assert voided.json()["voided"] is True


def test_api_publish_then_compute_is_a_conflict(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    response = client.post(f"{FEB}/compute")
    assert response.status_code == 409 and "已发布" in response.json()["detail"]


def test_api_metric_batch_reports_row_errors(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    response = client.post("/api/v1/assessment/metrics", json={"source": "省平台", "values": [
        {"period": "2026-04", "org": "巴中", "metric": "claimed", "value": 1},
        {"period": "2026-04", "org": "不存在", "metric": "claimed", "value": 1}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rows"] == [2]


def test_api_scheme_upload_validation_errors_are_listed(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    response = client.post("/api/v1/assessment/schemes", json={"yaml": "code: x\nname: y\n"})
    assert response.status_code == 422
    assert {"version", "cohorts"} <= {e["column"] for e in response.json()["errors"]}


def test_league_page_shows_grades_arrows_and_leading_group(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.leader))
    page = client.get("/assessment?cohort=sichuan-cities&period=2026-02")
    assert page.status_code == 200
    assert "巴中市" in page.text and "▼14" in page.text and "第一方阵" in page.text
    assert 'class="grade grade-poor"' in page.text


def test_org_page_has_charts_and_whatif_panel(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/assessment/sichuan-cities/2026-02/orgs/511900")
    assert page.status_code == 200
    assert 'id="chart-trend"' in page.text and 'id="chart-gap"' in page.text
    assert "13个异常办事指南未按期整改" in page.text
    explained = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                                    period="2026-02", org_ref="巴中")
    fragment = client.post("/assessment/sichuan-cities/2026-02/orgs/511900/whatif",
                           data={"drop": str(explained["adjustments"][0]["id"])},
                           headers={"X-CSRF-Token": csrf_of(client, "/assessment")})
    assert "第1名" in fragment.text and "成都市" in fragment.text


def test_liaison_sees_only_its_own_line_and_page(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="恩阳区"))
    page = client.get("/assessment?cohort=bz-counties&period=2026-03")
    assert "恩阳区" in page.text and "巴州区" not in page.text
    draft = client.get("/assessment?cohort=bz-counties&period=2026-04").text  # not published
    assert "2026年4月尚无成绩单" in draft and "巴州区" not in draft
    assert client.get("/assessment/bz-counties/2026-04/orgs/511902").status_code == 404


def test_scheme_pages_and_diff(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    assert "数据共享级联" in client.get("/assessment/schemes/sc-ywtb/2026.1").text
    diff = client.get("/assessment/schemes/diff?old=sc-ywtb@2026.1&new=sc-ywtb@2026.2")
    assert "政务服务效能提升行动" in diff.text and "调整分值" in diff.text


def test_import_page_shows_the_error_report(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/assessment/import")
    bad = "period,org,indicator,points,note\n2026-02,巴中,A01,x,\n".encode()
    response = client.post("/assessment/import",
                           data={"csrf_token": token, "cohort": "sichuan-cities"},
                           files={"file": ("通报.csv", bad, "text/csv")})
    assert response.status_code == 422
    assert "得分「x」不是数字" in response.text and "未导入任何数据" in response.text


def test_league_table_publish_button(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/assessment")
    response = client.post("/assessment/sheets/sichuan-cities/2026-04/publish",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "已发布第1版" in response.text
