"""Who is acting: FastAPI dependencies for sessions, bearer tokens, roles and CSRF.

Every API and page route depends on :func:`require_actor` unless it is explicitly public.
Unsafe requests authenticated by the session cookie must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``); bearer-token requests need none.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from tongban.core import notify
from tongban.core.db import read_only_scope
from tongban.core.errors import AuthenticationFailed, PermissionDenied
from tongban.core.security import Actor, csrf_tokens_match
from tongban.org import service

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: The cookie session's field that holds the server-side session key (org.models.UserSession).
SESSION_KEY = "sid"


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


def get_actor_optional(request: Request, background: BackgroundTasks) -> Actor | None:
    """The actor from a bearer token or the session cookie, or None (a plain function: FastAPI
    runs it on a worker thread, so its queries never block the event loop).

    It reads in a session of its own that only reads and ends here, so the request's own
    transaction begins with the route's first statement: an upload is read and checked
    before the route writes (on SQLite a POST's transaction holds the write lock from its
    first statement, and it would otherwise hold it while a large file is parsed)."""
    with read_only_scope() as db:
        return _actor_of(db, request, background)


def _actor_of(db: Session, request: Request, background: BackgroundTasks) -> Actor | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = service.actor_for_api_token(db, plain=header[7:].strip())
        if actor is None:
            raise AuthenticationFailed("API 令牌无效或已撤销")
        request.state.auth_method = "token"
        # After the response, when this request's transaction is over: on SQLite a stamp
        # written now would wait for the write lock this very request may hold.
        background.add_task(service.record_token_use)
        return actor
    key = request.session.get(SESSION_KEY)
    if isinstance(key, str):
        actor = service.actor_for_session(db, key=key)
        if actor is not None and actor.user_id is not None:
            request.state.auth_method = "session"
            request.state.unread = notify.unread_count(db, user_id=actor.user_id)
            request.state.areas = service.areas(actor)
            request.state.menu_extras = {name: check(db, actor=actor)
                                         for name, check in MENU_CHECKS.items()}
            return actor
        request.session.clear()  # ended on the server: the cookie is worthless
    return None


#: Menu entries a higher layer adds for the actor of a page (the app registers them, so org
#: imports no domain): name → whether the entry shows. One query each, on every page.
MENU_CHECKS: dict[str, Callable[..., bool]] = {}


def has_live_credentials(headers: Headers, session: dict[str, object]) -> bool:
    """Whether a request carries a live bearer token or session (core.middleware.BodyGuard
    asks before any body is read). It only reads, in a session it rolls back."""
    with read_only_scope() as db:
        header = headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return service.actor_for_api_token(db, plain=header[7:].strip()) is not None
        key = session.get(SESSION_KEY)
        return isinstance(key, str) and service.actor_for_session(db, key=key) is not None


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


