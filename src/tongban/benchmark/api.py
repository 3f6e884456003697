"""JSON API of 对标: the league, item groups across cities, suggestions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from tongban.benchmark import guides, service
from tongban.benchmark.enums import (
    MemberStatus,
    SuggestionAction,
    SuggestionKind,
    SuggestionState,
)
from tongban.benchmark.models import AlignmentGroup, Suggestion
from tongban.benchmark.schemas import (
    AnswerRequest,
    GroupRead,
    LeagueRead,
    MemberRead,
    SuggestionRead,
)
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, Page, PageOut, page_out
from tongban.core.security import Actor
from tongban.org.access import require_actor

router = APIRouter()


def group_read(group: AlignmentGroup) -> GroupRead:
    return GroupRead(id=group.id, name=group.name, base_code=group.base_code, members=[
        MemberRead(id=m.id, city=m.org.name, name=m.name, code=m.code, confidence=m.confidence,
                   status=MemberStatus(m.status)) for m in group.members])


def suggestion_read(s: Suggestion,
                    allowed: frozenset[SuggestionAction] = frozenset()) -> SuggestionRead:
    kind, state = SuggestionKind(s.kind), SuggestionState(s.state)
    return SuggestionRead(id=s.id, group=s.group_id, item=s.item_name, department=s.department,
                          kind=kind, kind_label=kind.label, material=s.material,
                          detail=s.detail, cities=s.cities, state=state, state_label=state.label,
                          due_on=s.due_on, planned_on=s.planned_on, answer=s.answer,
                          allowed_actions=sorted(allowed, key=list(SuggestionAction).index))


@router.get("/benchmark/league", response_model=PageOut[LeagueRead], summary="对标：各市前沿距离排名")
def read_league(response: Response, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> PageOut[LeagueRead]:
    rows = service.league(db, actor=actor).league
    return page_out(response, Page.whole([
        LeagueRead(city_code=r.org.code, city=r.org.name, dtf=r.dtf, items=r.items, rank=r.rank)
        for r in rows]))


@router.get("/benchmark/groups", response_model=PageOut[GroupRead], summary="对标：事项组")
def list_groups(response: Response, params: ListParams = Depends(service.GROUPS.params),
                db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> PageOut[GroupRead]:
    return page_out(response, service.list_groups(db, actor=actor, params=params).map(group_read))


@router.get("/benchmark/groups/{group_id}", response_model=GroupRead, summary="对标：一个事项组")
def read_group(group_id: RowId, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> GroupRead:
    service.require_benchmark(actor)
    return group_read(service.get_group(db, group_id=group_id))


@router.get("/benchmark/suggestions", response_model=PageOut[SuggestionRead],
            summary="对标建议（联络员只见本部门的）")
def list_suggestions(response: Response, kind: SuggestionKind | None = None,
                     department: str = "", state: SuggestionState | None = None,
                     params: ListParams = Depends(service.SUGGESTIONS.params),
                     db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> PageOut[SuggestionRead]:
    found = service.list_suggestions(db, actor=actor, params=params, kind=kind,
                                     department=department, state=state)
    return page_out(response, found.map(suggestion_read))


@router.get("/benchmark/suggestions/{suggestion_id}", response_model=SuggestionRead,
            summary="一条对标建议及可做的答复")
def read_suggestion(suggestion_id: RowId, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> SuggestionRead:
    found = service.get_suggestion(db, actor=actor, suggestion_id=suggestion_id)
    return suggestion_read(found, service.allowed_actions(db, actor=actor, suggestion=found))


@router.post("/benchmark/suggestions/{suggestion_id}/{action}", response_model=SuggestionRead,
             summary="答复对标建议：采纳（计划日期）、不采纳（理由）、已落实")
def answer_suggestion(suggestion_id: RowId, action: SuggestionAction, body: AnswerRequest,
                      db: Session = REQUEST_DB,
                      actor: Actor = Depends(require_actor)) -> SuggestionRead:
    found = service.get_suggestion(db, actor=actor, suggestion_id=suggestion_id)
    service.answer(db, actor=actor, suggestion=found, action=action,
                   planned_on=body.planned_on, reason=body.reason)
    return suggestion_read(found, service.allowed_actions(db, actor=actor, suggestion=found))


@router.get("/benchmark/check", summary="办事指南体检：本市各事项的异常、差评标签与可能失分")
def read_guide_check(db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    return guides.check_as_dict(guides.check_guides(db, actor=actor))


@router.post("/benchmark/check/tasks", summary="办事指南体检：为有异常的部门各开具一个整改任务（不重复）")
def open_guide_tasks(db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    found = guides.check_guides(db, actor=actor)
    opened = guides.open_guide_tasks(db, actor=actor, check=found)
    return {**guides.check_as_dict(found),
            "tasks": [{"department": o.department, "task": o.task_id, "items": o.items,
                       "new": o.new} for o in opened]}
