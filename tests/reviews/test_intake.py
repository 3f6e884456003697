"""Review intake: parsing rules, dedup (一事一评/一次一评), streaming import, masking."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import located
from tongban.app import create_app
from tongban.cli import app as cli
from tongban.core import privacy
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR
from tongban.reviews import service
from tongban.reviews.models import NegativeCase, Review

HEADER = "source,source_id,channel,org,item_code,case_no,level,tags,comment,named,phone,rated_at\n"


def row(sid: str, *, channel: str = "网站", org: str = "巴州区", case: str = "C1",
        level: str = "5", tags: str = "", named: str = "否", phone: str = "",
        rated: str = "2026-02-03 10:00:00", comment: str = "") -> str:
    return f"t,{sid},{channel},{org},511A0138000000,{case},{level},{tags},{comment},{named},{phone},{rated}\n"


def run(db: Session, text: str, rejects: io.StringIO | None = None) -> service.IntakeResult:
    return service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                                  filename="评价.csv", rejects=rejects)


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Review).where(Review.source == "t")) or 0


def test_import_opens_a_case_for_each_negative_review(db: Session) -> None:
    result = run(db, HEADER + row("1") + row("2", case="C2", level="不满意", tags="服务态度、多次跑动")
                 + row("3", case="C3", level="1", named="是", phone="13812345678"))
    assert (result.imported, result.cases_opened) == (3, 2)
    cases = db.scalars(select(NegativeCase).join(Review).where(Review.source == "t")).all()
    assert {c.category for c in cases} == {"服务态度", "其他"}


def test_deadlines_count_working_days_from_the_next_day(db: Session) -> None:
    run(db, HEADER + row("1", level="1", rated="2026-09-30 16:00:00"))
    case_ = db.scalars(select(NegativeCase).join(Review).where(Review.source == "t")).one()
    assert case_.callback_due.isoformat() == "2026-10-08"  # National Day holiday
    assert case_.rectify_due.isoformat() == "2026-10-27"  # 15 working days incl. Sat 10-10


def test_timestamp_without_zone_is_shanghai_time(db: Session) -> None:
    run(db, HEADER + row("1", rated="2026-02-01 07:30:00"))
    review = db.scalars(select(Review).where(Review.source == "t")).one()
    assert review.rated_at.isoformat() == "2026-01-31T23:30:00+00:00"
    assert review.period == "2026-02"


def test_reimport_is_idempotent(db: Session) -> None:
    text = HEADER + row("1") + row("2", case="C2", level="2")
    run(db, text)
    again = run(db, text)
    assert (again.imported, again.skipped, again.cases_opened) == (0, 2, 0)
    assert count(db) == 2


def test_one_rating_per_case_per_channel_online(db: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        run(db, HEADER + row("1", case="C9") + row("2", case="C9"))
    assert "一事一评" in excinfo.value.errors.groups[0].reason
    assert count(db) == 0
    result = run(db, HEADER + row("1", case="C9") + row("2", case="C9", channel="APP"))
    assert result.imported == 2


def test_one_rating_per_visit_on_site(db: Session) -> None:
    text = HEADER + row("1", channel="窗口", case="C7") + row(
        "2", channel="窗口", case="C7", rated="2026-02-04 09:00:00")
    assert run(db, text).imported == 2  # a later visit may be rated again
    with pytest.raises(ValidationFailed, match="一次一评"):
        run(db, HEADER + row("3", channel="窗口", case="C7", rated="2026-02-04 15:00:00"))


def test_every_bad_row_is_reported_and_nothing_is_stored(db: Session) -> None:
    text = HEADER + row("1") + row("2", level="6") + row("3", channel="传真") + row(
        "4", org="不存在区") + row("5", tags="天气") + row("6", named="也许") + row(
        "7", rated="2099-01-01 00:00:00") + row("8", rated="昨天")
    with pytest.raises(ValidationFailed) as excinfo:
        run(db, text)
    found = [(row, column) for row, column, _ in located(excinfo.value)]
    assert found == [(3, "level"), (4, "channel"), (5, "org"), (6, "tags"), (7, "named"),
                     (8, "rated_at"), (9, "rated_at")]
    assert all(group.file == "评价.csv" for group in excinfo.value.errors)
    assert count(db) == 0


def test_skip_invalid_imports_the_rest_and_writes_every_rejected_row(db: Session) -> None:
    rejects = io.StringIO()
    result = run(db, HEADER + row("1") + row("2", level="9") + row("3", case="C3"), rejects)
    assert (result.imported, result.error_count) == (2, 1)
    lines = rejects.getvalue().splitlines()
    assert lines[0].endswith("row,reason") and "level：评价等级「9」" in lines[1]


def test_phone_is_protected_and_comments_are_masked(db: Session) -> None:
    run(db, HEADER + row("1", level="1", named="是", phone="13812345678",
                         comment="我的身份证511902199001011234电话13900001111"))
    review = db.scalars(select(Review).where(Review.source == "t")).one()
    assert "13812345678" not in review.phone_cipher and review.phone_masked == "138****5678"
    assert privacy.reveal(review.phone_cipher) == "13812345678"
    assert privacy.mask_text(review.comment) == "我的身份证511902********1234电话139****1111"


def test_public_api_accepts_one_rating_and_reports_errors_in_chinese(db: Session) -> None:
    client = TestClient(create_app())
    ok = client.post("/api/v1/reviews", json={
        "source_id": "web-1", "channel": "小程序", "org": "巴州区", "level": "非常不满意",
        "tags": ["系统故障"], "case_no": "W1", "rated_at": "2026-02-03T10:00:00+08:00"})
    assert ok.status_code == 201 and ok.json()["cases_opened"] == 1
    bad = client.post("/api/v1/reviews", json={"source_id": "web-2", "channel": "小程序",
                                                "org": "巴州区", "level": 7})
    assert bad.status_code == 422 and "评价等级" in bad.json()["errors"][0]["reason"]


def test_batch_api_needs_a_manager_token(db: Session) -> None:
    response = TestClient(create_app()).post("/api/v1/reviews:batch", json={"reviews": [
        {"source_id": "b1", "channel": "APP", "org": "巴州区", "level": 5}]})
    assert response.status_code == 401


def test_rating_page_submits_a_review(db: Session) -> None:
    client = TestClient(create_app())
    page = client.get("/rate?org=511902&item=511A0138000000&case=Q1&channel=window")
    assert page.status_code == 200 and "巴州区" in page.text and "非常满意" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    thanks = client.post("/rate", data={"csrf_token": token, "org": "511902", "case": "Q1",
                                        "item": "511A0138000000", "channel": "window",
                                        "level": "2", "tags": ["多次跑动"], "comment": "跑了两趟"})
    assert thanks.status_code == 200 and "1个工作日内回访" in thanks.text
    stored = db.scalars(select(Review).where(Review.source == "public")).one()
    assert (stored.level, stored.channel, stored.case_no) == (2, "window", "Q1")
    assert stored.rated_at <= datetime.now().astimezone()


def test_cli_import_json_contract(db: Session, tmp_path: Path) -> None:
    good = tmp_path / "r.csv"
    good.write_text(HEADER + row("1") + row("2", case="C2"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["reviews", "import", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"imported": 2, "skipped": 0, "errors": [],
                                         "error_count": 0, "more_errors": 0}
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + row("9", level="x"), encoding="utf-8")
    failed = CliRunner().invoke(cli, ["reviews", "import", str(bad), "--json"])
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["errors"][0] == {
        "file": "bad.csv", "rows": [2], "count": 1, "column": "level",
        "reason": "评价等级「x」应为1–5或其中文名称"}
    rejects = tmp_path / "rejects.csv"
    skipped = CliRunner().invoke(cli, ["reviews", "import", str(bad), "--skip-invalid",
                                       str(rejects), "--json"])
    assert skipped.exit_code == 0 and "评价等级" in rejects.read_text(encoding="utf-8-sig")
