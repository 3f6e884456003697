"""督办 from a page: no routes of its own (each domain's page posts to it), one way to answer."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.core.templating import flash, see_other
from tongban.supervision.service import Supervised


def supervise_and_return(request: Request, *, run: Callable[[], Supervised],
                         back: str) -> Response:
    """Run a 催办 or 批示 and go back to ``back`` with what it did (or why not) flashed; an
    object that is not the actor's to supervise gets the error page, not a hint on a page."""
    try:
        flash(request, run().message)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(back)
