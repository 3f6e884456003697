"""A simulated provincial exchange platform (省共享交换平台), a real HTTP peer for the tests and
the demo: it takes catalog entries and pushed deliveries under its current cascade standard,
answers a repeated Idempotency-Key with its first answer, and can change its standard (as the
real one did in March 2026), after which entries and pushes in the old standard are refused
with the reason.

The server mounts it at ``/_province`` outside production when no real platform is configured
(``TONGBAN_DATA_CASCADE_URL``); tests run it on a port of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

#: What each standard requires of a catalog entry and of a push.
REQUIRED = {"v1": {"catalog": {"code", "name", "department", "share_type"},
                   "push": {"dataset", "rows", "sha256"}},
            "v2": {"catalog": {"code", "name", "department", "share_type", "update_cycle",
                               "field_list"},
                   "push": {"schema_version", "records"}}}


@dataclass
class Platform:
    """The platform's state: its standard, its catalog, the pushes it holds, the answers it
    gave by idempotency key."""

    standard: str = "v1"
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def take(self, kind: str, body: dict[str, Any], given: str, key: str) -> tuple[int, dict[str, Any]]:
        if key and key in self.answers:
            return self.answers[key]
        missing = sorted(REQUIRED[self.standard][kind] - set(body))
        answer: tuple[int, dict[str, Any]]
        if given != self.standard or missing:
            answer = (422, {"error": f"级联标准已更新为{self.standard}（本次按{given or '未注明'}）"
                                     + (f"：缺少 {'、'.join(missing)}" if missing else "")})
        elif kind == "catalog":
            self.catalog[str(body["code"])] = body
            answer = (200, {"message": "已注册", "code": body["code"]})
        else:
            records = body.get("records", body)
            if records.get("dataset") not in self.catalog:
                answer = (422, {"error": f"数据集{records.get('dataset')}未在省平台目录中注册"})
            else:
                self.pushes.append(records)
                answer = (200, {"message": "已接收", "received": len(self.pushes)})
        if key:
            self.answers[key] = answer
        return answer


def create_platform(platform: Platform | None = None) -> FastAPI:
    """The platform as an app (``platform`` holds its state, to look at in tests)."""
    state = platform or Platform()
    app = FastAPI(title="模拟省共享交换平台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.platform = state

    async def _answer(kind: str, request: Request, standard: str, key: str) -> JSONResponse:
        body = await request.json()
        status, answer = state.take(kind, body if isinstance(body, dict) else {}, standard, key)
        return JSONResponse(answer, status_code=status)

    @app.post("/api/catalog")
    async def catalog(request: Request, x_cascade_standard: str = Header(""),
                      idempotency_key: str = Header("")) -> JSONResponse:
        return await _answer("catalog", request, x_cascade_standard, idempotency_key)

    @app.post("/api/deliveries")
    async def deliveries(request: Request, x_cascade_standard: str = Header(""),
                         idempotency_key: str = Header("")) -> JSONResponse:
        return await _answer("push", request, x_cascade_standard, idempotency_key)

    @app.get("/api/standard")
    async def standard() -> dict[str, Any]:
        return {"standard": state.standard,
                "required": {k: sorted(v) for k, v in REQUIRED[state.standard].items()}}

    return app
