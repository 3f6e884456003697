"""No request can freeze the server: nothing that waits on the database or a file runs on the
event loop (issue #22).

An ``async def`` route or dependency runs on the event loop's one thread: a query there that
waits for a row lock (the rate counter another request holds) stops every request, ``/healthz``
included. Every ``async def`` the app calls per request is listed here with what it awaits;
everything else is a plain function, which FastAPI runs on a worker thread. Beside this walk,
``tests/conftest.py`` fails any test during which a statement ran on an event loop's thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tongban.app import create_app
from tongban.core.forms import read_body, read_form
from tongban.org.access import check_csrf, require_actor

#: The coroutines allowed to run per request, and what each awaits (nothing that blocks).
AWAITING_ONLY: dict[Callable[..., Any], str] = {
    read_form: "awaits the form (already read whole by BodyGuard)",
    read_body: "awaits the body (already read whole by BodyGuard)",
    check_csrf: "compares the session's token with the form's or header's",
    require_actor: "checks the actor its plain sub-dependency found; then check_csrf",
}


def _calls(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _is_coroutine(call: Any) -> bool:
    if inspect.isfunction(call) or inspect.ismethod(call) or inspect.isclass(call):
        return inspect.iscoroutinefunction(call)
    return inspect.iscoroutinefunction(type(call).__call__)  # an instance used as a dependency


def _routes() -> list[tuple[str, APIRoute, list[Any]]]:
    """Every API and page route of the app with its full path and the dependencies its
    routers were included with (FastAPI keeps included routers wrapped)."""
    found: list[tuple[str, APIRoute, list[Any]]] = []

    def walk(routes: list[Any], prefix: str, included: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                context = route.include_context
                walk(route.original_router.routes, prefix + context.prefix,
                     [*included, *context.dependencies])
            elif isinstance(route, APIRoute):
                found.append((prefix + route.path, route, included))

    walk(list(create_app().routes), "", [])
    return found


def test_the_walk_reaches_every_route() -> None:
    """Well over a hundred routes, pages and API alike (an empty walk would prove nothing)."""
    paths = {path for path, _, _ in _routes()}
    assert len(paths) > 150 and "/api/v1/reviews" in paths and "/rate" in paths


def test_every_coroutine_a_route_runs_is_one_that_only_awaits() -> None:
    found: dict[str, str] = {}
    for path, route, included in _routes():
        calls = [d.call for d in _calls(route.dependant)]
        calls += [depends.dependency for depends in included]
        for call in calls:
            if call is not None and _is_coroutine(call) and call not in AWAITING_ONLY:
                found[f"{sorted(route.methods)} {path}"] = getattr(call, "__qualname__",
                                                                   repr(call))
    assert not found, f"async def 路由或依赖会在事件循环上阻塞：{found}"


def test_no_coroutine_takes_the_database_session() -> None:
    """A coroutine handed the session could query on the loop: none is."""
    for call in AWAITING_ONLY:
        hints = inspect.get_annotations(call, eval_str=True)
        assert Session not in hints.values(), call.__qualname__


def test_the_walk_sees_the_public_write_routes_as_plain_functions() -> None:
    """The routes the outside test froze the server through are plain functions now (and the
    walk reaches them: a route list without them would prove nothing)."""
    by_path = {(m, path): r for path, r, _ in _routes() for m in r.methods}
    for key in (("POST", "/errand/new"), ("POST", "/rate"), ("POST", "/rate/code"),
                ("POST", "/errands/items/publish"),
                ("POST", "/api/v1/errand/channels/{code}/callback")):
        assert key in by_path, key
        assert not _is_coroutine(by_path[key].endpoint), key


def test_the_exception_handlers_and_lifespan_do_not_query() -> None:
    """Handlers render pages from what the request already holds; the start-up check runs on
    a worker thread (its source says so, since it is awaited from the lifespan)."""
    from tongban import app as app_module

    source = inspect.getsource(app_module.lifespan)
    assert "to_thread.run_sync(check_production_ready)" in source
    for handler in create_app().exception_handlers.values():
        text = inspect.getsource(handler)
        assert "db." not in text and "session_scope" not in text, handler.__qualname__
