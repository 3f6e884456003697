"""Attacks on the citizen's tracking page and the rating page's SMS code: guessed links, forged
requests, floods, brute-forced codes, script in a reply, a phone number in full."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.reviews.test_tracking import PHONE, answer, code_in, public_case, rate, reply, sms_on
from tests.security.test_public_reviews import rating
from tongban.app import create_app
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.reviews import service
from tongban.reviews.enums import CaseAction, CaseState
from tongban.reviews.models import PhoneCode


def test_a_guessed_link_is_a_404_that_says_nothing_of_what_exists(db: Session) -> None:
    token, case_ = public_case(db)
    client = TestClient(create_app())
    assert client.get(f"/track/{token}").status_code == 200
    guesses = [secrets.token_urlsafe(24), token[:-1] + ("A" if token[-1] != "A" else "B"),
               str(case_.id), str(case_.review_id), token.upper() if token.upper() != token
               else token.lower(), "x" * 5000, "%2e%2e"]
    answers = [client.get(f"/track/{guess}") for guess in guesses]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1  # the same page whatever was guessed
    assert "巴州区" not in answers[0].text


def test_answering_through_a_guessed_link_is_a_404(db: Session) -> None:
    client = TestClient(create_app())
    token = client.get("/rate").text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post("/track", data={"csrf_token": token, "answer": "satisfied",
                                          "token": secrets.token_urlsafe(24)})
    assert refused.status_code == 404


def test_answers_and_codes_need_the_pages_csrf_token(db: Session,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    token, case_ = public_case(db)
    reply(db, case_)
    client = TestClient(create_app())
    client.get(f"/track/{token}")
    forged = client.post("/track", data={"token": token, "answer": "satisfied"})
    assert forged.status_code == 403
    assert client.post("/rate/code", data={"phone": PHONE, "csrf_token": "x"}).status_code == 403
    db.refresh(case_)
    assert case_.state == CaseState.replied and texts == []


def test_answers_are_rate_limited_per_client_even_when_refused(
        db: Session, monkeypatch: pytest.MonkeyPatch, one_window: None) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_TRACK_RATE_PER_CLIENT", "3")
    get_settings.cache_clear()
    client = TestClient(create_app())
    csrf = client.get("/rate").text.split('name="csrf_token" value="')[1].split('"')[0]
    codes = [client.post("/track", data={"csrf_token": csrf, "answer": "satisfied",
                                         "token": secrets.token_urlsafe(24)}).status_code
             for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_the_answer_counts_only_while_the_reply_waits_and_only_once(db: Session) -> None:
    token, case_ = public_case(db)
    client = TestClient(create_app())
    early = answer(client, token, "satisfied")
    assert "单位答复整改结果后才能确认" in early.text
    db.refresh(case_)
    assert case_.state == CaseState.received
    reply(db, case_)
    answer(client, token, "satisfied")
    late = answer(client, token, "unsatisfied")
    assert "每次答复只能确认一次" in late.text
    db.refresh(case_)
    assert (case_.state, case_.follow_up) == (CaseState.closed, "satisfied")


def test_a_reply_with_script_is_shown_as_text(db: Session) -> None:
    token, case_ = public_case(db, comment="<img src=x onerror=alert(2)>")
    reply(db, case_, text='<script>alert(1)</script>"><b>整改</b>')
    page = TestClient(create_app()).get(f"/track/{token}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<b>整改" not in page


def test_the_tracking_page_shows_the_phone_masked(db: Session) -> None:
    token, _ = public_case(db, phone=PHONE, comment=f"请打{PHONE}或身份证510102199001011234")
    page = TestClient(create_app()).get(f"/track/{token}").text
    assert PHONE not in page and "138****5678" in page and "199001011234" not in page


def test_codes_are_limited_per_phone_and_per_client(db: Session, monkeypatch: pytest.MonkeyPatch,
                                                    one_window: None) -> None:
    texts = sms_on(monkeypatch)
    monkeypatch.setenv("TONGBAN_REVIEW_PHONE_CODES_PER_PHONE", "2")
    monkeypatch.setenv("TONGBAN_REVIEW_PHONE_CODES_PER_CLIENT", "3")
    get_settings.cache_clear()
    client = TestClient(create_app())
    answers = [rate(client, "/rate/code", phone=PHONE).status_code for _ in range(3)]
    assert answers == [200, 200, 429] and len(texts) == 2
    other = [rate(client, "/rate/code", phone=f"1390000000{n}").status_code for n in range(2)]
    assert other == [200, 429]  # the client's third code, then over its limit
    assert len(texts) == 3


def test_a_code_dies_after_too_many_wrong_tries_even_through_the_api(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    service.send_phone_code(db, phone=PHONE, client="198.51.100.30")
    right = code_in(texts[-1])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    api = TestClient(create_app())
    tries = [api.post("/api/v1/reviews", json=rating(phone=PHONE, phone_code=wrong, comment=str(n)))
             for n in range(get_settings().review_phone_code_attempts)]
    assert {t.status_code for t in tries} == {422}
    late = api.post("/api/v1/reviews", json=rating(phone=PHONE, phone_code=right))
    assert late.status_code == 422 and "错误次数过多" in late.text


def test_an_expired_code_is_refused(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    service.send_phone_code(db, phone=PHONE, client="198.51.100.31")
    db.execute(update(PhoneCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = rate(TestClient(create_app()), phone=PHONE, phone_code=code_in(texts[-1]))
    assert refused.status_code == 422 and "验证码已过期" in refused.text


def test_only_the_code_hash_is_stored(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    service.send_phone_code(db, phone=PHONE, client="198.51.100.32")
    stored = db.query(PhoneCode).order_by(PhoneCode.id.desc()).first()
    assert stored is not None
    assert code_in(texts[-1]) not in stored.code_hash and PHONE not in stored.phone_key


def test_a_staff_satisfied_without_a_note_is_refused_through_the_api(db: Session) -> None:
    from tests.factories import api_client, make_user
    from tongban.core.security import Role

    _, case_ = public_case(db)
    reply(db, case_)
    liaison = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    refused = liaison.post(f"/api/v1/reviews/cases/{case_.id}/actions/{CaseAction.satisfied.value}",
                           json={"note": ""})
    assert refused.status_code == 400 and "电话回访记录" in refused.text
