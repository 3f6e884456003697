"""A slow 企业微信 robot holds nothing up (issue #23 §3): with the robot answering each message
only after a pause, ``tongban serve`` starts (the dispatcher's first offers queue their
messages instead of sending them inside the cycle's transaction), a public 差评 is answered at
once, and the robot gets that 差评's message exactly once, afterwards."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.live import free_port, prepare, running, server_env

PAUSE = 1.5


class SlowRobot(ThreadingHTTPServer):
    """A group robot that answers every message after ``PAUSE`` seconds, keeping each."""

    def __init__(self) -> None:
        self.received: list[str] = []
        super().__init__(("127.0.0.1", free_port()), _RobotHandler)


class _RobotHandler(BaseHTTPRequestHandler):
    server: SlowRobot

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(PAUSE)
        self.server.received.append(json.loads(body)["text"]["content"])
        answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[SlowRobot]:
    found = SlowRobot()
    thread = threading.Thread(target=found.serve_forever, daemon=True)
    thread.start()
    yield found
    found.shutdown()


def test_the_server_starts_and_answers_while_the_robot_is_slow(
        robot: SlowRobot, tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'robot.db'}", tmp_path, {
        "TONGBAN_NOTIFY_CHANNELS": "wecom",
        "TONGBAN_WECOM_WEBHOOK_URL": f"http://127.0.0.1:{robot.server_address[1]}/send",
        "TONGBAN_ERRAND_DISPATCH_SECONDS": "2", "TONGBAN_OUTBOX_SECONDS": "1"})
    prepare(env, demo=True)
    with running(env, timeout=30) as base:
        answer = httpx.post(f"{base}/api/v1/reviews", timeout=10, json={
            "org": "巴州区", "channel": "window", "level": 1, "comment": "慢机器人测试：窗口无人"})
        assert answer.status_code == 201, answer.text
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            mine = [m for m in robot.received if "巴州区" in m and "差评" in m]
            if mine:
                break
            time.sleep(1)
        time.sleep(PAUSE * 3)  # and no second copy follows
    mine = [m for m in robot.received if "巴州区" in m and "差评" in m]
    assert len(mine) == 1, robot.received[-5:]
