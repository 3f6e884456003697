"""The home page (工作台, one per role) and the API docs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB
from tongban.core.listing import ListParams
from tongban.core.periods import is_period
from tongban.core.security import Actor, Role
from tongban.core.templating import render, see_other
from tongban.core.workdays import local_today
from tongban.errand import service as errand_service
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.org.enums import Area
from tongban.reports import workbench
from tongban.supervision.pages import supervise_and_return

router = APIRouter(include_in_schema=False)



@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, until: str = "", db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    """工作台: each role's own home page (see ``reports.workbench``); a runner's is its
    work page (on duty, offers, its errands)."""
    if actor.role is Role.runner and errand_service.runner_of(db, actor=actor) is not None:
        return see_other("/errands/runner")
    as_of = local_today()
    kind = workbench.home_kind(actor)
    context: dict[str, Any] = {
        "kind": kind, "own_org": org_service.own_org(db, actor),
        "today": f"{as_of.year}年{as_of.month}月{as_of.day}日",
        "cohort_count": (org_service.list_cohorts(db, actor=actor,
                                                  params=ListParams(page_size=1)).total
                         if Area.cohorts in org_service.areas(actor) else 0)}
    if kind == "leader":
        context["overview"] = workbench.leader_overview(db, actor=actor, as_of=as_of)
    elif kind == "analyst":
        context["overview"] = workbench.analyst_overview(
            db, actor=actor, as_of=as_of, until=until if is_period(until) else None)
    elif kind == "liaison":
        context["todos"] = workbench.todos(db, actor=actor, as_of=as_of)
    return render(request, "home.html", context)


@router.post("/home/urge", response_class=HTMLResponse)
def urge_unit(request: Request, org: str = Form(...), text: str = Form(""),
              db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """One-click 催办 of a unit's overdue cases and tasks, from the leader's home page, with
    an optional note."""
    return supervise_and_return(request, back="/", run=lambda: workbench.urge_unit(
        db, actor=actor, org_ref=org, as_of=local_today(), text=text))


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """Swagger UI from the npm package, started by a script file (no inline script)."""
    return render(request, "api_docs.html", {"openapi_url": "/api/openapi.json"})
