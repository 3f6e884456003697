"""Messages and partner calls leave after commit (issue #23 §3): the inbox entry is written with
the work, what goes to a channel waits in the outbox, a rolled-back transaction sends nothing,
a failing channel is retried with backoff and then shown to administrators, and a channel that
hangs slows no request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import csrf_of, logged_in_client, make_user
from tongban.app import create_app
from tongban.core import notify, outbox
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.outbox import OutboxMessage
from tongban.core.security import Role

SENT: list[tuple[list[str], str]] = []


def _recorded(recipients: list[notify.Recipient], message: notify.Message) -> None:
    SENT.append(([r.name for r in recipients], message.title))


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[list[str], str]]]:
    """The console channel on, recording what reaches it."""
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "console")
    get_settings.cache_clear()
    monkeypatch.setitem(notify.CHANNELS, "console", _recorded)
    SENT.clear()
    yield SENT
    SENT.clear()


def _someone(db: Session) -> notify.Recipient:
    user = make_user(db, role=Role.analyst)
    return notify.Recipient(user.id, user.display_name or user.username)


def test_a_message_leaves_once_and_only_after_the_work_commits(
        db: Session, console: list[tuple[list[str], str]]) -> None:
    person = _someone(db)
    sent = notify.notify(db, recipients=[person], key="t:once",
                         message=notify.Message("info", "本周通报已生成", "请查看"))
    assert sent == 1 and console == []  # the inbox entry is there; nothing has left yet
    assert notify.unread_count(db, user_id=person.user_id) == 1
    assert outbox.deliver().sent == 1 and console == [([person.name], "本周通报已生成")]
    assert outbox.deliver().sent == 0 and len(console) == 1
    notify.notify(db, recipients=[person], key="t:once",
                  message=notify.Message("info", "本周通报已生成", "请查看"))
    assert outbox.deliver().sent == 0 and len(console) == 1  # the same key: nothing again


def test_a_rolled_back_transaction_sends_nothing(
        db: Session, console: list[tuple[list[str], str]]) -> None:
    person = _someone(db)
    savepoint = db.begin_nested()
    notify.notify(db, recipients=[person], key="t:rolled-back",
                  message=notify.Message("info", "不该发出", ""))
    savepoint.rollback()
    assert outbox.deliver().sent == 0 and console == []


def test_a_failing_channel_is_retried_with_backoff_then_kept_failed(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_OUTBOX_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    calls: list[dict[str, Any]] = []

    def down(payload: dict[str, Any]) -> None:
        calls.append(payload)
        raise ConnectionError("robot unreachable")

    monkeypatch.setitem(outbox.HANDLERS, "sms.citizen", down)
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "sms")
    monkeypatch.setenv("TONGBAN_SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
    get_settings.cache_clear()
    assert notify.text_phone(db, phone="13912345678", text="您的差评已有反馈")
    report = outbox.deliver()
    assert (report.sent, report.retried, len(calls)) == (0, 1, 1)
    [message] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sms.citizen"))
    db.refresh(message)
    assert message.state == "pending" and message.attempts == 1
    assert message.next_attempt_at > utcnow() + timedelta(seconds=20)  # backing off
    assert outbox.deliver().retried == 0 and len(calls) == 1  # not due yet
    later = utcnow() + timedelta(hours=2)
    outbox.deliver(now=later)
    assert outbox.deliver(now=later + timedelta(hours=2)).failed == 1 and len(calls) == 3
    db.refresh(message)
    assert message.state == "failed" and "robot unreachable" in message.last_error
    assert "13912345678" not in message.payload and "13912345678" not in message.summary


def test_administrators_see_failed_deliveries_and_send_them_again(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    message = outbox.enqueue(db, kind="notify.console", summary="逾期督办：恩阳区",
                             payload={"recipients": [], "message": {
                                 "kind": "info", "title": "逾期督办：恩阳区", "body": ""}})
    assert message is not None
    message.state, message.attempts, message.last_error = "failed", 8, "TimeoutError: 10 s"
    db.flush()
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    page = admin.get("/admin/outbox").text
    assert "逾期督办：恩阳区" in page and "TimeoutError" in page and f"resend-{message.id}" in page
    answer = admin.post(f"/admin/outbox/{message.id}/resend",
                        data={"csrf_token": csrf_of(admin, "/admin/outbox")})
    assert answer.status_code == 200
    db.refresh(message)
    assert message.state == "pending" and message.attempts == 0
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert liaison.get("/admin/outbox").status_code == 403


def test_a_public_rating_does_not_wait_for_a_channel(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 差评 tells the unit's liaisons on every channel: the rating is answered before any
    channel is called (a hanging robot would otherwise hold the request and its lock)."""
    called: list[str] = []
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "wecom")
    get_settings.cache_clear()
    monkeypatch.setitem(notify.CHANNELS, "wecom",
                        lambda recipients, message: called.append(message.title))
    make_user(db, role=Role.liaison, org="恩阳区")
    client = TestClient(create_app())
    answer = client.post("/rate", data={"csrf_token": csrf_of(client, "/rate?org=恩阳区"),
                                        "org": "恩阳区", "channel": "window", "level": "1",
                                        "comment": "窗口无人"})
    assert answer.status_code == 200 and called == []
    outbox.deliver()
    assert len(called) == 1 and "差评" in called[0]
