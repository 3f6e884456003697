"""The request's form and raw body as dependencies, so that the routes reading them stay plain
functions.

Reading a body has to be awaited, and an ``async def`` route runs on the event loop: a query
there (a rate-limit row lock waiting on another request, a slow PostgreSQL) stops every other
request, ``/healthz`` included. These two async dependencies only await the body, which
``core.middleware.BodyGuard`` has already read and capped; the route that takes them is a
``def`` and runs on a worker thread like every other (``tests/security/test_event_loop.py``
walks the app and holds every route to that).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile


async def read_form(request: Request) -> FormData:
    """The parsed form (Starlette caches it: the CSRF check and the route share one parse)."""
    return await request.form()


async def read_body(request: Request) -> bytes:
    """The raw body (a signed callback is checked against its exact bytes)."""
    return await request.body()


#: Route parameter defaults: ``form: FormData = FORM`` and ``raw: bytes = BODY``.
FORM: Any = Depends(read_form)
BODY: Any = Depends(read_body)


def uploaded(form: FormData, name: str) -> UploadFile | None:
    """The file sent in field ``name`` with a file name, or None (a text field of that name,
    or a file input left empty). Starlette's class, which ``request.form()`` gives, not
    FastAPI's subclass."""
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None
