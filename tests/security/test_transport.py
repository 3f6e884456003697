"""Bodies are capped and a stranger's body is never read; token reads write nothing and never
fail; a response is sent only after its transaction committed; a busy database is a 503."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.factories import api_client, make_user, token_for
from tongban.app import create_app
from tongban.core.security import Role
from tongban.demo.city import DEMO_PASSWORD
from tongban.org.models import ApiToken
from tongban.org.service import users as org_users

MB = 1024 * 1024
PART_HEAD = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
             b"Content-Type: application/pdf\r\n\r\n")


def asgi_call(path: str, *, method: str = "POST", headers: dict[str, str] | None = None,
              chunks: list[bytes] | None = None) -> tuple[int, int]:
    """Send a request straight to the app; (status, how many body chunks the app read)."""
    app = create_app()
    pending = list(chunks or [])
    read = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if pending:
            read += 1
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("testserver", 80), "client": ("192.0.2.1", 5000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    asyncio.run(app(scope, receive, send))
    return status, read


def test_a_strangers_upload_is_refused_before_a_byte_is_read(db: Session) -> None:
    status, read = asgi_call("/api/v1/rectification/tasks/1/attachments", headers={
        "content-type": "multipart/form-data; boundary=x", "content-length": str(MB)},
        chunks=[b"x" * 65536] * 16)
    assert (status, read) == (401, 0)
    page, read = asgi_call("/rectification/tasks/1/attachments", headers={
        "content-type": "multipart/form-data; boundary=x", "transfer-encoding": "chunked"},
        chunks=[b"x" * 65536] * 16)
    assert (page, read) == (303, 0)  # pages send a stranger to the login form
    forged, read = asgi_call("/api/v1/assessment/metrics", headers={
        "authorization": "Bearer tb_forged", "content-type": "application/json",
        "content-length": "10"}, chunks=[b"{}" * 5])
    assert (forged, read) == (401, 0)


def test_a_declared_body_over_its_cap_is_refused_unread(db: Session) -> None:
    status, read = asgi_call("/api/v1/reviews", headers={
        "content-type": "application/json", "content-length": str(300 * MB)},
        chunks=[b"{"] * 4)
    assert (status, read) == (413, 0)


def test_a_streamed_body_is_cut_off_at_its_cap(db: Session) -> None:
    status, read = asgi_call("/api/v1/reviews", headers={
        "content-type": "application/json", "transfer-encoding": "chunked"},
        chunks=[b" " * 8192] * 200)
    assert status == 413 and read <= 3  # the public cap is 16 KB


def test_a_logged_in_upload_over_the_upload_cap_is_refused(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.core.config import get_settings

    monkeypatch.setenv("TONGBAN_UPLOAD_BODY_MAX_BYTES", str(MB))
    get_settings.cache_clear()
    token = token_for(db, make_user(db, role=Role.analyst))
    status, read = asgi_call("/api/v1/rectification/tasks/1/attachments", headers={
        "authorization": f"Bearer {token}", "content-type": "multipart/form-data; boundary=x",
        "transfer-encoding": "chunked"}, chunks=[PART_HEAD] + [b"x" * 65536] * 40)
    assert status == 413 and read <= 18


def test_a_token_read_writes_nothing_in_the_request(db: Session,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(org_users, "_token_use", org_users._TokenUse())  # a fresh process
    user = make_user(db, role=Role.analyst)
    client = api_client(db, user)
    writes: list[str] = []
    from sqlalchemy import event

    def spy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement.split()[0:3].__str__())

    event.listen(db.get_bind(), "before_cursor_execute", spy)
    try:
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", spy)
    stamps = [w for w in writes if "api_token" in w.lower()]
    assert len(stamps) == 1, writes  # one stamp, after a response, for five reads
    db.expire_all()
    token = db.query(ApiToken).filter(ApiToken.user_id == user.id).one()
    assert token.last_used_at is not None


def test_no_2xx_is_sent_for_a_write_that_did_not_commit(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    real_commit = Session.commit

    def failing_commit(self: Session) -> None:
        if self is not db:  # the request's own session
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        real_commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = client.post("/api/v1/assessment/adjustments", json={
        "period": "2026-04", "org": "巴州区", "points": -0.5, "reason": "测试"})
    assert response.status_code == 503 and response.headers["retry-after"]


@pytest.mark.browser
def test_token_reads_on_sqlite_never_fail_one_by_one_or_together(live_server: str) -> None:
    token = httpx.post(f"{live_server}/api/v1/auth/token", timeout=30, json={
        "username": "leader", "password": DEMO_PASSWORD, "name": "load"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as client:
        sequential = [client.get("/api/v1/me").status_code for _ in range(600)]
    assert sequential.count(200) == 600

    def read(n: int) -> int:
        path = ("/api/v1/me", "/api/v1/reviews/cases?page=1", "/api/v1/rectification/tasks")[n % 3]
        return httpx.get(f"{live_server}{path}", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        together = list(pool.map(read, range(300)))
    assert all(code == 200 for code in together), sorted(set(together))


@pytest.mark.browser
def test_a_write_while_a_long_import_holds_sqlite_is_a_503_with_retry_after(
        live_server: str, live_database: Path) -> None:
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:  # what a long CLI import does to the file
        connection = sqlite3.connect(live_database, isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(30)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(10)
        response = httpx.post(f"{live_server}/api/v1/reviews", timeout=60, json={
            "channel": "网站", "org": "巴州区", "level": 5,
            "rated_at": datetime.now().astimezone().isoformat()})
    finally:
        release.set()
        holder.join()
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0 and "稍后" in response.json()["detail"]
    again = httpx.post(f"{live_server}/api/v1/reviews", timeout=60, json={
        "channel": "网站", "org": "巴州区", "level": 5,
        "rated_at": datetime.now().astimezone().isoformat()})
    assert again.status_code == 201




def test_slow_bodies_never_hold_the_apps_slots(db: Session,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight strangers trickling bodies (the gate admits eight) while a ninth asks /healthz."""
    from tongban.core.config import get_settings

    monkeypatch.setenv("TONGBAN_BODY_IDLE_SECONDS", "1")
    get_settings.cache_clear()
    app = create_app()

    def scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
                "server": ("testserver", 80), "client": ("192.0.2.7", 5000), "headers": headers}

    async def call(method: str, path: str, headers: list[tuple[bytes, bytes]],
                   first: bytes | None) -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if first is not None and not sent:
                sent = True
                return {"type": "http.request", "body": first, "more_body": True}
            await asyncio.sleep(3600)  # the rest never comes
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope(method, path, headers), receive, send)
        return status

    async def scenario() -> tuple[list[int], int, float]:
        slow = [asyncio.create_task(call("POST", "/api/v1/reviews", [
            (b"content-type", b"application/json"), (b"content-length", b"15000")], b"{"))
            for _ in range(8)]
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        health = await asyncio.wait_for(call("GET", "/healthz", [], None), timeout=5)
        waited = asyncio.get_running_loop().time() - started
        return await asyncio.gather(*slow), health, waited

    slow, health, waited = asyncio.run(scenario())
    assert health == 200 and waited < 1  # answered at once, not after the slow ones
    assert slow == [408] * 8
