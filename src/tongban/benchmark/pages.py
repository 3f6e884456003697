"""对标 pages: the league, an item across the cities, the review queue, suggestions."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.benchmark import guides, service
from tongban.benchmark.enums import (
    Dimension,
    ImportKind,
    MemberStatus,
    ReviewAction,
    SuggestionAction,
    SuggestionKind,
    SuggestionState,
)
from tongban.benchmark.models import Suggestion
from tongban.benchmark.service import GroupFrontier
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.export import Field, xlsx_response
from tongban.core.listing import ListParams
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.org.access import require_actor

router = APIRouter(include_in_schema=False)


def _league_chart(rows: list[service.LeagueRow]) -> dict[str, Any]:
    return {"xAxis": {"type": "category", "data": [r.org.name for r in rows]},
            "yAxis": {"type": "value", "max": 100},
            "series": [{"name": "前沿距离（DTF）", "type": "bar", "data": [r.dtf for r in rows]}]}


def _league_context(db: Session, actor: Actor) -> dict[str, Any]:
    found = service.league(db, actor=actor)
    return {"league": found.league, "chart": _league_chart(found.league),
            "groups": len(found.groups), "may_import": service.allowed_import(actor),
            "cities": service.province_cities(db), "kinds": ImportKind}


@router.get("/benchmark", response_class=HTMLResponse)
def league_page(request: Request, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "benchmark/league.html", _league_context(db, actor))


@router.post("/benchmark/import")
def import_page(request: Request, city: int = Form(...), kind: str = Form("catalog"),
                as_of: str = Form(""), file: UploadFile = File(...),
                materials: UploadFile | None = File(None), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    """An analyst's upload of a city's catalog (and materials) or its 实施清单; a refused file's
    errors are shown on the page."""
    service.require_benchmark(actor)
    owner = next((c for c in service.province_cities(db) if c.id == city), None)
    chosen = ImportKind(kind) if kind in ImportKind._value2member_map_ else ImportKind.catalog
    extra = materials if materials is not None and materials.filename else None
    try:
        if owner is None:
            raise DomainError("请选择本省的市（州）")
        if chosen is ImportKind.implementation_list:
            listed = service.import_implementation_list(
                db, actor=actor, city=owner, source=file.file, filename=file.filename or "上传文件")
            message = (f"已导入{owner.name}的实施清单：事项 {listed.items} 项，材料 {listed.materials}"
                       f" 条；{listed.summary()}")
        else:
            done = service.import_catalog(
                db, actor=actor, city=owner, source=file.file,
                filename=file.filename or "上传文件", as_of=_day(as_of),
                materials=extra.file if extra else None,
                materials_filename=extra.filename if extra else None)
            message = (f"已导入{owner.name}的事项目录：" + ("新快照" if done.new else "内容未变")
                       + f"，事项 {done.items} 项，材料 {done.materials} 条；请重新对齐")
    except PermissionDenied:
        raise
    except DomainError as exc:
        failure = ValidationFailed.of(exc)
        return render(request, "benchmark/league.html",
                      {**_league_context(db, actor), "failure": failure},
                      status_code=exc.status_code)
    flash(request, message)
    return see_other("/benchmark")


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


#: The columns of the suggestions' XLSX (a department's, with the 实施部门 filter).
SUGGESTION_FIELDS: list[Field[Suggestion]] = [
    Field("编号", lambda s: s.id),
    Field("实施部门", lambda s: s.department),
    Field("事项名称", lambda s: s.item_name),
    Field("类型", lambda s: SuggestionKind(s.kind).label),
    Field("材料", lambda s: s.material),
    Field("建议依据", lambda s: s.detail),
    Field("参照城市", lambda s: s.cities),
    Field("状态", lambda s: SuggestionState(s.state).label),
    Field("答复期限", lambda s: s.due_on),
    Field("计划落实日期", lambda s: s.planned_on),
    Field("答复", lambda s: s.answer),
]


@router.get("/benchmark/suggestions", response_class=HTMLResponse)
def suggestions_page(request: Request, kind: str = "", department: str = "", state: str = "",
                     format: str = "", params: ListParams = Depends(service.SUGGESTIONS.params),
                     db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    chosen = SuggestionKind(kind) if kind in SuggestionKind._value2member_map_ else None
    in_state = SuggestionState(state) if state in SuggestionState._value2member_map_ else None
    found = service.list_suggestions(
        db, actor=actor, kind=chosen, department=department, state=in_state,
        params=params.for_export() if format == "xlsx" else params)
    if format == "xlsx":
        return xlsx_response(found.items, SUGGESTION_FIELDS,
                             title=f"对标建议-{department}" if department else "对标建议")
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


@router.get("/benchmark/check", response_class=HTMLResponse)
def check_page(request: Request, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> Response:
    found = guides.check_guides(db, actor=actor)
    return render(request, "benchmark/check.html", {
        "check": found, "allowed": guides.allowed_guide_actions(db, actor=actor)})


@router.post("/benchmark/check/tasks")
def open_guide_tasks(request: Request, db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> Response:
    opened = guides.open_guide_tasks(db, actor=actor, check=guides.check_guides(db, actor=actor))
    new = sum(1 for o in opened if o.new)
    unmapped = [o.department for o in opened if o.task_id is None]
    held = len(opened) - new - len(unmapped)
    flash(request, f"已开具整改任务 {new} 个"
          + (f"；{held} 个部门已有未办结任务" if held else "")
          + (f"；未对应到部门：{'、'.join(unmapped)}（请在「部门别名」页面对应）" if unmapped else ""))
    return see_other("/benchmark/check")


@router.get("/benchmark/summary", response_class=HTMLResponse)
def summary_page(request: Request, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    city = service.home_city(db)
    found = service.league(db, actor=actor)
    rows = service.department_summary(db, actor=actor, city=city, benchmark=found)
    return render(request, "benchmark/summary.html", {
        "city": city, "rows": rows, "kinds": SuggestionKind,
        "states": [s for s in SuggestionState if s is not SuggestionState.withdrawn],
        "place": found.rank_of(city.id), "cities": len(found.league)})
