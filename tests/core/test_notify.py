"""Notifications: inbox once per key, and robot webhooks posted over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy.orm import Session

from tongban.core import notify, outbox
from tongban.core.config import get_settings

RECIPIENTS = [notify.Recipient(9001, "张丽", phone="13800000000")]
MESSAGE = notify.Message("escalation", "督办：整改任务 #1 已逾期", "尚有8项未整改。", "/rectification/tasks/1")


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A stand-in for the robots and the 企业微信/钉钉 APIs: every POST body is kept, with the
    path it went to under ``_path``; a GET (the access-token call) answers a token."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0,"access_token":"TOKEN-1","expires_in":7200}')

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append({**json.loads(self.rfile.read(length)), "_path": self.path})
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
    assert received == []  # it leaves through the outbox, after the work commits
    outbox.deliver()
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
    assert outbox.deliver().retried == 1
    assert notify.unread_count(db, user_id=9001) == 1


APP_SETTINGS = {
    "wecom": {"TONGBAN_WECOM_CORP_ID": "ww1", "TONGBAN_WECOM_SECRET": "s",
              "TONGBAN_WECOM_AGENT_ID": "1000002", "TONGBAN_WECOM_API_BASE": "{base}",
              "TONGBAN_WECOM_WEBHOOK_URL": "{base}/robot"},
    "dingtalk": {"TONGBAN_DINGTALK_APP_KEY": "k", "TONGBAN_DINGTALK_APP_SECRET": "s",
                 "TONGBAN_DINGTALK_AGENT_ID": "2001", "TONGBAN_DINGTALK_API_BASE": "{base}",
                 "TONGBAN_DINGTALK_WEBHOOK_URL": "{base}/robot"},
}


@pytest.mark.parametrize("channel", ["wecom", "dingtalk"])
def test_a_user_known_to_the_app_is_told_in_person_and_the_others_through_the_robot(
    db: Session, monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, object]]], channel: str,
) -> None:
    url, received = webhook
    base = url.removesuffix("/robot")
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", channel)
    for name, value in APP_SETTINGS[channel].items():
        monkeypatch.setenv(name, value.format(base=base))
    get_settings.cache_clear()
    notify._tokens.clear()
    known = notify.Recipient(9002, "李强", phone="13900000001", wecom_id="liqiang",
                             dingtalk_id="ding-liqiang")
    notify.notify(db, recipients=[known, *RECIPIENTS], message=MESSAGE, key=f"k-app-{channel}")
    outbox.deliver()
    in_person = [p for p in received if "access_token=TOKEN-1" in str(p["_path"])]
    robot = [p for p in received if p["_path"] == "/robot"]
    assert len(in_person) == 1 and len(robot) == 1
    if channel == "wecom":
        assert in_person[0]["touser"] == "liqiang"
        assert robot[0]["text"] == {"content": robot[0]["text"]["content"],  # type: ignore[index]
                                    "mentioned_mobile_list": ["13800000000"]}
    else:
        assert in_person[0]["userid_list"] == "ding-liqiang"
        assert robot[0]["at"] == {"atMobiles": ["13800000000"]}
    assert "督办：整改任务 #1 已逾期" in json.dumps(in_person[0], ensure_ascii=False)


def test_a_user_who_chose_other_channels_gets_the_inbox_entry_only(
    db: Session, monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, object]]],
) -> None:
    url, received = webhook
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "wecom")
    monkeypatch.setenv("TONGBAN_WECOM_WEBHOOK_URL", url)
    get_settings.cache_clear()
    quiet = notify.Recipient(9003, "王芳", phone="13700000002", channels="sms")
    assert notify.notify(db, recipients=[quiet], message=MESSAGE, key="k-quiet") == 1
    outbox.deliver()
    assert received == []
    assert notify.unread_count(db, user_id=9003) == 1
    loud = notify.Recipient(9004, "赵敏", phone="13700000003", channels="sms,wecom")
    notify.notify(db, recipients=[loud], message=MESSAGE, key="k-loud")
    outbox.deliver()
    assert len(received) == 1
