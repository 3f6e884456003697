"""Health check, `tongban db upgrade`, calendar and audit commands, admin pages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import csrf_of, logged_in_client, make_user
from tongban.app import create_app
from tongban.cli import app as cli
from tongban.core import audit, workdays
from tongban.core.audit import AuditEntry
from tongban.core.db import head_revision
from tongban.core.security import SYSTEM_ACTOR, Role

runner = CliRunner()


def test_healthz_reports_database_and_revision(db: Session) -> None:
    response = TestClient(create_app()).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["revision"] == body["head"] == head_revision()


def test_healthz_reports_a_schema_behind_the_code(db: Session,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.system import service as system_service

    monkeypatch.setattr(system_service, "head_revision", lambda: "9999")
    response = TestClient(create_app()).get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"] == "schema behind: run tongban db upgrade"


def test_db_upgrade_twice_changes_nothing(db: Session) -> None:
    result = runner.invoke(cli, ["db", "upgrade", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["created"] == 0 and payload["updated"] == 0
    assert payload["revision"] == head_revision()


def test_score_explanations_are_compressed_with_lz4_on_postgresql(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    method = db.scalar(text(
        "SELECT attcompression FROM pg_attribute "
        "WHERE attrelid = 'score_line'::regclass AND attname = 'items'"))
    assert method == "l"  # lz4: pglz, the default, took four times as long to store a sheet


def test_demo_load_is_idempotent(db: Session) -> None:
    result = runner.invoke(cli, ["demo", "load", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["created_orgs"], payload["created_cohorts"], payload["created_users"]) == (
        0, 0, 0)
    assert {u["username"] for u in payload["logins"]} >= {"admin", "analyst", "liaison"}


def test_cli_add_workdays_prints_the_due_date(db: Session) -> None:
    result = runner.invoke(cli, ["calendar", "add-workdays", "2026-09-28", "15"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "2026-10-23"


def test_cli_add_workdays_in_an_unknown_year_explains_what_to_do(db: Session) -> None:
    result = runner.invoke(cli, ["calendar", "add-workdays", "2027-03-01", "5"])
    assert result.exit_code == 1
    assert "2027年的法定节假日安排尚未录入" in result.output


def test_cli_calendar_import_then_counts_in_the_new_year(db: Session, tmp_path: Path) -> None:
    notice = tmp_path / "2027.csv"
    notice.write_text("date,kind\n2027-01-01,holiday\n2027-02-06,workday\n", encoding="utf-8")
    result = runner.invoke(cli, ["calendar", "import", str(notice)])
    assert result.exit_code == 0, result.output
    assert "2 天有变更" in result.stdout
    assert workdays.is_workday(date(2027, 2, 6), db=db)


def test_cli_calendar_import_reports_bad_rows(db: Session, tmp_path: Path) -> None:
    notice = tmp_path / "bad.csv"
    notice.write_text("date,kind\n2027-01-01,vacation\n", encoding="utf-8")
    result = runner.invoke(cli, ["calendar", "import", str(notice)])
    assert result.exit_code == 1
    assert "bad.csv 有 1 处错误" in result.output
    assert "类型「vacation」无效，应为 holiday 或 workday：「kind」列第2行" in result.output


def test_cli_audit_verify_finds_a_tampered_row(db: Session) -> None:
    ok = runner.invoke(cli, ["audit", "verify", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    target = db.query(AuditEntry).order_by(AuditEntry.id).offset(3).first()
    assert target is not None
    db.execute(update(AuditEntry).where(AuditEntry.id == target.id).values(actor="mallory"))
    db.commit()
    broken = runner.invoke(cli, ["audit", "verify", "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_broken_id"] == target.id


def test_audit_page_filters_by_action(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    page = client.get("/admin/audit?action=cohort.created")
    assert page.status_code == 200
    assert "bz-counties" in page.text and "user.created" not in page.text.split("<tbody>")[1]


def test_audit_pager_links_keep_the_filters(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    assert 'href="/admin/audit?page=2"' in client.get("/admin/audit").text
    for n in range(55):
        make_user(db, role=Role.analyst, username=f"pager-{n}")
    filtered = client.get("/admin/audit", params={"action": "user.created"}).text
    assert 'href="/admin/audit?action=user.created&amp;page=2"' in filtered


def _audit_rows(html: str) -> list[str]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [cell.split("</code>")[0] for cell in body.split("<code>")[1:]]  # object ids


def test_audit_log_searches_reasons_and_pages_in_either_order(db: Session) -> None:
    for n in range(3):
        audit.record(db, actor=SYSTEM_ACTOR, action="test.listed", object_type="listing",
                     object_id=f"obj-{n}", reason=f"分页检索用的原因{n}")
    client = logged_in_client(db, make_user(db, role=Role.admin))
    newest = client.get("/admin/audit", params={"q": "分页检索用", "page_size": 2}).text
    assert "共 3 条" in newest and _audit_rows(newest) == ["obj-2", "obj-1"]
    second = f"/admin/audit?q={quote('分页检索用')}&amp;page_size=2&amp;page=2"
    assert f'href="{second}"' in newest
    assert _audit_rows(client.get(second.replace("&amp;", "&")).text) == ["obj-0"]
    oldest = client.get("/admin/audit", params={"q": "分页检索用", "page_size": 2,
                                                "sort": "at"}).text
    assert _audit_rows(oldest) == ["obj-0", "obj-1"]
    assert 'aria-sort="ascending"' in oldest
    assert _audit_rows(client.get("/admin/audit", params={"q": "obj-1"}).text) == ["obj-1"]


def test_audit_log_refuses_an_order_it_does_not_have(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    refused = client.get("/admin/audit", params={"sort": "reason"})
    assert refused.status_code == 422 and "不能按「reason」排序；可选：at（时间）" in refused.text


def test_calendar_page_shows_an_unknown_year_warning_and_imports(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    page = client.get("/admin/calendar?year=2027")
    assert "2027年的节假日安排尚未录入" in page.text
    response = client.post(
        "/admin/calendar/import",
        data={"csrf_token": csrf_of(client, "/admin/calendar")},
        files={"file": ("2027.csv", b"date,kind\n2027-01-01,holiday\n", "text/csv")},
        follow_redirects=True,
    )
    assert "导入完成：1 天有变更" in response.text
    assert "2027年的节假日安排尚未录入" not in client.get("/admin/calendar?year=2027").text


def test_org_browser_searches_by_pinyin_initials(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.leader))
    fragment = client.get("/orgs/-/search?q=bz")
    assert fragment.status_code == 200 and "巴中市" in fragment.text
    tree = client.get("/orgs/511900/tree")
    assert "巴州区" in tree.text and "市交通运输局" in tree.text


def test_liaison_org_browser_starts_at_its_own_org(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    page = client.get("/orgs")
    assert 'href="/orgs/511902"' in page.text and 'href="/orgs/510000"' not in page.text
    assert client.get("/orgs/511903").status_code == 404


def test_openapi_docs_are_served() -> None:
    client = TestClient(create_app())
    assert client.get("/api/docs").status_code == 200
    assert "/api/v1/orgs" in client.get("/api/openapi.json").json()["paths"]
