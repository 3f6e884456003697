"""FastAPI application factory: routers, pages, static files, sessions, error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from tongban.assessment import api as assessment_api
from tongban.assessment import pages as assessment_pages
from tongban.core.config import get_settings
from tongban.core.db import session_scope
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.middleware import RequestGate, SecurityHeaders
from tongban.core.templating import render
from tongban.org import api as org_api
from tongban.org import pages as org_pages
from tongban.org import service as org_service
from tongban.org.access import LoginRequired
from tongban.rectification import api as rectification_api
from tongban.rectification import pages as rectification_pages
from tongban.reports import api as reports_api
from tongban.reports import pages as reports_pages
from tongban.reviews import api as reviews_api
from tongban.reviews import pages as reviews_pages
from tongban.system import api as system_api
from tongban.system import pages as system_pages
from tongban.web import pages as web_pages

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
API_PREFIX = "/api/v1"

#: npm packages served under /static/vendor/<name> (from node_modules, never committed).
VENDOR_ASSETS = {"echarts": "echarts/dist", "htmx": "htmx.org/dist"}


class ProductionNotReady(RuntimeError):
    """Production mode with a default secret key or demo users."""


def check_production_ready() -> None:
    """Refuse to serve in production with the default secret key or active demo users."""
    if not get_settings().is_production:
        return
    with session_scope() as db:
        problems = org_service.production_problems(db)
    if problems:
        raise ProductionNotReady("生产模式拒绝启动：" + "；".join(problems))


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    check_production_ready()
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
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    titles = {403: "无权访问", 404: "未找到", 409: "操作冲突", 422: "输入有误", 429: "请稍后再试"}
    errors = exc.errors.lines() if isinstance(exc, ValidationFailed) else []
    return render(
        request, "error.html",
        {"title": titles.get(exc.status_code, "操作未完成"), "message": exc.message,
         "errors": errors},
        status_code=exc.status_code,
    )


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
    app = FastAPI(
        title="通办 Tongban API",
        description="政务服务能力提升平台的 JSON 接口。除注明公开者外均需登录或 Bearer 令牌。",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tongban_session",
        max_age=settings.session_max_age_hours * 3600,
        same_site="lax",
        https_only=settings.is_production,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestGate, limit=settings.max_concurrent_requests)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)

    app.include_router(system_api.health_router)
    app.include_router(org_api.public_router, prefix=API_PREFIX, tags=["auth"])
    app.include_router(org_api.router, prefix=API_PREFIX, tags=["org"])
    app.include_router(system_api.router, prefix=API_PREFIX, tags=["system"])
    app.include_router(assessment_api.router, prefix=API_PREFIX, tags=["assessment"])
    app.include_router(rectification_api.router, prefix=API_PREFIX, tags=["rectification"])
    app.include_router(reviews_api.public_router, prefix=API_PREFIX, tags=["reviews"])
    app.include_router(reviews_api.router, prefix=API_PREFIX, tags=["reviews"])
    app.include_router(reports_api.router, prefix=API_PREFIX, tags=["reports"])

    app.include_router(web_pages.router)
    app.include_router(org_pages.router)
    app.include_router(system_pages.router)
    app.include_router(assessment_pages.router)
    app.include_router(rectification_pages.router)
    app.include_router(reviews_pages.router)
    app.include_router(reports_pages.router)

    for name, relative in VENDOR_ASSETS.items():
        directory = settings.static_vendor_dir / relative
        if directory.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=directory), name=name)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
