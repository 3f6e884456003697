"""Notifications: inbox once per key, and robot webhooks posted over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy.orm import Session

from tongban.core import notify
from tongban.core.config import get_settings

RECIPIENTS = [notify.Recipient(9001, "张丽", phone="13800000000")]
MESSAGE = notify.Message("escalation", "督办：整改任务 #1 已逾期", "尚有8项未整改。", "/rectification/tasks/1")


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/robot", received
    server.shutdown()


def test_the_same_key_reaches_the_inbox_once(db: Session) -> None:
    assert notify.notify(db, recipients=RECIPIENTS, message=MESSAGE, key="k-1") == 1
    assert notify.notify(db, recipients=RECIPIENTS, message=MESSAGE, key="k-1") == 0
    assert notify.unread_count(db, user_id=9001) == 1
    assert notify.mark_read(db, user_id=9001) == 1
    assert notify.unread_count(db, user_id=9001) == 0


@pytest.mark.parametrize(("channel", "setting"), [("wecom", "TONGBAN_WECOM_WEBHOOK_URL"),
                                                   ("dingtalk", "TONGBAN_DINGTALK_WEBHOOK_URL")])
def test_robot_channels_post_a_text_message(
    db: Session, monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, object]]], channel: str, setting: str,
) -> None:
    url, received = webhook
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", channel)
    monkeypatch.setenv(setting, url)
    get_settings.cache_clear()
    notify.notify(db, recipients=RECIPIENTS, message=MESSAGE, key=f"k-{channel}")
    [payload] = received
    assert payload["msgtype"] == "text"
    text = payload["text"]
    assert isinstance(text, dict) and "督办：整改任务 #1 已逾期" in str(text["content"])


def test_a_failing_channel_does_not_lose_the_inbox_entry(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "wecom")
    monkeypatch.setenv("TONGBAN_WECOM_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    get_settings.cache_clear()
    assert notify.notify(db, recipients=RECIPIENTS, message=MESSAGE, key="k-down") == 1
    assert notify.unread_count(db, user_id=9001) == 1
