"""A captured session cookie stops working at logout, password, role or org change and
deactivation; login throttling counts every attempt, per client and per name."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, csrf_of, logged_in_client, make_user
from tongban.app import create_app
from tongban.core.config import get_settings
from tongban.core.errors import AuthenticationFailed, TooManyRequests
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service


def _stolen_copy(client: TestClient) -> TestClient:
    """A second browser holding the same cookie (what an attacker captured)."""
    thief = TestClient(create_app())
    thief.cookies.update(client.cookies)
    return thief


def test_a_cookie_captured_before_logout_is_dead_after_it(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = logged_in_client(db, user)
    thief = _stolen_copy(client)
    assert thief.get("/account").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    dead = thief.get("/account", follow_redirects=False)
    assert dead.status_code == 303 and dead.headers["location"].startswith("/login")


def test_a_password_change_ends_every_other_session_but_keeps_this_one(db: Session) -> None:
    user = make_user(db, role=Role.liaison, org="巴州区")
    client = logged_in_client(db, user)
    elsewhere = logged_in_client(db, user)
    changed = client.post("/account/password", data={
        "csrf_token": csrf_of(client), "old": PASSWORD, "new": "N3w-passw0rd!",
        "confirm": "N3w-passw0rd!"}, follow_redirects=False)
    assert changed.status_code == 303
    assert client.get("/account").status_code == 200
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("change", [{"role": Role.leader}, {"is_active": False},
                                    {"password": "Reset-passw0rd"}])
def test_an_admin_change_of_role_status_or_password_ends_the_users_sessions(
        db: Session, change: dict[str, object]) -> None:
    user = make_user(db, role=Role.analyst)
    client = logged_in_client(db, user)
    service.update_user(db, actor=SYSTEM_ACTOR, user=user, **change)  # type: ignore[arg-type]
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_profile_change_keeps_the_session(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = logged_in_client(db, user)
    service.update_user(db, actor=SYSTEM_ACTOR, user=user, display_name="新名字")
    assert client.get("/account").status_code == 200


def test_a_forged_session_key_is_no_session(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    assert service.actor_for_session(db, key="not-a-real-key") is None
    client.cookies.clear()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def _try(db: Session, name: str, ip: str, password: str = "wrong") -> str:
    try:
        service.authenticate(db, username=name, password=password, ip=ip)
    except TooManyRequests:
        return "locked"
    except AuthenticationFailed:
        return "checked"
    return "ok"


def test_a_stranger_cannot_lock_a_user_out_for_everyone(db: Session, one_window: None) -> None:
    user = make_user(db, role=Role.admin)
    results = [_try(db, user.username, "203.0.113.9") for _ in range(7)]
    assert results == ["checked"] * 5 + ["locked"] * 2
    assert _try(db, user.username, "198.51.100.7", PASSWORD) == "ok"


def test_one_client_guessing_many_names_is_throttled(db: Session, one_window: None) -> None:
    names = [f"nobody-{uuid.uuid4().hex[:8]}" for _ in range(25)]
    results = [_try(db, name, "192.0.2.44") for name in names]
    assert results.count("checked") == 20 and results[-1] == "locked"


def test_parallel_guesses_never_pass_the_limit(backend_engine: Engine, one_window: None) -> None:
    """Twelve guesses at once, each in its own connection and transaction: five are checked."""
    name = f"race-{uuid.uuid4().hex[:10]}"

    def guess(_: int) -> str:
        with Session(backend_engine) as session:
            outcome = _try(session, name, "192.0.2.99")
            session.commit()
            return outcome

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(12)))
    assert outcomes.count("checked") == 5, outcomes


@pytest.fixture
def redis_counters(monkeypatch: pytest.MonkeyPatch) -> str:
    """Rate-limit counters in the local Redis (skipped without one, unless required)."""
    import os

    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("TONGBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError as exc:
        if os.environ.get("TONGBAN_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis 不可用（{url}）：{exc}")
        pytest.skip(f"Redis 不可用（{url}）")
    monkeypatch.setenv("TONGBAN_REDIS_URL", url)
    get_settings.cache_clear()
    return url


def test_parallel_guesses_never_pass_the_limit_with_redis_counters(
        backend_engine: Engine, redis_counters: str, one_window: None) -> None:
    name = f"race-redis-{uuid.uuid4().hex[:10]}"
    client = f"192.0.2.{uuid.uuid4().int % 250}"  # Redis keeps counts across runs

    def guess(_: int) -> str:
        with Session(backend_engine) as session:
            outcome = _try(session, name, client)
            session.commit()
            return outcome

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(12)))
    assert outcomes.count("checked") == 5, outcomes
    from redis import Redis

    assert any(Redis.from_url(redis_counters).scan_iter(match=f"tongban:rate:login-user:{name}:*"))


def test_a_success_clears_the_names_count_in_redis(db: Session, redis_counters: str, one_window: None) -> None:
    user = make_user(db, role=Role.analyst)
    ip = f"198.51.100.{uuid.uuid4().int % 250}"
    assert [_try(db, user.username, ip) for _ in range(4)] == ["checked"] * 4
    assert _try(db, user.username, ip, PASSWORD) == "ok"
    assert [_try(db, user.username, ip) for _ in range(5)] == ["checked"] * 5
