"""RequestGate: at most N requests inside the app; reading requests begin deferred."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from tongban.core.db import may_write
from tongban.core.middleware import RequestGate


def test_the_gate_admits_at_most_its_limit_and_marks_writes() -> None:
    inside = 0
    most = 0
    seen: dict[str, bool] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        seen[scope["path"]] = may_write.get()
        await asyncio.sleep(0.01)
        inside -= 1

    gate = RequestGate(app, limit=3)

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    async def main() -> None:
        requests = [{"type": "http", "method": "GET" if n % 2 else "POST", "path": f"/{n}"}
                    for n in range(12)]
        await asyncio.gather(*(gate(scope, receive, send) for scope in requests))

    asyncio.run(main())
    assert most == 3
    assert seen == {f"/{n}": n % 2 == 0 for n in range(12)}
    assert may_write.get() is True  # outside a request, transactions may write
