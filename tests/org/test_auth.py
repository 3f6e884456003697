"""Users and access: argon2, login and logout, CSRF, throttling, API tokens, production mode."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import PASSWORD, api_client, csrf_of, logged_in_client, make_user
from tongban.app import ProductionNotReady, check_production_ready, create_app
from tongban.cli import app as cli
from tongban.core.errors import AuthenticationFailed, TooManyRequests
from tongban.core.security import Role
from tongban.org import service


def test_passwords_are_stored_as_argon2_hashes(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_the_session(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = TestClient(create_app())
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf, "next": "/orgs"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/orgs"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200
    logout = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert logout.status_code == 303
    after = client.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_pages_redirect_anonymous_users_to_login_with_next(db: Session) -> None:
    client = TestClient(create_app())
    response = client.get("/orgs?q=bz", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/orgs%3Fq%3Dbz"


def test_form_without_csrf_token_is_refused(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = logged_in_client(db, user)
    response = client.post("/account/tokens", data={"name": "x"})
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_login_form_requires_csrf_too(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = TestClient(create_app())
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 403


def test_repeated_failures_lock_the_user_name(db: Session) -> None:
    user = make_user(db, role=Role.liaison, org="巴州区")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            service.authenticate(db, username=user.username, password="wrong-password")
    with pytest.raises(TooManyRequests) as excinfo:
        service.authenticate(db, username=user.username, password=PASSWORD)
    assert "登录失败次数过多" in excinfo.value.message


def test_a_success_resets_the_failure_count(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            service.authenticate(db, username=user.username, password="nope-nope")
    service.authenticate(db, username=user.username, password=PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            service.authenticate(db, username=user.username, password="nope-nope")
    assert service.authenticate(db, username=user.username, password=PASSWORD).id == user.id


def test_deactivated_user_cannot_log_in(db: Session) -> None:
    admin = service.actor_for(make_user(db, role=Role.admin))
    user = make_user(db, role=Role.analyst)
    service.update_user(db, actor=admin, user=user, is_active=False, reason="离职")
    with pytest.raises(AuthenticationFailed):
        service.authenticate(db, username=user.username, password=PASSWORD)


def test_bearer_token_works_until_revoked(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = api_client(db, user)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == user.username
    token_id = client.get("/api/v1/me/tokens").json()["items"][0]["id"]
    assert client.delete(f"/api/v1/me/tokens/{token_id}").status_code == 200
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "API 令牌无效或已撤销"


def test_tokens_are_stored_hashed(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    token, plain = service.create_api_token(db, actor=service.actor_for(user), name="脚本")
    assert plain not in token.token_hash and len(token.token_hash) == 64


def test_password_exchange_for_a_token(db: Session) -> None:
    user = make_user(db, role=Role.leader)
    client = TestClient(create_app())
    issued = client.post("/api/v1/auth/token",
                         json={"username": user.username, "password": PASSWORD})
    assert issued.status_code == 201
    plain = issued.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.json()["role"] == "leader"


def test_api_without_credentials_is_401(db: Session) -> None:
    response = TestClient(create_app()).get("/api/v1/orgs")
    assert response.status_code == 401


def test_session_authenticated_api_writes_need_the_csrf_header(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    client = logged_in_client(db, user)
    assert client.post("/api/v1/me/tokens", json={"name": "x"}).status_code == 403
    ok = client.post("/api/v1/me/tokens", json={"name": "x"},
                     headers={"X-CSRF-Token": csrf_of(client)})
    assert ok.status_code == 201


def test_cli_creates_a_liaison_who_must_have_an_org(db: Session) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["user", "create", "zhangsan", "--role", "liaison",
                                  "--password", "longpassword"])
    assert missing.exit_code == 1 and "联络员必须归属一个组织" in missing.output
    ok = runner.invoke(cli, ["user", "create", "zhangsan", "--role", "liaison", "--org", "通江",
                             "--password", "longpassword", "--name", "张三"])
    assert ok.exit_code == 0, ok.output
    user = service.get_user_by_username(db, username="zhangsan")
    assert user is not None and user.org is not None and user.org.name == "通江县"


def test_production_refuses_default_secret_and_demo_users(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.core.config import get_settings

    monkeypatch.setenv("TONGBAN_ENV", "production")
    monkeypatch.setenv("TONGBAN_SECRET_KEY", "change-me-development-only")
    get_settings.cache_clear()
    with pytest.raises(ProductionNotReady) as excinfo:
        check_production_ready()
    assert "TONGBAN_SECRET_KEY" in str(excinfo.value) and "演示账号" in str(excinfo.value)

    monkeypatch.setenv("TONGBAN_SECRET_KEY", "x" * 48)
    get_settings.cache_clear()
    with pytest.raises(ProductionNotReady) as excinfo:
        check_production_ready()
    assert "TONGBAN_SECRET_KEY" not in str(excinfo.value)


def test_admin_pages_create_and_edit_users(db: Session) -> None:
    admin = make_user(db, role=Role.admin)
    client = logged_in_client(db, admin)
    token = csrf_of(client, "/admin/users")
    created = client.post("/admin/users", data={
        "csrf_token": token, "username": "lisi", "display_name": "李四", "password": "longpassword",
        "role": "liaison", "org": "南江县"}, follow_redirects=True)
    assert created.status_code == 200 and "李四" in created.text
    user = service.get_user_by_username(db, username="lisi")
    assert user is not None
    edited = client.post(f"/admin/users/{user.id}", data={
        "csrf_token": token, "display_name": "李四", "role": "leader", "org": "",
        "is_active": "true", "password": "", "reason": "调任"}, follow_redirects=True)
    assert edited.status_code == 200
    db.expire_all()
    assert service.get_user_by_username(db, username="lisi").role == "leader"  # type: ignore[union-attr]


def test_non_admins_cannot_open_user_admin(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    assert client.get("/admin/users").status_code == 403
