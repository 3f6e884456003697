"""对标 pages: the league, an item across the cities, the review queue, suggestions."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.benchmark import service
from tongban.benchmark.enums import (
    Dimension,
    MemberStatus,
    ReviewAction,
    SuggestionAction,
    SuggestionKind,
    SuggestionState,
)
from tongban.benchmark.service import GroupFrontier
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError
from tongban.core.listing import ListParams
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.org.access import require_actor

router = APIRouter(include_in_schema=False)


def _league_chart(rows: list[service.LeagueRow]) -> dict[str, Any]:
    return {"xAxis": {"type": "category", "data": [r.org.name for r in rows]},
            "yAxis": {"type": "value", "max": 100},
            "series": [{"name": "前沿距离（DTF）", "type": "bar", "data": [r.dtf for r in rows]}]}


@router.get("/benchmark", response_class=HTMLResponse)
def league_page(request: Request, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    found = service.league(db, actor=actor)
    return render(request, "benchmark/league.html", {
        "league": found.league, "chart": _league_chart(found.league),
        "groups": len(found.groups)})


@router.get("/benchmark/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, group_id: RowId, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> Response:
    found = service.group_view(db, actor=actor, group_id=group_id)
    frontier = found if isinstance(found, GroupFrontier) else None
    group = found.group if isinstance(found, GroupFrontier) else found
    return render(request, "benchmark/group.html", {
        "group": group, "frontier": frontier, "dimensions": Dimension, "status": MemberStatus})


@router.get("/benchmark/review", response_class=HTMLResponse)
def review_page(request: Request, params: ListParams = Depends(service.QUEUE.params),
                db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    queue = service.review_queue(db, actor=actor, params=params)
    return render(request, "benchmark/review.html", {
        "queue": queue, "params": params, "actions": ReviewAction,
        "allowed": {m.id: service.allowed_review_actions(actor, m) for m in queue.items}})


@router.post("/benchmark/review/{member_id}/{action}")
def review_member(request: Request, member_id: RowId, action: ReviewAction,
                  target: int | None = Form(None), db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    member = service.get_member(db, member_id=member_id)
    into = service.get_group(db, group_id=target) if action is ReviewAction.move and target else None
    service.review_member(db, actor=actor, member=member, action=action, target=into)
    flash(request, f"已{action.label}：{member.name}")
    return see_other("/benchmark/review")


@router.get("/benchmark/suggestions", response_class=HTMLResponse)
def suggestions_page(request: Request, kind: str = "", department: str = "", state: str = "",
                     params: ListParams = Depends(service.SUGGESTIONS.params),
                     db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    chosen = SuggestionKind(kind) if kind in SuggestionKind._value2member_map_ else None
    in_state = SuggestionState(state) if state in SuggestionState._value2member_map_ else None
    found = service.list_suggestions(db, actor=actor, params=params, kind=chosen,
                                     department=department, state=in_state)
    return render(request, "benchmark/suggestions.html", {
        "found": found, "params": params, "kinds": SuggestionKind, "kind": kind,
        "department": department, "states": SuggestionState, "state": state,
        "actions": SuggestionAction,
        "allowed": {s.id: service.allowed_actions(db, actor=actor, suggestion=s)
                    for s in found.items}})


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise DomainError(f"日期「{text}」应为 YYYY-MM-DD") from None


@router.post("/benchmark/suggestions/{suggestion_id}/{action}")
def answer_suggestion(request: Request, suggestion_id: RowId, action: SuggestionAction,
                      planned_on: str = Form(""), reason: str = Form("", max_length=2000),
                      db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    found = service.get_suggestion(db, actor=actor, suggestion_id=suggestion_id)
    service.answer(db, actor=actor, suggestion=found, action=action, planned_on=_day(planned_on),
                   reason=reason)
    flash(request, f"已答复「{action.label}」：{found.item_name}")
    return see_other("/benchmark/suggestions")


@router.get("/benchmark/departments", response_class=HTMLResponse)
def departments_page(request: Request, db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> Response:
    service.require_benchmark(actor)
    city = service.home_city(db)
    return render(request, "benchmark/departments.html", {
        "city": city, "unmapped": service.unmapped_departments(db, actor=actor, city=city),
        "mappings": service.department_mappings(db, actor=actor, city=city),
        "departments": service.department_orgs(db, city=city)})


@router.post("/benchmark/departments")
def map_department(request: Request, name: str = Form(..., max_length=100),
                   department: int = Form(...), db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> Response:
    service.require_benchmark(actor)
    city = service.home_city(db)
    target = next((d for d in service.department_orgs(db, city=city) if d.id == department), None)
    if target is None:
        raise DomainError("请选择本市的部门")
    service.map_department(db, actor=actor, city=city, name=name, department=target)
    flash(request, f"已将「{name}」对应到{target.name}")
    return see_other("/benchmark/departments")
