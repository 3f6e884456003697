"""The citizen gets the reply: every rater's tracking link, the case's progress told in plain
words, the rater's 满意/不满意, 群众满意 only on the citizen's word, the SMS code that proves a
phone and the reply texted to the rater (where SMS is configured)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, csrf_of, logged_in_client, make_user
from tests.reviews.test_cases import make_case, walk
from tests.security.test_public_reviews import rating
from tongban.app import create_app
from tongban.core import notify, outbox
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.reviews import service
from tongban.reviews.enums import CaseAction, CaseState
from tongban.reviews.models import NegativeCase, PhoneCode, ReviewTracking

TO_REPLY = (CaseAction.callback, CaseAction.verify, CaseAction.rectify)
PHONE = "13812345678"


class Texts(Sequence[dict[str, Any]]):
    """The messages the fake gateway was given, as a phone has them once the courier ran: each
    look first delivers what the outbox holds (texts leave after their transaction commits)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def _delivered(self) -> list[dict[str, Any]]:
        outbox.deliver()
        return self.sent

    def __getitem__(self, index: Any) -> Any:
        return self._delivered()[index]

    def __len__(self) -> int:
        return len(self._delivered())

    def __eq__(self, other: object) -> bool:
        return self._delivered() == other

    __hash__ = None  # type: ignore[assignment]


def sms_on(monkeypatch: pytest.MonkeyPatch) -> Texts:
    """Configure the sms channel with a fake gateway; the messages it is given."""
    texts = Texts()
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "sms")
    monkeypatch.setenv("TONGBAN_SMS_GATEWAY_URL", "http://sms.invalid/send")
    monkeypatch.setattr(notify, "_post_json", lambda url, payload: texts.sent.append(payload))
    get_settings.cache_clear()
    return texts


def no_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any call to a gateway (SMS is not configured: nothing may be sent)."""
    def refuse(url: str, payload: dict[str, Any]) -> None:
        raise AssertionError(f"sent {payload} to {url}")
    monkeypatch.setattr(notify, "_post_json", refuse)


def code_in(message: dict[str, Any]) -> str:
    return re.findall(r"\d{6}", message["text"])[0]


def rate(client: TestClient, path: str = "/rate", **fields: Any) -> Any:
    """Fill the rating page and post it to ``path`` (the page or its code button)."""
    token = csrf_of(client, "/rate")
    form = {"csrf_token": token, "org": "巴州区", "channel": "window", "level": "1",
            "comment": "等了很久", **fields}
    return client.post(path, data=form)


def link_of(thanks: Any) -> str:
    return thanks.text.split('href="/track/')[1].split('"')[0]


def public_case(db: Session, *, phone: str = "", comment: str = "等了很久") -> tuple[str, NegativeCase]:
    """A 差评 from the public, with its tracking token and its case."""
    sent = service.submit_review(db, values=rating(phone=phone, comment=comment),
                                 client="198.51.100.20")
    [case_id] = sent.case_ids
    return sent.tracking_token, service.get_case(db, actor=SYSTEM_ACTOR, case_id=case_id)


def reply(db: Session, case_: NegativeCase, text: str = "已整改，窗口增加了人手") -> None:
    walk(db, case_, *TO_REPLY)
    service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply, note=text)


def answer(client: TestClient, token: str, value: str) -> Any:
    csrf = csrf_of(client, "/rate")  # the session's token (a page without buttons has none)
    return client.post("/track", data={"csrf_token": csrf, "token": token, "answer": value},
                       follow_redirects=True)


def test_every_rater_gets_a_tracking_link_and_only_its_hash_is_stored(db: Session) -> None:
    client = TestClient(create_app())
    thanks = rate(client, level="5", comment="很好")
    assert thanks.status_code == 200 and 'data-testid="track-link"' in thanks.text
    token = link_of(thanks)
    assert len(token) >= 32
    stored = db.scalars(select(ReviewTracking).order_by(ReviewTracking.id.desc())).first()
    assert stored is not None and token not in stored.token_hash
    page = client.get(f"/track/{token}")
    assert page.status_code == 200 and "巴州区" in page.text and "非常满意" in page.text
    assert "您的评价已收到" in page.text and 'data-testid="track-answer"' not in page.text


def test_the_api_gives_the_rater_a_tracking_link_too(db: Session) -> None:
    sent = TestClient(create_app()).post("/api/v1/reviews", json=rating())
    url = sent.json()["tracking_url"]
    assert "/track/" in url
    assert TestClient(create_app()).get(url[url.index("/track/"):]).status_code == 200


def test_a_bad_reviews_page_tells_its_progress_in_plain_words(db: Session) -> None:
    token, case_ = public_case(db)
    client = TestClient(create_app())
    first = client.get(f"/track/{token}").text
    assert "待回访" in first and f"{case_.callback_due.month}月{case_.callback_due.day}日前" in first
    walk(db, case_, CaseAction.callback)
    assert "已回访，正在核实" in client.get(f"/track/{token}").text
    walk(db, case_, CaseAction.verify, CaseAction.rectify)
    rectifying = client.get(f"/track/{token}").text
    assert "正在整改" in rectifying and 'data-testid="track-answer"' not in rectifying
    service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply,
                note="已整改；如有疑问请联系经办人13900001111")
    replied = client.get(f"/track/{token}").text
    assert "已答复整改结果" in replied and 'data-testid="track-answer"' in replied
    assert "139****1111" in replied and "13900001111" not in replied


def test_the_raters_satisfied_closes_the_case_in_the_citizens_name(db: Session) -> None:
    token, case_ = public_case(db)
    reply(db, case_)
    done = answer(TestClient(create_app()), token, "satisfied")
    assert "感谢您的答复" in done.text and "您对整改结果表示满意，已办结" in done.text
    db.refresh(case_)
    assert (case_.state, case_.follow_up, case_.follow_up_by) == ("closed", "satisfied", "citizen")
    entry = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "negative_case",
                                                AuditEntry.object_id == str(case_.id))
                       .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and (entry.action, entry.actor, entry.actor_id) == (
        "review_case.citizen_satisfied", "citizen", None)
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    shown = liaison.get(f"/reviews/cases/{case_.id}").text
    assert 'data-testid="follow-up">满意（群众在评价跟踪页面答复）' in shown
    timeline = shown.split('class="timeline"')[1].split("</ol>")[0]
    assert "评价群众" in timeline and "群众确认满意" in timeline and "citizen" not in timeline


def test_the_raters_unsatisfied_sends_the_case_back_to_rectification(db: Session) -> None:
    token, case_ = public_case(db)
    reply(db, case_)
    page = answer(TestClient(create_app()), token, "unsatisfied").text
    db.refresh(case_)
    assert case_.state == CaseState.rectifying and case_.reopen_count == 1
    assert "您表示不满意，巴州区正在重新整改" in page


def test_staff_satisfied_needs_the_callback_note(db: Session) -> None:
    case_ = make_case(db, "t-note")
    reply(db, case_)
    liaison = actor_of(db, role=Role.liaison, org="巴州区")
    assert CaseAction.satisfied in service.allowed_actions(db, actor=liaison, case_=case_)
    with pytest.raises(DomainError) as refused:
        service.act(db, actor=liaison, case_=case_, action=CaseAction.satisfied, note="  ")
    assert "电话回访记录" in refused.value.message and case_.state == CaseState.replied
    service.act(db, actor=liaison, case_=case_, action=CaseAction.satisfied,
                note="电话回访，群众说窗口现在不用排队了")
    assert (case_.state, case_.follow_up_by) == (CaseState.closed, "callback")


def test_the_case_page_asks_for_the_note_of_群众满意(db: Session) -> None:
    case_ = make_case(db, "t-form")
    reply(db, case_)
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    page = client.get(f"/reviews/cases/{case_.id}").text
    form = page.split(f'/reviews/cases/{case_.id}/actions/satisfied"')[1].split("</form>")[0]
    assert 'name="note"' in form and "required" in form and "电话回访记录" in form
    token = csrf_of(client, f"/reviews/cases/{case_.id}")
    refused = client.post(f"/reviews/cases/{case_.id}/actions/satisfied",
                          data={"csrf_token": token, "note": ""}, follow_redirects=True)
    assert "须有群众本人的答复" in refused.text
    db.refresh(case_)
    assert case_.state == CaseState.replied


def test_without_sms_the_phone_is_kept_without_a_code_and_nothing_is_texted(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    no_gateway(monkeypatch)
    client = TestClient(create_app())
    form = client.get("/rate").text
    assert 'name="phone_code"' not in form and "工作人员会打电话回访您" in form
    thanks = rate(client, phone=PHONE)
    assert thanks.status_code == 200
    case_ = db.scalars(select(NegativeCase).order_by(NegativeCase.id.desc())).first()
    assert case_ is not None and case_.review.phone_masked == "138****5678"
    reply(db, case_)  # no gateway call: the fake fails the test


def test_with_sms_a_phone_is_kept_only_with_its_code(db: Session,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    client = TestClient(create_app())
    assert 'name="phone_code"' in client.get("/rate").text
    missing = rate(client, phone=PHONE)
    assert missing.status_code == 422 and "请先获取短信验证码" in missing.text
    sent = rate(client, "/rate/code", phone=PHONE, level="2", tags=["服务态度"])
    assert sent.status_code == 200 and "验证码已发送至 138****5678" in sent.text
    assert texts[-1]["phones"] == [PHONE]
    assert 'value="2" required checked' in sent.text and 'value="服务态度" checked' in sent.text
    thanks = rate(client, phone=PHONE, phone_code=code_in(texts[-1]))
    assert thanks.status_code == 200
    stored = db.scalars(select(ReviewTracking).order_by(ReviewTracking.id.desc())).first()
    assert stored is not None and stored.phone_checked
    again = rate(client, phone=PHONE, phone_code=code_in(texts[-1]), comment="又来")
    assert again.status_code == 422 and "请先获取短信验证码" in again.text  # a code works once


def test_a_reply_is_texted_to_the_rater_with_a_link_to_answer(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    service.send_phone_code(db, phone=PHONE, client="198.51.100.21")
    sent = service.submit_review(db, values=rating(phone=PHONE), client="198.51.100.21",
                                 phone_code=code_in(texts[-1]))
    case_ = service.get_case(db, actor=SYSTEM_ACTOR, case_id=sent.case_ids[0])
    walk(db, case_, *TO_REPLY)
    assert len(texts) == 1  # nothing before the reply
    service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply, note="已整改")
    assert texts[-1]["phones"] == [PHONE] and "是否满意" in texts[-1]["text"]
    link = texts[-1]["text"].split(get_settings().public_url)[1]
    client = TestClient(create_app())
    page = client.get(link).text
    assert "已整改" in page and 'data-testid="track-answer"' in page
    answer(client, link.removeprefix("/track/"), "satisfied")
    db.refresh(case_)
    assert case_.state == CaseState.closed


def test_an_imported_rating_with_a_phone_is_not_texted(db: Session,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    texts = sms_on(monkeypatch)
    case_ = make_case(db, "t-import", named="是", phone=PHONE)
    reply(db, case_)
    assert texts == []  # the province's system follows up its own ratings


def test_the_rating_page_keeps_every_answer_on_an_error(db: Session) -> None:
    client = TestClient(create_app())
    page = rate(client, org="不存在的单位", level="2", tags=["服务态度", "多次跑动"],
                comment="<b>跑了三次</b>", phone="138 1234 5678")
    assert page.status_code == 422 and "您填写的内容已保留" in page.text
    assert 'value="不存在的单位"' in page.text
    assert 'value="2" required checked' in page.text
    assert page.text.count(" checked>") == 2 + 1  # two tags and the level
    assert "&lt;b&gt;跑了三次&lt;/b&gt;</textarea>" in page.text
    assert 'value="138 1234 5678"' in page.text


def test_the_rating_pages_example_unit_is_one_it_accepts(db: Session) -> None:
    client = TestClient(create_app())
    form = client.get("/rate").text
    example = form.split("例如「")[1].split("」")[0]
    assert f'<option value="{example}">' in form
    assert rate(client, org=example, level="5").status_code == 200


def test_the_rating_page_says_the_rules_in_plain_words(db: Session) -> None:
    rules = TestClient(create_app()).get("/rate").text.split('data-testid="rules"')[1]
    for words in ("一次办事评一次", "差评一定有人管", "专属查询链接", "只有负责处理您评价的单位工作人员"):
        assert words in rules


def test_the_jobs_forget_phone_codes_a_day_after_they_expire(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    sms_on(monkeypatch)
    service.send_phone_code(db, phone=PHONE, client="198.51.100.31")
    service.send_phone_code(db, phone="13900001111", client="198.51.100.32")
    old, fresh = db.scalars(select(PhoneCode).order_by(PhoneCode.id)).all()[-2:]
    old.expires_at = utcnow() - timedelta(days=1, minutes=1)
    db.flush()
    assert service.remove_old_phone_codes(db) == 1
    assert db.scalars(select(PhoneCode.id)).all()[-1:] == [fresh.id]
