"""The optional default-rating policy: finished cases nobody rated count as 非常满意 after N
days, once, and always apart from real ratings."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import located
from tongban.cli import app as cli
from tongban.core.config import get_settings
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.tabular import open_table
from tongban.org import service as org_service
from tongban.reviews import jobs, service
from tongban.reviews.models import Review

CASES = ("org,case_no,item_code,completed_at,channel\n"
         "巴州区,H1,511A0138000000,2026-03-02 10:00,网站\n"
         "巴州区,H2,511A0138000000,2026-03-02 11:00,APP\n"
         "巴州区,H3,511A0138000000,2026-03-09 09:00,网站\n")


def load_cases(db: Session, text: str = CASES) -> service.HandledImport:
    table = open_table(io.BytesIO(text.encode()), filename="办件.csv",
                       aliases=service.HANDLED_ALIASES)
    return service.import_handled_cases(db, actor=SYSTEM_ACTOR, rows=table.rows,
                                        filename="办件.csv")


def rate(db: Session, case_no: str, level: int) -> None:
    service.submit_batch(db, actor=SYSTEM_ACTOR, rows=[{
        "source": "t", "source_id": f"r-{case_no}", "channel": "网站", "org": "巴州区",
        "case_no": case_no, "level": str(level), "tags": "", "comment": "", "named": "否",
        "phone": "", "rated_at": "2026-03-04 09:00"}])


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TONGBAN_REVIEW_DEFAULT_RATING_DAYS", "7")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("TONGBAN_REVIEW_DEFAULT_RATING_DAYS")
    get_settings.cache_clear()


def defaults(db: Session) -> list[Review]:
    return list(db.scalars(select(Review).where(Review.is_default.is_(True))
                           .order_by(Review.case_no)))


def test_the_policy_is_off_by_default(db: Session) -> None:
    load_cases(db)
    assert service.apply_default_ratings(db, as_of=date(2026, 4, 30)) == 0
    assert defaults(db) == []


def test_unrated_cases_get_a_marked_default_after_the_days(db: Session, policy: None) -> None:
    load_cases(db)
    rate(db, "H2", 2)
    assert service.apply_default_ratings(db, as_of=date(2026, 3, 8)) == 0  # 6 days: not yet
    assert service.apply_default_ratings(db, as_of=date(2026, 3, 9)) == 1
    [given] = defaults(db)
    assert (given.case_no, given.level, given.source, given.period) == ("H1", 5, "default",
                                                                        "2026-03")
    assert given.rated_at.astimezone().date() <= date(2026, 3, 9)
    assert service.apply_default_ratings(db, as_of=date(2026, 3, 20)) == 1  # H3 now, H1 once
    assert [r.case_no for r in defaults(db)] == ["H1", "H3"]


def test_defaults_are_counted_apart_from_real_ratings(db: Session, policy: None) -> None:
    load_cases(db)
    rate(db, "H2", 2)
    service.apply_default_ratings(db, as_of=date(2026, 3, 31))
    org = org_service.resolve_org(db, ref="巴州区")
    m = service.metrics(db, actor=SYSTEM_ACTOR, org=org, period="2026-03",
                        as_of=date(2026, 3, 31))
    assert m["default_ratings"] == 2
    assert m["reviews"] == 1 and m["by_level"]["5"] == 0
    assert m["good_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    assert m["bad_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1}


def test_the_job_applies_the_policy_and_writes_the_count_as_a_metric(db: Session,
                                                                      policy: None) -> None:
    load_cases(db)
    report = jobs.run(db, as_of=date(2026, 3, 31))
    assert report.default_ratings == 3
    assert jobs.run(db, as_of=date(2026, 3, 31)).default_ratings == 0
    from tongban.assessment import service as assessment
    org = org_service.resolve_org(db, ref="巴州区")
    values = assessment.metric_values(db, period="2026-03", org_ids=[org.id])
    assert values[org.id]["default_ratings"] == 3 and values[org.id]["reviews"] == 0


def test_case_records_import_is_all_or_nothing_and_idempotent(db: Session) -> None:
    assert (load_cases(db).imported, load_cases(db).skipped) == (3, 3)
    bad = ("org,case_no,completed_at,channel\n"
           "巴州区,H9,2026-03-02 10:00,网站\n"
           "不存在的单位,H10,2026-03-02 10:00,网站\n"
           "巴州区,,2026-03-02 10:00,网站\n"
           "巴州区,H11,昨天,网站\n"
           "巴州区,H12,2026-03-02 10:00,信鸽\n"
           "巴州区,H9,2026-03-03 10:00,网站\n")
    with pytest.raises(ValidationFailed) as failed:
        load_cases(db, bad)
    assert [(row, column) for row, column, _ in located(failed.value)] == [
        (3, "org"), (4, "case_no"), (5, "completed_at"), (6, "channel"), (7, "case_no")]
    assert "重复" in located(failed.value)[-1][2]
    assert load_cases(db, "org,case_no,completed_at\n巴州区,H9,2026-03-02 10:00\n").imported == 1


def test_cli_imports_case_records(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "办件明细.csv"
    path.write_text(CASES.replace("completed_at", "办结时间"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["reviews", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"imported": 3, "skipped": 0, "errors": []}


def test_the_monthly_evaluation_lists_defaults_apart(db: Session, policy: None) -> None:
    from tongban.assessment import service as assessment
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportFormat, ReportKind

    load_cases(db)
    service.apply_default_ratings(db, as_of=date(2026, 3, 31))
    service.record_metrics(db, period="2026-03", as_of=date(2026, 3, 31))
    request = reports.ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")

    def report_text() -> str:
        html = reports.render(reports.build(db, actor=SYSTEM_ACTOR, request=request))[
            ReportFormat.html].decode()
        return " ".join(html.split())

    assert "另有默认评价" not in report_text()  # the published sheet predates them
    assessment.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                             period="2026-03", reason="补记默认评价")
    assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties", period="2026-03")
    text = report_text()
    assert "另有默认评价" in text and "3条" in text.split("另有默认评价", 1)[1][:200]
    assert "办结后7日内未评价" in text


def test_dashboard_and_bulletin_counts_leave_defaults_out(db: Session, policy: None) -> None:
    from tests.factories import logged_in_client, make_user
    from tongban.core.security import Role

    load_cases(db)
    rate(db, "H2", 2)
    service.apply_default_ratings(db, as_of=date(2026, 3, 31))
    data = service.dashboard(db, actor=SYSTEM_ACTOR)
    assert [(p, lv, n) for p, lv, n in data["per_month"] if p == "2026-03"] == [("2026-03", 2, 1)]
    assert data["defaults"] == [("2026-03", 2)]
    org = org_service.resolve_org(db, ref="巴州区")
    week = service.counts_between(db, actor=SYSTEM_ACTOR, start=date(2026, 3, 1),
                                  end=date(2026, 3, 31))
    assert week[org.id] == (1, 1)
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get("/reviews/dashboard")
    assert "另有默认评价（办结后7日内未评价" in page.text and "2026-03 2条" in page.text
    listed = analyst.get("/api/v1/reviews", params={"org": "巴州区", "period": "2026-03"}).json()["items"]
    assert sorted((r["source"], r["is_default"]) for r in listed) == [
        ("default", True), ("default", True), ("t", False)]
