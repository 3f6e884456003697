"""Generating archives a report with its hashes; jobs schedule them; API, pages, CLI, scoping."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, api_client, csrf_of, logged_in_client, make_user
from tongban.assessment import service as assessment
from tongban.cli import app as cli
from tongban.core.audit import AuditEntry
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.reports import jobs, service
from tongban.reports.enums import ReportFormat, ReportKind
from tongban.reports.models import Report
from tongban.reports.service import ReportRequest

MONTHLY = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")


def test_generated_report_is_archived_with_the_hash_of_each_file(db: Session) -> None:
    report, created = service.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()  # the files take their archive names at the commit
    assert created and report.title == "2026年3月巴中市县区类考评情况通报"
    assert sorted(f.format for f in report.files) == ["docx", "html", "xlsx"]
    for file in report.files:
        content = service.path_of(file).read_bytes()
        assert hashlib.sha256(content).hexdigest() == file.sha256 and len(content) == file.size
    sheet = assessment.require_sheet(db, cohort_code="bz-counties", period="2026-03")
    assert report.source_sheet_id == sheet.id
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated",
                                               AuditEntry.object_id == str(report.id)))
    assert entry is not None
    assert entry.changes["sha256"] == {f.format: f.sha256 for f in report.files}


def test_same_data_returns_the_archived_report_changed_data_a_new_one(db: Session) -> None:
    first, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()  # the files take their archive names at the commit
    again, created = service.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()  # the files take their archive names at the commit
    assert again.id == first.id and not created
    assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-03",
                                 org=org_service.resolve_org(db, ref="通江县"), points=-0.5,
                                 reason="测试：材料报送延迟", scheme_code="bz-hcp")
    assessment.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                             period="2026-03", reason="补录扣分")
    assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties", period="2026-03")
    changed, created = service.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()  # the files take their archive names at the commit
    assert created and changed.id != first.id


def test_a_tampered_archive_file_is_refused(db: Session) -> None:
    report, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MONTHLY)
    db.commit()  # the files take their archive names at the commit
    docx = next(f for f in report.files if f.format == "docx")
    service.path_of(docx).write_bytes(b"changed")
    assert service.verify(report)["docx"] is False
    with pytest.raises(DomainError, match="哈希不一致"):
        service.report_file(db, actor=SYSTEM_ACTOR, report_id=report.id, fmt=ReportFormat.docx)


def test_liaisons_cannot_generate_or_read_reports(db: Session) -> None:
    liaison = actor_of(db, role=Role.liaison, org="通江县")
    with pytest.raises(PermissionDenied):
        service.generate(db, actor=liaison, request=MONTHLY)
    with pytest.raises(PermissionDenied):
        service.list_reports(db, actor=liaison, params=ListParams())


def test_job_writes_the_weekly_bulletin_on_monday_once(db: Session) -> None:
    monday = date(2026, 11, 23)
    first = jobs.run(db, as_of=monday)
    weekly = db.scalars(select(Report).where(Report.kind == "weekly")).all()
    assert [r.period_key for r in weekly] == ["2026-W47"] and weekly[0].trigger == "job"
    assert weekly[0].id in first.generated
    assert jobs.run(db, as_of=monday).generated == []
    assert not db.scalars(select(Report).where(
        Report.kind == "weekly", Report.period_key != "2026-W47")).all()
    jobs.run(db, as_of=date(2026, 11, 24))  # a Tuesday: no bulletin
    assert len(db.scalars(select(Report).where(Report.kind == "weekly")).all()) == 1


def test_job_writes_the_monthly_evaluation_when_a_sheet_is_published(db: Session) -> None:
    tuesday = date(2026, 11, 24)
    jobs.run(db, as_of=tuesday)
    monthly = db.scalars(select(Report).where(Report.kind == "monthly")).all()
    assert {(r.scope, r.period_key) for r in monthly} == {
        ("sichuan-cities", "2026-03"), ("bz-counties", "2026-03"), ("bz-dept-a", "2026-03"),
        ("bz-dept-b", "2026-03")}
    assert jobs.run(db, as_of=tuesday).generated == []
    sheet = assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                                     period="2026-04")
    [new] = jobs.run(db, as_of=tuesday).generated
    report = db.get(Report, new)
    assert report is not None and report.source_sheet_id == sheet.id
    assert report.period_key == "2026-04" and report.trigger == "job"


def test_api_generates_lists_and_downloads(db: Session) -> None:
    analyst = api_client(db, make_user(db, role=Role.analyst, org="巴中市"))
    created = analyst.post("/api/v1/reports", json={"kind": "quarterly", "cohort": "bz-counties",
                                                    "period": "2026Q1"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] and body["period"] == "2026Q1"
    assert {f["format"]: f["intact"] for f in body["files"]} == {
        "docx": True, "xlsx": True, "html": True}
    again = analyst.post("/api/v1/reports", json={"kind": "quarterly", "cohort": "bz-counties",
                                                  "period": "2026Q1"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    docx = analyst.get(f"/api/v1/reports/{body['id']}/files/docx")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    assert "attachment" in docx.headers["content-disposition"]
    assert hashlib.sha256(docx.content).hexdigest() == next(
        f["sha256"] for f in body["files"] if f["format"] == "docx")
    assert [r["id"] for r in analyst.get("/api/v1/reports").json()["items"]] == [body["id"]]
    bad = analyst.post("/api/v1/reports", json={"kind": "quarterly", "cohort": "bz-counties",
                                                "period": "2026-Q1"})
    assert bad.status_code == 400 and "2026Q1" in bad.json()["detail"]
    liaison = api_client(db, make_user(db, role=Role.liaison, org="通江县"))
    assert liaison.get(f"/api/v1/reports/{body['id']}/files/docx").status_code == 403


def test_pages_preview_generate_and_download(db: Session) -> None:
    user = make_user(db, role=Role.analyst, org="巴中市")
    client = logged_in_client(db, user)
    index = client.get("/reports")
    assert index.status_code == 200 and "生成通报" in index.text
    preview = client.get("/reports/preview", params={"kind": "monthly", "cohort": "bz-counties",
                                                     "period": "2026-03"})
    assert preview.status_code == 200
    assert "2026年3月巴中市县区类考评情况通报" in preview.text
    assert 'href="/assessment/bz-counties/2026-03/orgs/' in preview.text
    assert 'data-testid="generate"' in preview.text
    leader = logged_in_client(db, make_user(db, role=Role.leader))
    read_only = leader.get("/reports/preview", params={"kind": "monthly",
                                                       "cohort": "bz-counties",
                                                       "period": "2026-03"})
    assert read_only.status_code == 200 and "考评情况通报" in read_only.text
    assert 'data-testid="generate"' not in read_only.text  # the service would refuse it
    posted = client.post("/reports", data={"kind": "monthly", "cohort": "bz-counties",
                                           "period": "2026-03", "as_of": "",
                                           "csrf_token": csrf_of(client, "/reports")},
                         follow_redirects=False)
    assert posted.status_code == 303
    page = client.get(posted.headers["location"])
    assert "归档哈希" in page.text
    html = client.get(posted.headers["location"] + "/html")
    assert html.status_code == 200 and "inline" in html.headers["content-disposition"]
    assert "考评情况通报" in html.text


def test_cli_writes_the_three_files_and_reports_their_paths(db: Session, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "monthly", "--cohort", "bz-counties", "--period",
                                      "2026-03", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    paths = json.loads(result.output)
    for fmt in ("docx", "xlsx", "html"):
        path = Path(paths[fmt])
        assert path.is_file() and path.parent == tmp_path / "out"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == paths["sha256"][fmt]
    weekly = CliRunner().invoke(cli, ["report", "weekly", "--as-of", "2026-11-23", "--out",
                                      str(tmp_path / "out"), "--json"])
    assert weekly.exit_code == 0, weekly.output
    assert json.loads(weekly.output)["docx"].endswith("（2026-W47）.docx")
    missing = CliRunner().invoke(cli, ["report", "quarterly", "--cohort", "bz-counties",
                                       "--quarter", "2030Q1", "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "尚无成绩单" in missing.output
