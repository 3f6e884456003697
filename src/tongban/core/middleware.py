"""Pure ASGI middleware of the web app (no per-request task or body streaming of their own).

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

from starlette.datastructures import MutableHeaders
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


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin"}


class SecurityHeaders:
    """ASGI middleware: the headers every response carries unless a route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
