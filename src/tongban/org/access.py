"""Who is acting: FastAPI dependencies for sessions, bearer tokens, roles and CSRF.

Every API and page route depends on :func:`require_actor` unless it is explicitly public.
Unsafe requests authenticated by the session cookie must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``); bearer-token requests need none.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tongban.core import notify
from tongban.core.db import get_db
from tongban.core.errors import AuthenticationFailed, PermissionDenied
from tongban.core.security import Actor, Role, csrf_tokens_match
from tongban.org import service

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(AuthenticationFailed):
    """No one is logged in; pages redirect to the login form, the API answers 401."""


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_tokens_match(request.session.get("csrf"), given):
        raise PermissionDenied("页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")


async def get_actor_optional(request: Request, db: Session = Depends(get_db)) -> Actor | None:
    """The actor from a bearer token or the session cookie, or None."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = service.actor_for_api_token(db, plain=header[7:].strip())
        if actor is None:
            raise AuthenticationFailed("API 令牌无效或已撤销")
        request.state.auth_method = "token"
        return actor
    user_id = request.session.get("uid")
    if isinstance(user_id, int):
        actor = service.actor_for_session(db, user_id=user_id)
        if actor is not None:
            request.state.auth_method = "session"
            request.state.unread = notify.unread_count(db, user_id=user_id)
            return actor
        request.session.pop("uid", None)
    return None


async def require_actor(
    request: Request, actor: Actor | None = Depends(get_actor_optional)
) -> Actor:
    """The logged-in actor; CSRF-checked when a session cookie authorises an unsafe request."""
    if actor is None:
        raise LoginRequired("请先登录")
    if getattr(request.state, "auth_method", None) == "session":
        await check_csrf(request)
    request.state.actor = actor
    return actor


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A dependency that admits only ``roles``."""
    allowed = frozenset(roles)

    async def dependency(actor: Actor = Depends(require_actor)) -> Actor:
        if actor.role not in allowed:
            labels = "、".join(r.label for r in roles)
            raise PermissionDenied(f"此功能仅限{labels}使用")
        return actor

    return dependency
