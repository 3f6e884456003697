"""督办 from a page: the two routes of each supervised kind of object (one object's page, and the
bulk 催办 of a list), made by :func:`supervision_pages`, and one way to answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.core.security import Actor
from tongban.core.templating import flash, local_path, see_other
from tongban.org.access import require_actor
from tongban.supervision import service
from tongban.supervision.enums import SupervisionKind
from tongban.supervision.service import Supervised

#: The domain's targets of a 督办 by ids (visible and open, or refused).
Targets = Callable[[Session, Actor, Iterable[int]], list[service.Target]]


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


def supervision_pages(*, item_path: str, bulk_path: str, list_path: str,
                      targets: Targets) -> APIRouter:
    """``POST <item_path>/{object_id}/supervision`` from an object's page (back to it) and
    ``POST <bulk_path>`` from a list's ticked rows (back to the list)."""
    router = APIRouter(include_in_schema=False)

    def run(request: Request, db: Session, actor: Actor, kind: SupervisionKind,
            ids: list[int], text: str, back: str) -> Response:
        return supervise_and_return(request, back=back, run=lambda: service.supervise(
            db, actor=actor, kind=kind, text=text, targets=targets(db, actor, ids)))

    @router.post(f"{item_path}/{{object_id}}/supervision")
    def one(request: Request, object_id: RowId, kind: SupervisionKind = Form(...),
            text: str = Form(""), db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> Response:
        return run(request, db, actor, kind, [object_id], text, f"{item_path}/{object_id}")

    @router.post(bulk_path)
    def bulk(request: Request, ids: list[int] = Form(default=[]),
             kind: SupervisionKind = Form(SupervisionKind.urge), text: str = Form(""),
             back: str = Form(list_path), db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> Response:
        """Bulk 催办 from a list: the ticked objects, one message per unit."""
        return run(request, db, actor, kind, ids, text, local_path(back, list_path))

    return router
