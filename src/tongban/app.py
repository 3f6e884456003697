"""FastAPI application factory: routers, pages, static files, sessions, error pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.middleware.sessions import SessionMiddleware

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.assessment import api as assessment_api
from tongban.assessment import pages as assessment_pages
from tongban.benchmark import api as benchmark_api
from tongban.benchmark import pages as benchmark_pages
from tongban.benchmark import service as benchmark_service
from tongban.catalog import api as catalog_api
from tongban.catalog import pages as catalog_pages
from tongban.core.config import get_settings
from tongban.core.db import session_scope
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.middleware import (
    BodyCaps,
    BodyGuard,
    RequestGate,
    SecurityHeaders,
    content_security_policy,
)
from tongban.core.ratelimit import RateLimited
from tongban.core.templating import render
from tongban.datasharing import api as datasharing_api
from tongban.datasharing import pages as datasharing_pages
from tongban.errand import api as errand_api
from tongban.errand import pages as errand_pages
from tongban.errand.enums import PartnerChannel
from tongban.ledger import api as ledger_api
from tongban.ledger import pages as ledger_pages
from tongban.org import api as org_api
from tongban.org import pages as org_pages
from tongban.org import service as org_service
from tongban.org.access import MENU_CHECKS, LoginRequired, has_live_credentials
from tongban.rectification import api as rectification_api
from tongban.rectification import pages as rectification_pages
from tongban.reports import api as reports_api
from tongban.reports import pages as reports_pages
from tongban.reviews import api as reviews_api
from tongban.reviews import pages as reviews_pages
from tongban.reviews import service as reviews_service
from tongban.system import api as system_api
from tongban.system import pages as system_pages
from tongban.web import pages as web_pages

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
API_PREFIX = "/api/v1"
logger = logging.getLogger(__name__)

#: The only routes that take a body from someone not logged in (capped tighter: BodyGuard).
PUBLIC_WRITES = frozenset({
    ("POST", "/login"), ("POST", "/rate"), ("POST", "/rate/code"), ("POST", "/track"),
    ("POST", "/errand/new"), ("POST", "/errand/track"), ("POST", "/errand/track/sign"),
    ("POST", "/errand/track/withdraw"),
    ("POST", f"{API_PREFIX}/reviews"),
    ("POST", f"{API_PREFIX}/auth/token"),
    # the simulated provincial platform, mounted outside production only
    ("POST", "/_province/api/catalog"), ("POST", "/_province/api/deliveries"),
    *(("POST", f"{API_PREFIX}/errand/channels/{code.value}/callback")
      for code in PartnerChannel),
})

#: npm packages served under /static/vendor/<name> (from node_modules, never committed).
VENDOR_ASSETS = {"echarts": "echarts/dist", "htmx": "htmx.org/dist",
                 "swagger-ui": "swagger-ui-dist", "leaflet": "leaflet/dist"}


class ErrorBody(BaseModel):
    """Every error the API answers: a Chinese message, and for refused input where and why."""

    detail: str
    errors: list[dict[str, Any]] | None = None


#: The errors any API route may answer, documented once for all of them (the 422 replaces
#: FastAPI's own schema, which our bodies do not follow).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "请求无法办理"), (401, "未登录或令牌无效"), (403, "无权操作"), (404, "未找到"),
        (409, "与当前状态冲突"), (413, "请求内容过大"), (422, "输入有误"), (429, "请求过于频繁"),
        (503, "系统繁忙，请稍后重试"))
}


class ProductionNotReady(RuntimeError):
    """Production mode with a default secret key or demo users."""


def check_production_ready() -> None:
    """Refuse to serve with data keys that cannot open the stored personal data, and in
    production with the default secret key, no data keys or active demo users."""
    with session_scope() as db:
        problems = org_service.production_problems(db) if get_settings().is_production else []
        try:
            unreadable = reviews_service.unreadable_personal_data(db)
        except DomainError as exc:  # keys that are no keys at all
            problems.append(exc.message)
            unreadable = 0
    if unreadable:
        problems.append(f"最新的 {unreadable} 个电话号码无法用 TONGBAN_DATA_KEYS 解密（密钥被更换或遗漏："
                        "请恢复原密钥，或运行 tongban keys check）")
    if problems:
        raise ProductionNotReady("拒绝启动：" + "；".join(problems))


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await to_thread.run_sync(check_production_ready)  # it queries: not on the event loop
    yield


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, LoginRequired) and not _wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    if _wants_json(request):
        body: dict[str, object] = {"detail": exc.message}
        if isinstance(exc, ValidationFailed):
            body.update(exc.errors.as_dict())
        return JSONResponse(body, status_code=exc.status_code, headers=_error_headers(exc))
    titles = {403: "无权访问", 404: "未找到", 409: "操作冲突", 422: "输入有误", 429: "请稍后再试"}
    errors = exc.errors.lines() if isinstance(exc, ValidationFailed) else []
    page = render(
        request, "error.html",
        {"title": titles.get(exc.status_code, "操作未完成"), "message": exc.message,
         "errors": errors},
        status_code=exc.status_code,
    )
    page.headers.update(_error_headers(exc) or {})
    return page


def _error_headers(exc: DomainError) -> dict[str, str] | None:
    if exc.status_code == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    return None


async def _out_of_range(request: Request, exc: Exception) -> Response:
    """A number the database cannot hold (a last line of defence: bounds belong on the
    parameters) is the caller's error, never a 500."""
    message = "参数超出范围"
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=422)
    return render(request, "error.html", {"title": "输入有误", "message": message, "errors": []},
                  status_code=422)


#: Seconds a client is asked to wait when the database is busy.
BUSY_RETRY_AFTER = 5


async def _database_busy(request: Request, exc: Exception) -> Response:
    """A database that is locked, timed out or unreachable answers 503 with Retry-After, never
    a 500: the request changed nothing (its transaction was rolled back) and may be repeated."""
    logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    message = "系统繁忙，请稍后重试（本次操作未保存）"
    headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=503, headers=headers)
    page = render(request, "error.html", {"title": "系统繁忙", "message": message, "errors": []},
                  status_code=503)
    page.headers.update(headers)
    return page


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if _wants_json(request):
        return JSONResponse({"detail": "请求参数有误", "errors": errors}, status_code=422)
    lines = [f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in errors]
    return render(
        request, "error.html",
        {"title": "输入有误", "message": "请求参数有误", "errors": lines}, status_code=422,
    )


def create_app() -> FastAPI:
    """The whole web application."""
    settings = get_settings()
    # 对标建议 in a liaison's menu when its department has suggestions
    MENU_CHECKS["benchmark_answers"] = benchmark_service.has_suggestions
    app = FastAPI(
        title="通办 Tongban API",
        description="政务服务能力提升平台的 JSON 接口。除注明公开者外均需登录或 Bearer 令牌。",
        version="1",
        docs_url=None,  # served by web.pages with self-hosted assets
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    # Outermost last: security headers → session cookie → body guard (auth, caps, whole body
    # read) → request gate → app. A body is complete before the gate gives it a slot.
    app.add_middleware(RequestGate, limit=settings.max_concurrent_requests)
    app.add_middleware(
        BodyGuard,
        caps=BodyCaps(public=settings.public_body_max_bytes,
                      upload=settings.upload_body_max_bytes, other=settings.body_max_bytes,
                      idle_seconds=settings.body_idle_seconds),
        public=PUBLIC_WRITES, authenticated=has_live_credentials,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tongban_session",
        max_age=settings.session_max_age_hours * 3600,
        same_site="lax",
        https_only=settings.is_production,
    )
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings.map_tile_url))
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)

    app.include_router(system_api.health_router)
    for router, tag in ((org_api.public_router, "auth"), (org_api.router, "org"),
                        (system_api.router, "system"), (catalog_api.router, "catalog"),
                        (assessment_api.router, "assessment"),
                        (rectification_api.router, "rectification"),
                        (reviews_api.public_router, "reviews"), (reviews_api.router, "reviews"),
                        (reports_api.router, "reports"), (benchmark_api.router, "benchmark"),
                        (rectification_api.supervision_api, "rectification"),
                        (reviews_api.supervision_api, "reviews"),
                        (errand_api.public_router, "errands"), (errand_api.router, "errands"),
                        (datasharing_api.router, "datasharing"),
                        (ledger_api.router, "ledgers")):
        app.include_router(router, prefix=API_PREFIX, tags=[tag], responses=ERROR_RESPONSES)

    app.include_router(web_pages.router)
    app.include_router(org_pages.router)
    app.include_router(system_pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(benchmark_pages.router)
    app.include_router(assessment_pages.router)
    app.include_router(rectification_pages.router)
    app.include_router(rectification_pages.supervision_forms)
    app.include_router(reviews_pages.router)
    app.include_router(reviews_pages.supervision_forms)
    app.include_router(reports_pages.router)
    app.include_router(errand_pages.router)
    app.include_router(datasharing_pages.router)
    app.include_router(ledger_pages.router)

    for name, relative in VENDOR_ASSETS.items():
        directory = settings.static_vendor_dir / relative
        if directory.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=directory), name=name)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if not settings.is_production and not settings.data_cascade_url:
        # The simulated provincial exchange platform the cascade pushes to (demo, development).
        from tongban.datasharing.province import create_platform

        app.mount("/_province", create_platform(), name="province")
    return app
