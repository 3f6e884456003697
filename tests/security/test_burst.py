"""A burst of strangers on a live server on PostgreSQL: the public write routes keep answering
and so does ``/healthz`` (issue #22).

The outside test froze the server with four concurrent POSTs to ``/errand/new`` from one
address: an ``async def`` route waited on the event loop for the ``rate_counter`` row lock that
another request's transaction held, and that transaction needed the loop to finish. Here 20
requests at once hit each public write route from one address, with the per-client limits low
so that the 429 path (the locked counter) is taken too, while ``/healthz`` is asked every
0.1 s: each of its answers must come within 2 s, and every request must get an answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import reachable_postgres
from tests.live import prepare, running, server_env
from tongban.core import db as core_db
from tongban.errand import channels

BURST = 20
HEALTH_WITHIN = 2.0


class HealthWatch:
    """Asks ``/healthz`` every 0.1 s on its own thread; keeps the slowest answer's time."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.slowest = 0.0
        self.failures: list[str] = []
        self.asked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{self.base}/healthz").status_code
                    if status != 200:
                        self.failures.append(f"/healthz {status}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"/healthz {type(exc).__name__}")
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.asked += 1
                time.sleep(0.1)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


@dataclass(frozen=True)
class Live:
    base: str
    track_link: str  # a 差评's tracking link, taken before any burst used up the limits


@pytest.fixture(scope="module")
def live_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with the demo's data on a fresh PostgreSQL database, limits set low."""
    admin = reachable_postgres()
    folder = tmp_path_factory.mktemp("burst")
    with core_db.scratch_database(admin) as url:
        env = server_env(url, Path(folder), {
            "TONGBAN_ERRAND_DISPATCH_SECONDS": "0", "TONGBAN_BACKGROUND_JOBS": "false",
            "TONGBAN_ERRAND_CHANNELS": "simulated",
            "TONGBAN_ERRAND_RATE_PER_CLIENT": "4", "TONGBAN_REVIEW_RATE_PER_CLIENT": "4",
            "TONGBAN_REVIEW_TRACK_RATE_PER_CLIENT": "4",
            "TONGBAN_ERRAND_CHANNEL_FAILURES_PER_CLIENT": "6"})
        prepare(env, demo=True)
        with running(env, timeout=60) as base, httpx.Client(base_url=base, timeout=30) as rater:
            token = _csrf(rater, "/rate?org=恩阳区&channel=window")
            thanks = rater.post("/rate", data={"csrf_token": token, "org": "恩阳区",
                                               "channel": "window", "level": "1",
                                               "comment": "窗口无人"}).text
            found = re.search(r"/track/([A-Za-z0-9_-]+)", thanks)
            assert found, "评价后应给出跟踪链接"
            yield Live(base, found[1])


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found[1]


def _burst(base: str, send: Callable[[httpx.Client], int]) -> list[int]:
    """``send`` from BURST clients at once (each with its own cookies); their statuses."""
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(BURST)]
    try:
        with HealthWatch(base) as watch, ThreadPoolExecutor(BURST) as pool:
            statuses = list(pool.map(send, clients))
        assert watch.asked >= 1 and not watch.failures, watch.failures[:3]
        assert watch.slowest < HEALTH_WITHIN, f"/healthz 最慢 {watch.slowest:.2f} 秒"
    finally:
        for client in clients:
            client.close()
    assert all(status < 500 or status == 503 for status in statuses), statuses
    return statuses


def _first_item(base: str) -> str:
    page = httpx.get(f"{base}/errand/new", timeout=10).text
    found = re.search(r'<option value="(\d+)"', page)
    assert found
    return found[1]


def test_a_burst_of_errand_requests_leaves_the_server_answering(live_postgres: Live) -> None:
    item = _first_item(live_postgres.base)

    def send(client: httpx.Client) -> int:
        token = _csrf(client, "/errand/new")
        return client.post("/errand/new", data={
            "csrf_token": token, "item_id": item, "contact_name": "王芳",
            "phone": "13912345678", "lat": "31.868", "lng": "106.748",
            "address": "江北大道1号"}).status_code

    statuses = _burst(live_postgres.base, send)
    assert 429 in statuses  # the locked counter's path was taken


def test_a_burst_of_ratings_leaves_the_server_answering(live_postgres: Live) -> None:
    def send(client: httpx.Client) -> int:
        token = _csrf(client, "/rate?org=巴州区&channel=window")
        return client.post("/rate", data={
            "csrf_token": token, "org": "巴州区", "channel": "window", "level": "5",
            "comment": "办理很快"}).status_code

    statuses = _burst(live_postgres.base, send)
    assert 200 in statuses and 429 in statuses


def test_a_burst_of_api_ratings_leaves_the_server_answering(live_postgres: Live) -> None:
    def send(client: httpx.Client) -> int:
        return client.post("/api/v1/reviews", json={
            "org": "巴州区", "channel": "window", "level": 4}).status_code

    _burst(live_postgres.base, send)


def test_a_burst_of_forged_callbacks_leaves_the_server_answering(live_postgres: Live) -> None:
    body = json.dumps({"event_id": "e1", "order_id": "SIM-1", "status": "accepted"}).encode()

    def send(client: httpx.Client) -> int:
        return client.post("/api/v1/errand/channels/simulated/callback", content=body, headers={
            "Content-Type": "application/json", channels.TIMESTAMP_HEADER: str(int(time.time())),
            channels.SIGNATURE_HEADER: "00" * 32}).status_code

    statuses = _burst(live_postgres.base, send)
    assert 401 in statuses and 429 in statuses


def test_a_burst_of_tracking_answers_leaves_the_server_answering(live_postgres: Live) -> None:
    link = live_postgres.track_link

    def answer(client: httpx.Client) -> int:
        csrf = _csrf(client, "/rate?org=恩阳区")
        return client.post("/track", data={"csrf_token": csrf, "token": link,
                                           "answer": "satisfied"}).status_code

    def rate_errand(client: httpx.Client) -> int:
        csrf = _csrf(client, "/errand/new")
        return client.post("/errand/track", data={"csrf_token": csrf, "token": "x" * 40,
                                                  "rating": "5"}).status_code

    _burst(live_postgres.base, answer)
    _burst(live_postgres.base, rate_errand)
