"""The public rating endpoints: nobody can claim the ids imports use, clashes are reported,
clients and orgs are rate-limited, and repeats are held out of every count."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import api_client, logged_in_client, make_user
from tests.reviews.test_intake import HEADER, row
from tongban.app import create_app
from tongban.core.config import get_settings
from tongban.core.errors import ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews import service
from tongban.reviews.models import NegativeCase, Review, ReviewCount


def rating(**overrides: Any) -> dict[str, Any]:
    body = {"channel": "网站", "org": "巴州区", "level": 1, "comment": "等了很久",
            "rated_at": datetime.now().astimezone().isoformat()}
    return {**body, **overrides}


def counted(db: Session, org_code: str = "511902") -> int:
    """This month's counted ratings of an org (what every metric reads)."""
    period = f"{datetime.now().astimezone():%Y-%m}"
    return db.scalar(select(func.coalesce(func.sum(ReviewCount.reviews), 0))
                     .join(Org, Org.id == ReviewCount.org_id)
                     .where(ReviewCount.period == period, ReviewCount.is_default.is_(False),
                            Org.code == org_code)) or 0


def test_a_public_rating_cannot_claim_the_id_an_import_will_bring(db: Session) -> None:
    client = TestClient(create_app())
    sent = client.post("/api/v1/reviews", json=rating(source="t", source_id="sheet-77"))
    assert sent.status_code == 201, sent.text
    stored = db.scalars(select(Review).order_by(Review.id.desc()).limit(1)).one()
    assert stored.source == "public" and stored.source_id != "sheet-77"
    result = service.import_reviews(db, actor=SYSTEM_ACTOR, filename="省平台.csv",
                                    source=io.BytesIO((HEADER + row("sheet-77")).encode()))
    assert result.imported == 1 and result.skipped == 0


def test_imports_and_feeds_may_not_use_the_public_source(db: Session) -> None:
    analyst = api_client(db, make_user(db, role=Role.analyst))
    refused = analyst.post("/api/v1/reviews:batch", json={"reviews": [
        {"source": "public", "source_id": "x1", "channel": "APP", "org": "巴州区", "level": 5}]})
    assert refused.status_code == 422 and "公开评价" in refused.text
    with pytest.raises(ValidationFailed) as error:
        service.import_reviews(db, actor=SYSTEM_ACTOR, filename="a.csv", source=io.BytesIO(
            (HEADER + row("x2").replace("t,x2", "rate-page,x2", 1)).encode()))
    assert "公开评价" in str(error.value)


def test_an_id_taken_by_a_different_review_is_reported_not_skipped(db: Session) -> None:
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="a.csv",
                           source=io.BytesIO((HEADER + row("dup-1", level="5")).encode()))
    again = service.import_reviews(db, actor=SYSTEM_ACTOR, filename="a.csv",
                                   source=io.BytesIO((HEADER + row("dup-1", level="5")).encode()))
    assert again.skipped == 1  # the same review again: idempotent
    with pytest.raises(ValidationFailed) as error:
        service.import_reviews(db, actor=SYSTEM_ACTOR, filename="b.csv", source=io.BytesIO(
            (HEADER + row("dup-1", level="1", org="恩阳区")).encode()))
    assert "已被另一条评价使用" in str(error.value)


def test_one_client_is_limited_per_minute_with_retry_after(
        db: Session, monkeypatch: pytest.MonkeyPatch, one_window: None) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_RATE_PER_CLIENT", "3")
    get_settings.cache_clear()
    client = TestClient(create_app())
    codes = [client.post("/api/v1/reviews", json=rating(comment=f"第{n}次")).status_code
             for n in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post("/api/v1/reviews", json=rating(comment="再来"))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    page = client.get("/rate?org=巴州区")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    blocked = client.post("/rate", data={"csrf_token": token, "org": "巴州区", "level": "5",
                                         "channel": "window"})
    assert blocked.status_code == 429


def test_one_org_is_limited_per_minute(db: Session, monkeypatch: pytest.MonkeyPatch,
                                       one_window: None) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_RATE_PER_ORG", "2")
    get_settings.cache_clear()
    codes = [service.submit_review(db, values=rating(comment=f"{n}"), client=f"10.0.0.{n}")
             for n in range(2)]
    assert all(c.imported == 1 for c in codes)
    with pytest.raises(Exception) as error:
        service.submit_review(db, values=rating(comment="3"), client="10.0.0.9")
    assert getattr(error.value, "status_code", None) == 429


def test_a_repeat_from_one_client_is_held_out_of_every_count(db: Session) -> None:
    before = counted(db)
    cases_before = db.scalar(select(func.count()).select_from(NegativeCase)) or 0
    first = service.submit_review(db, values=rating(), client="203.0.113.5")
    repeat = service.submit_review(db, values=rating(), client="203.0.113.5")
    other = service.submit_review(db, values=rating(), client="203.0.113.6")
    assert (first.held, repeat.held, other.held) == (0, 1, 0)
    assert counted(db) == before + 2
    assert (db.scalar(select(func.count()).select_from(NegativeCase)) or 0) == cases_before + 2
    analyst = make_user(db, role=Role.analyst)
    [held] = service.held_reviews(db, actor=org_service.actor_for(analyst),
                                  params=ListParams()).items
    assert held.voided and held.hold == "held"
    browser = logged_in_client(db, analyst)
    page = browser.get("/reviews/held")
    assert page.status_code == 200 and "等了很久" in page.text
    assert "请确认" in browser.get("/reviews/dashboard").text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    browser.post(f"/reviews/held/{held.id}/count", data={"csrf_token": token})
    assert counted(db) == before + 3
    assert (db.scalar(select(func.count()).select_from(NegativeCase)) or 0) == cases_before + 3


def test_a_discarded_repeat_stays_out_and_only_analysts_decide(db: Session) -> None:
    service.submit_review(db, values=rating(level=5, comment="好"), client="198.51.100.1")
    service.submit_review(db, values=rating(level=5, comment="好"), client="198.51.100.1")
    before = counted(db)
    liaison = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert liaison.get("/api/v1/reviews/held").status_code == 403
    analyst = api_client(db, make_user(db, role=Role.analyst))
    [held] = analyst.get("/api/v1/reviews/held").json()["items"]
    assert liaison.post(f"/api/v1/reviews/held/{held['id']}/discard").status_code == 403
    done = analyst.post(f"/api/v1/reviews/held/{held['id']}/discard")
    assert done.status_code == 200 and done.json()["hold"] == "discarded"
    assert counted(db) == before
    assert analyst.post(f"/api/v1/reviews/held/{held['id']}/count").status_code == 404


def test_level_true_is_not_a_level(db: Session) -> None:
    client = TestClient(create_app())
    assert client.post("/api/v1/reviews", json=rating(level=True)).status_code == 422


def test_a_stranger_rating_a_case_first_blocks_neither_the_citizen_nor_the_import(
        db: Session) -> None:
    client = TestClient(create_app())
    squat = client.post("/api/v1/reviews", json=rating(level=5, case_no="BZ-000777"))
    genuine = client.post("/api/v1/reviews", json=rating(level=1, case_no="BZ-000777",
                                                          comment="办事太慢"))
    assert squat.status_code == 201 and genuine.status_code == 201
    assert genuine.json()["held"] == 1  # kept for an analyst, not refused
    analyst = api_client(db, make_user(db, role=Role.analyst))
    feed = analyst.post("/api/v1/reviews:batch", json={"reviews": [{
        "source": "省平台", "source_id": "p-777", "channel": "网站", "org": "巴州区",
        "level": 1, "case_no": "BZ-000777"}]})
    assert feed.status_code == 201 and feed.json()["imported"] == 1


def test_the_public_cannot_backdate_or_rate_another_city(db: Session) -> None:
    client = TestClient(create_app())
    sent = client.post("/api/v1/reviews", json=rating(rated_at="2026-01-05T10:00:00+08:00"))
    assert sent.status_code == 201
    stored = db.scalars(select(Review).order_by(Review.id.desc()).limit(1)).one()
    assert abs((stored.rated_at - datetime.now().astimezone()).total_seconds()) < 60
    case_ = db.scalars(select(NegativeCase).where(NegativeCase.review_id == stored.id)).one()
    assert case_.received_on >= datetime.now().astimezone().date() - timedelta(days=1)
    elsewhere = client.post("/api/v1/reviews", json=rating(org="成都市"))
    assert elsewhere.status_code == 422 and "不是巴中市的单位" in elsewhere.text


def test_invisible_characters_do_not_get_a_repeat_past_the_hold(db: Session) -> None:
    first = service.submit_review(db, values=rating(comment="服务差"), client="203.0.113.77")
    again = service.submit_review(db, values=rating(comment="服务\u200b差 "), client="203.0.113.77")
    assert (first.held, again.held) == (0, 1)
