"""JSON API of 对标: the league, item groups across cities, suggestions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from tongban.benchmark import service
from tongban.benchmark.enums import MemberStatus, SuggestionKind, SuggestionState
from tongban.benchmark.models import AlignmentGroup, Suggestion
from tongban.benchmark.schemas import GroupRead, LeagueRead, MemberRead, SuggestionRead
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, Page, PageOut, page_out
from tongban.core.security import Actor
from tongban.org.access import require_actor

router = APIRouter()


def group_read(group: AlignmentGroup) -> GroupRead:
    return GroupRead(id=group.id, name=group.name, base_code=group.base_code, members=[
        MemberRead(id=m.id, city=m.org.name, name=m.name, code=m.code, confidence=m.confidence,
                   status=MemberStatus(m.status)) for m in group.members])


def suggestion_read(s: Suggestion) -> SuggestionRead:
    kind = SuggestionKind(s.kind)
    return SuggestionRead(id=s.id, group=s.group_id, item=s.item_name, department=s.department,
                          kind=kind, kind_label=kind.label, material=s.material,
                          detail=s.detail, cities=s.cities, state=SuggestionState(s.state))


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
                     department: str = "",
                     params: ListParams = Depends(service.SUGGESTIONS.params),
                     db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> PageOut[SuggestionRead]:
    found = service.list_suggestions(db, actor=actor, params=params, kind=kind,
                                     department=department)
    return page_out(response, found.map(suggestion_read))
