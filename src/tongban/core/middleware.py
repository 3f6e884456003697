"""Pure ASGI middleware of the web app (no per-request task or body streaming of their own).

BodyGuard: a size cap on every request body, and no body read at all for a stranger on a route
that needs a login (FastAPI reads a body before the route's dependencies authenticate).

RequestGate: how many requests work on the database at once, and which of them may write.

Sync routes and their session dependency run on a pool of worker threads, and the session is
committed by a second call on that pool after the route returns. When every worker waits for a
database lock or a pooled connection, the commit that would free them has no worker left and
the requests stall until their timeouts. The gate admits at most ``limit`` requests into the
app at once (the rest wait, cheaply, on the event loop), well below the worker count.

It also tells the database layer whether a request may write: GET, HEAD and OPTIONS begin
their SQLite transactions deferred (readers never wait under WAL), everything else IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from anyio import to_thread
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.core.db import may_write

READING = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestGate:
    """ASGI middleware: at most ``limit`` HTTP requests inside the app at a time."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the serving loop, not at import
            self._slots = asyncio.Semaphore(self.limit)
        token = may_write.set(scope["method"] not in READING)
        try:
            async with self._slots:
                await self.app(scope, receive, send)
        finally:
            may_write.reset(token)


#: The Content-Security-Policy of every page: scripts, fonts, images and data from this site
#: only, no inline script and no eval, so that text a user typed can never run even where
#: escaping failed; charts read their data from JSON blocks (core.templating.json_script).
#: Styles allow 'unsafe-inline' for one reason: ECharts and Swagger UI position their
#: elements through style attributes; our own templates carry none (tests/security).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def tile_source(tile_url: str) -> str:
    """The CSP source of a map tile URL template: its scheme and host, a ``{s}`` subdomain as
    ``*`` (CSP allows a wildcard only as the leftmost label); "" for none or a host CSP
    cannot name."""
    match = re.match(r"^https://([^/?#]+)", tile_url)
    if not match:
        return ""
    labels = match.group(1).split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    host = ".".join(labels)
    return f"https://{host}" if re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:[0-9]+)?", host) else ""


def content_security_policy(tile_url: str = "") -> str:
    """The pages' CSP, with the map tiles' host among the image sources where configured."""
    source = tile_source(tile_url)
    if not source:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:;", f"img-src 'self' data: {source};")
#: A report's standalone HTML carries its own stylesheet and no script at all.
REPORT_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin",
                    "Content-Security-Policy": CONTENT_SECURITY_POLICY}


class SecurityHeaders:
    """ASGI middleware: the headers every response carries unless a route set its own."""

    def __init__(self, app: ASGIApp, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.app = app
        self.headers = {**SECURITY_HEADERS, "Content-Security-Policy": policy}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class BodyCaps:
    """Body sizes in bytes: public routes, uploads (multipart) and everything else; and how
    long a client may pause while sending one."""

    public: int
    upload: int
    other: int
    idle_seconds: float = 10.0


def _size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


#: Bodies up to this size stay in memory while they are read; larger ones go to a temp file.
SPOOL_IN_MEMORY = 1024 * 1024


class BodyGuard:
    """ASGI middleware: every body is capped, read whole before the app (and the request gate)
    sees the request, and read only for a caller whose credentials are live, except on the
    routes in ``public`` (method, path).

    The cap holds whatever the client claims: a Content-Length over the cap is refused before
    reading, and a body that streams past it is cut off. A client that pauses longer than
    ``idle_seconds`` gets 408: a slow body never holds one of the gate's few slots (eight slow
    strangers would otherwise freeze the app). ``authenticated`` checks the bearer token or the
    session (it queries the database, so it runs on a worker thread); this runs inside the
    session middleware, which has decoded the cookie by then.
    """

    def __init__(self, app: ASGIApp, *, caps: BodyCaps, public: frozenset[tuple[str, str]],
                 authenticated: Callable[[Headers, dict[str, object]], bool]) -> None:
        self.app = app
        self.caps = caps
        self.public = public
        self.authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_public = (scope["method"], scope["path"]) in self.public
        if is_public:
            cap = self.caps.public
        elif headers.get("content-type", "").startswith("multipart/"):
            cap = self.caps.upload
        else:
            cap = self.caps.other
        declared = headers.get("content-length")
        has_body = bool(headers.get("transfer-encoding")) or (declared not in (None, "", "0"))
        if declared is not None and (not (declared.isascii() and declared.isdecimal())
                                     or int(declared) > cap):
            await _refuse(scope, receive, send, _too_large(cap))
            return
        if not has_body:
            await self.app(scope, receive, send)
            return
        if not is_public and scope["method"] not in READING:
            session = scope.get("session") or {}
            try:
                known = await to_thread.run_sync(self.authenticated, headers, dict(session))
            except OperationalError:
                await _refuse(scope, receive, send, JSONResponse(
                    {"detail": "系统繁忙，请稍后重试（本次操作未保存）"}, status_code=503,
                    headers={"Retry-After": "5"}))
                return
            if not known:
                await _refuse(scope, receive, send, _login_required(scope))
                return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as body:
            refusal = await self._read(receive, body, cap)
            if refusal is not None:
                await _refuse(scope, receive, send, refusal)
                return
            size = body.tell()
            body.seek(0)
            done = False

            async def replay() -> Message:
                nonlocal done
                if done:
                    return await receive()  # after the body: only a disconnect comes
                chunk = body.read(64 * 1024)
                done = body.tell() >= size
                return {"type": "http.request", "body": chunk, "more_body": not done}

            await self.app(scope, replay, send)

    async def _read(self, receive: Receive, body: IO[bytes], cap: int) -> Response | None:
        """Read the whole body into ``body``; the response that refuses it, if any."""
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=self.caps.idle_seconds)
            except TimeoutError:
                return JSONResponse({"detail": "请求内容发送过慢，连接已关闭"}, status_code=408)
            if message["type"] != "http.request":
                return JSONResponse({"detail": "连接已断开"}, status_code=400)
            body.write(message.get("body", b""))
            if body.tell() > cap:
                return _too_large(cap)
            if not message.get("more_body", False):
                return None


def _too_large(cap: int) -> Response:
    return JSONResponse({"detail": f"请求内容过大（上限 {_size_text(cap)}）"}, status_code=413)


def _login_required(scope: Scope) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": "请先登录或提供有效的 API 令牌"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse("/login", status_code=303)


async def _refuse(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    """Answer without reading the body; the server closes the connection afterwards."""
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
