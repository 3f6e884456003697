"""The smaller holes: who may write what, numbers the database cannot hold, odd digits, the
audit chain's tail, report files without rows, zip bombs."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, csrf_of, logged_in_client, make_user, scheme_yaml
from tests.security.test_transport import asgi_call
from tongban.app import create_app
from tongban.cli import app as cli
from tongban.core import audit
from tongban.core.audit import AuditEntry
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.tabular import open_table
from tongban.reports import service as reports
from tongban.reports.enums import ReportKind

runner = CliRunner()
MONTHLY = reports.ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")


def test_a_leader_reads_reports_but_archives_none(db: Session) -> None:
    leader = api_client(db, make_user(db, role=Role.leader))
    refused = leader.post("/api/v1/reports", json={"kind": "monthly", "cohort": "bz-counties",
                                                   "period": "2026-03"})
    assert refused.status_code == 403
    assert leader.get("/api/v1/reports").status_code == 200
    page = logged_in_client(db, make_user(db, role=Role.leader))
    preview = page.get("/reports/preview?kind=monthly&cohort=bz-counties&period=2026-03")
    assert preview.status_code == 200


def test_a_liaison_reads_no_draft_sheet(db: Session) -> None:
    liaison = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    draft = "/api/v1/assessment/sheets/bz-counties/2026-04"
    assert liaison.get(f"{draft}/rank").status_code == 404
    assert liaison.get(f"{draft}/orgs/巴州区/explain").status_code == 404
    assert liaison.get("/api/v1/assessment/sheets/bz-counties/2026-03/rank").status_code == 200
    analyst = api_client(db, make_user(db, role=Role.analyst))
    assert analyst.get(f"{draft}/rank").status_code == 200
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    league = page.get("/assessment?cohort=bz-counties")
    assert league.status_code == 200 and "草稿" not in league.text


@pytest.mark.parametrize("path", [
    "/api/v1/reviews/cases/9223372036854775808", "/api/v1/rectification/tasks/99999999999999999999",
    "/api/v1/calendar/overrides?year=0", "/api/v1/calendar/overrides?year=10000",
    "/api/v1/orgs?page=9223372036854775808", "/api/v1/orgs?page_size=9223372036854775808",
    "/api/v1/reviews/cases?page=99999999999999999999",
    "/api/v1/assessment/sheets/bz-counties/２０２６-03/rank",
])
def test_numbers_out_of_range_are_the_callers_error(db: Session, path: str) -> None:
    response = api_client(db, make_user(db, role=Role.admin)).get(path)
    assert response.status_code in (400, 404, 422), response.text
    body = response.json()
    assert isinstance(body["detail"], str)  # the documented error body


def test_the_422_body_is_the_documented_one(db: Session) -> None:
    analyst = api_client(db, make_user(db, role=Role.analyst))
    response = analyst.post("/api/v1/assessment/adjustments", json={"points": "x"})
    assert response.status_code == 422
    schema = create_app().openapi()
    documented = schema["paths"]["/api/v1/assessment/adjustments"]["post"]["responses"]["422"]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert set(response.json()) <= {"detail", "errors"}


def test_odd_digits_never_make_a_500(db: Session) -> None:
    status, _ = asgi_call("/api/v1/reviews", headers={"content-length": "²",
                                                      "content-type": "application/json"})
    assert status == 413
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    fragment = analyst.post("/assessment/sichuan-cities/2026-02/orgs/511900/whatif",
                            data={"drop": ["²", "①", "9" * 40]},
                            headers={"X-CSRF-Token": csrf_of(analyst)})
    assert fragment.status_code == 200


def test_a_scheme_saved_in_gb18030_loads(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "方案.yaml"
    path.write_bytes(scheme_yaml(code="gbk-scheme", cohort="bz-counties").encode("gb18030"))
    result = runner.invoke(cli, ["assess", "scheme", "load", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["code"] == "gbk-scheme"


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (64 * 1024 * 1024))
    packed.seek(0)
    with pytest.raises(ValidationFailed) as refused:
        open_table(packed, filename="炸弹.xlsx")
    assert "压缩炸弹" in str(refused.value)


def test_a_checkpoint_notices_the_last_entries_deleted(db: Session, tmp_path: Path) -> None:
    audit.record(db, actor=SYSTEM_ACTOR, action="test.one", object_type="t", object_id=1)
    saved = tmp_path / "head.json"
    made = runner.invoke(cli, ["audit", "checkpoint", "--out", str(saved), "--json"])
    assert made.exit_code == 0, made.output
    clean = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(saved), "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["checkpoint"] is None
    audit.record(db, actor=SYSTEM_ACTOR, action="test.two", object_type="t", object_id=2)
    assert runner.invoke(cli, ["audit", "verify", "--checkpoint", str(saved)]).exit_code == 0
    head = json.loads(saved.read_text())["last_id"]
    db.execute(delete(AuditEntry).where(AuditEntry.id >= head))  # the tail, chain still valid
    plain = runner.invoke(cli, ["audit", "verify", "--json"])
    assert plain.exit_code == 0  # without a checkpoint the shorter chain looks whole
    caught = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(saved), "--json"])
    assert caught.exit_code == 1 and "链尾被删除" in json.loads(caught.stdout)["checkpoint"]
    forged = json.loads(saved.read_text()) | {"count": 1}
    saved.write_text(json.dumps(forged))
    tampered = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(saved), "--json"])
    assert tampered.exit_code == 1 and "签名不符" in json.loads(tampered.stdout)["checkpoint"]


def test_report_files_appear_only_with_their_committed_row(db: Session) -> None:
    folder = reports.get_settings().report_dir
    savepoint = db.begin_nested()
    reports.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    savepoint.rollback()  # a run killed before its commit
    db.commit()
    assert not [p for p in folder.iterdir() if not p.name.endswith(".part")]
    leftovers = list(folder.iterdir())
    assert reports.remove_orphan_files(db, older_than=reports.timedelta(0)) == len(leftovers)
    report, _ = reports.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.stored_name for f in report.files)
    assert reports.remove_orphan_files(db, older_than=reports.timedelta(0)) == 0
    assert db.scalars(select(reports.Report)).first() is not None


def test_a_runner_reaches_no_review_page_or_api(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.runner, org="巴州区"))
    for path in ("/reviews", "/reviews/dashboard", "/reviews/codes?org=巴州区", "/reports"):
        assert client.get(path).status_code == 403, path
    api = api_client(db, make_user(db, role=Role.runner, org="巴州区"))
    for path in ("/api/v1/reviews", "/api/v1/reviews/cases",
                 "/api/v1/reviews/metrics?org=巴州区&period=2026-11"):
        assert api.get(path).status_code == 403, path


def test_an_xlsx_whose_text_would_flood_memory_is_refused() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        # Varied text that packs only ~10:1, like a real file, past the shared-strings limit.
        text = "".join(f"<si><t>评价{n}：{n * 7919 % 100003}</t></si>" for n in range(2_200_000))
        archive.writestr("xl/sharedStrings.xml", text)
    packed.seek(0)
    with pytest.raises(ValidationFailed) as refused:
        open_table(packed, filename="大文件.xlsx")
    assert "另存为 CSV" in str(refused.value)


def test_a_password_reset_revokes_the_users_api_tokens(db: Session) -> None:
    from tongban.org import service as org_service

    user = make_user(db, role=Role.analyst)
    client = api_client(db, user)
    assert client.get("/api/v1/me").status_code == 200
    org_service.update_user(db, actor=SYSTEM_ACTOR, user=user, password="Reset-passw0rd!")
    assert client.get("/api/v1/me").status_code == 401
    own = api_client(db, user)
    org_service.change_own_password(db, actor=org_service.actor_for(user), old="Reset-passw0rd!",
                                    new="Another-passw0rd!")
    assert own.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("path", [
    "/rate?org=" + "%2F" * 1000,
    "/api/v1/reviews/metrics?org=511902&period=9999-12",
    "/api/v1/audit?since=2026-11-01",
    "/api/v1/audit?until=2026-11-01T08:00:00",
])
def test_hostile_parameters_are_answered_not_crashed_on(db: Session, path: str) -> None:
    response = api_client(db, make_user(db, role=Role.admin)).get(path)
    assert response.status_code < 500, response.text


def test_a_slash_bomb_org_and_a_formula_bomb_are_refused(db: Session) -> None:
    client = TestClient(create_app())
    rating = client.post("/api/v1/reviews", json={"channel": "网站", "org": "/" * 1000,
                                                   "level": 5})
    assert rating.status_code == 422
    analyst = api_client(db, make_user(db, role=Role.analyst))
    long = "+".join(["a"] * 1200)
    indicators = f"""
      - {{code: X1, name: 公式, max_points: 6, rule: {{type: formula, expression: "{long}"}}}}
"""
    refused = analyst.post("/api/v1/assessment/schemes", json={"yaml": scheme_yaml(
        code="bomb", cohort="bz-counties", indicators=indicators)})
    assert refused.status_code == 422 and "公式过长" in refused.text
    deep = "-" * 900 + "a"
    nested = indicators.replace(long, deep)
    refused = analyst.post("/api/v1/assessment/schemes", json={"yaml": scheme_yaml(
        code="bomb2", cohort="bz-counties", indicators=nested)})
    assert refused.status_code == 422


def test_org_codes_cannot_pose_as_names(db: Session) -> None:
    analyst = api_client(db, make_user(db, role=Role.analyst))
    posing = analyst.post("/api/v1/orgs", json={"name": "影子部门", "level": "department",
                                                "parent": "511900", "code": "通江县"})
    assert posing.status_code == 400 and "组织代码" in posing.json()["detail"]
    assert analyst.post("/api/v1/orgs", json={"name": "斜杠部门", "level": "department",
                                              "parent": "511900", "code": "a/b"}).status_code == 400


def test_an_adjustments_source_link_is_a_page_or_a_web_address(db: Session) -> None:
    from tongban.assessment import service as assessment
    from tongban.core.errors import DomainError
    from tongban.org import service as org_service

    org = org_service.resolve_org(db, ref="巴州区")
    for bad in ("javascript:alert(1)", "file://share/x", "//evil.example/x"):
        with pytest.raises(DomainError):
            assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-04", org=org,
                                         points=-1, reason="x", source_url=bad)
    made, _ = assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-04", org=org,
                                           points=-1, reason="x", source_url="/rectification")
    assert made.source_url == "/rectification"


def test_a_liaisons_risk_board_uses_the_published_sheet(db: Session) -> None:
    analyst = api_client(db, make_user(db, role=Role.analyst))
    made = analyst.post("/api/v1/rectification/tasks", json={
        "category": "其他", "title": "风险", "org": "巴州区", "due_workdays": 5,
        "lines": [{"item_code": "A", "item_name": "B", "problem": "C"}],
        "penalty": {"indicator": "D02", "points_each": 0.5, "org": "巴州区", "scheme": "bz-hcp"}})
    assert made.status_code == 201, made.text
    liaison = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    board = liaison.get("/api/v1/rectification/risk")
    assert board.status_code == 200, board.text
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert page.get("/rectification/risk").status_code == 200


def test_a_runner_reaches_no_rectification_task(db: Session) -> None:
    api = api_client(db, make_user(db, role=Role.runner, org="巴州区"))
    assert api.get("/api/v1/rectification/tasks").status_code == 403
    assert api.get("/api/v1/rectification/tasks/1").status_code == 404


def test_jobs_run_removes_rate_counters_of_windows_long_past(db: Session,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from tongban.core import ratelimit
    from tongban.core.db import utcnow

    earlier = utcnow() - timedelta(days=3)
    monkeypatch.setattr(ratelimit, "utcnow", lambda: earlier)
    ratelimit.count_hit(db, key="old-window", window=timedelta(minutes=1))
    monkeypatch.setattr(ratelimit, "utcnow", utcnow)
    ratelimit.count_hit(db, key="this-window", window=timedelta(minutes=1))
    result = runner.invoke(cli, ["jobs", "run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rate_counters_removed"] >= 1
    keys = set(db.scalars(select(ratelimit.RateCounter.key)))
    assert "old-window" not in keys and "this-window" in keys


def test_no_message_a_page_can_show_names_a_cli_flag() -> None:
    """Pages show service errors as they are: they must not tell a clerk to type --cohort."""
    import re
    from pathlib import Path

    import tongban

    root = Path(tongban.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if "cli" in path.relative_to(root).parts:
            continue  # the CLI may name its own options
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for literal in re.findall(r'"([^"]*)"', line):
                if re.search(r"[\u4e00-\u9fff]", literal) and re.search(r"(?<![\w-])--[a-z]", literal):
                    found.append(f"{path.relative_to(root)}:{n}: {literal}")
    assert found == []
