"""跑团代办 pages: the requester's phone page (no login) and tracking link, the runner's page
(duty, nearby pool with grab, own errands with the next step), the staff list."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId, utcnow
from tongban.core.errors import DomainError, NotFound
from tongban.core.listing import ListParams
from tongban.core.ratelimit import RateLimited
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.errand import service
from tongban.errand.enums import ErrandAction, ErrandState, ZoneMode
from tongban.errand.models import Errand
from tongban.org import service as org_service
from tongban.org.access import check_csrf, require_actor
from tongban.org.enums import Area

router = APIRouter(include_in_schema=False)

AUTHORISATION = "我授权跑手代为领取/递交材料"


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _tiles() -> dict[str, str]:
    """The map tile layer of the console and the request page ("" url: none configured)."""
    settings = get_settings()
    return {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution}


def _new_page(db: Session, request: Request, form: dict[str, str], errors: list[str],
              status_code: int = 200) -> Response:
    return render(request, "errand/new.html", {
        "items": service.active_items(db), "form": form, "errors": errors,
        "authorisation": AUTHORISATION, "tiles": _tiles(),
        "centre": service.city_centre(db)}, status_code=status_code)


@router.get("/errand/new", response_class=HTMLResponse)
def new_errand(request: Request, db: Session = REQUEST_DB) -> Response:
    return _new_page(db, request, {}, [])


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DomainError("请允许获取位置，或填写取件地点的纬度和经度") from None


@router.post("/errand/new", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def submit_errand(request: Request, db: Session = REQUEST_DB) -> Response:
    """A request from the phone page: rate-limited, then a tracking link shown once."""
    raw = await request.form()
    form = {key: str(raw.get(key, ""))[:500] for key in (
        "item_id", "contact_name", "phone", "lat", "lng", "address", "preferred_window", "note")}
    form["authorised"] = "1" if raw.get("authorised") else ""
    try:
        item_id = int(form["item_id"]) if form["item_id"].isdigit() else 0
        submitted = service.submit_public(db, client=_client(request), request=service.Request(
            item_id=item_id, contact_name=form["contact_name"], phone=form["phone"],
            lat=_float(form["lat"]), lng=_float(form["lng"]), address=form["address"],
            preferred_window=form["preferred_window"], note=form["note"],
            authorised=bool(form["authorised"])))
    except RateLimited:
        raise
    except DomainError as exc:
        return _new_page(db, request, form, [exc.message], status_code=422)
    assert submitted.tracking_token is not None
    path = service.track_path(submitted.tracking_token)
    return render(request, "errand/thanks.html", {
        "errand": submitted.errand, "track_path": path,
        "track_url": str(request.base_url).rstrip("/") + path})


@router.get("/errand/track/{token}", response_class=HTMLResponse)
def track(request: Request, token: str, db: Session = REQUEST_DB) -> Response:
    """Where a request stands, for its requester (the link is the key)."""
    errand = service.tracked(db, token=token[:100])
    return render(request, "errand/track.html", {
        "errand": errand, "token": token, "state": ErrandState(errand.state),
        "holder": service.holder(errand),
        "can_rate": ErrandAction.rate in service.allowed_actions(
            db, actor=service.REQUESTER, errand=errand)})


@router.post("/errand/track", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def rate(request: Request, token: str = Form(""), rating: int = Form(0),
         db: Session = REQUEST_DB) -> Response:
    service.rate_tracked(db, token=token[:100], rating=rating, client=_client(request))
    flash(request, "感谢您的评价")
    return see_other(service.track_path(token[:100]))


@router.get("/errands", response_class=HTMLResponse)
def errand_list(request: Request, state: ErrandState | None = None,
                params: ListParams = Depends(service.ERRANDS.params), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    page = service.list_errands(db, actor=actor, state=state, params=params)
    return render(request, "errand/list.html", {
        "page": page, "state": state, "states": list(ErrandState), "params": params,
        "is_runner": service.runner_of(db, actor=actor) is not None})


@router.get("/errands/runner", response_class=HTMLResponse)
def runner_page(request: Request, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    """The runner's phone page: duty, the nearby pool, own errands with their next step."""
    org_service.require_area(actor, Area.errands)
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound("当前账号不是登记的跑手")
    mine = service.list_errands(db, actor=actor, params=ListParams(page_size=50))
    # offers first: they wait for an answer within seconds
    active = sorted((e for e in mine.items if ErrandState(e.state).is_open),
                    key=lambda e: e.state != ErrandState.offered.value)
    pool = service.pool(db, actor=actor, runner=runner)
    offer_seconds = get_settings().errand_offer_seconds
    return render(request, "errand/runner.html", {
        "runner": runner, "pool": pool,
        "mine": [(e, _in_order(service.allowed_actions(db, actor=actor, errand=e))) for e in active],
        "radius": get_settings().errand_radius_km,
        "deadlines": {e.id: e.offered_at + timedelta(seconds=offer_seconds)
                      for e in active if e.state == ErrandState.offered.value and e.offered_at},
        "pulse": _pulse(active, pool)})


@router.get("/errands/runner/pulse")
def runner_pulse(db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """What the runner page polls: a fingerprint of the runner's offers and pool, so that the
    page reloads when an offer arrives or the pool changes."""
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound("当前账号不是登记的跑手")
    mine = service.list_errands(db, actor=actor, params=ListParams(page_size=50))
    active = [e for e in mine.items if ErrandState(e.state).is_open]
    return JSONResponse({"pulse": _pulse(active, service.pool(db, actor=actor, runner=runner))})


def _pulse(active: list[Errand], pool: list[tuple[Errand, float]]) -> str:
    return ",".join([f"{e.id}:{e.state}" for e in active] + [f"p{e.id}" for e, _ in pool])


@router.post("/errands/runner/duty", response_class=HTMLResponse)
def toggle_duty(request: Request, on_duty: str = Form(""), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound("当前账号不是登记的跑手")
    service.set_duty(db, actor=actor, runner=runner, on_duty=on_duty == "1")
    return see_other("/errands/runner")


@router.post("/errands/runner/position")
def ping(lat: float = Form(...), lng: float = Form(...), db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> Response:
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound("当前账号不是登记的跑手")
    service.record_position(db, actor=actor, runner=runner, lat=lat, lng=lng)
    return Response(status_code=204)


@router.post("/errands/{errand_id}/grab", response_class=HTMLResponse)
def grab(request: Request, errand_id: RowId, db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> Response:
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound(f"未找到代办 #{errand_id}")
    try:
        service.grab(db, actor=actor, errand_id=errand_id, runner_id=runner.id)
    except (service.Taken, service.NotEligible) as exc:
        flash(request, exc.message, "error")
        return see_other("/errands/runner")
    flash(request, f"抢单成功：代办 #{errand_id}")
    return see_other("/errands/runner")


@router.post("/errands/{errand_id}/actions/{action}", response_class=HTMLResponse)
def act(request: Request, errand_id: RowId, action: ErrandAction, reason: str = Form(""),
        db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    service.transition(db, actor=actor, errand=errand, action=action, reason=reason)
    flash(request, f"代办 #{errand_id}：{action.label}")
    back = "/errands/runner" if service.runner_of(db, actor=actor) else "/errands"
    return see_other(back)


#: Steps shown after the others: refusing and giving up.
_LAST = (ErrandAction.decline, ErrandAction.cancel, ErrandAction.fail)


def _in_order(allowed: frozenset[ErrandAction]) -> list[ErrandAction]:
    """The next step first (接受派单 before 拒绝派单), 取消/失败 last."""
    return sorted((a for a in ErrandAction if a in allowed), key=lambda a: a in _LAST)


@router.get("/errands/console", response_class=HTMLResponse)
def console(request: Request, days: int = 7, db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> Response:
    """The dispatcher console: runners and waiting errands on a map of the zones, the queue,
    the KPIs of the last days and each zone's mode."""
    days = days if days in CONSOLE_WINDOWS else 7
    found = service.console(db, actor=actor, days=days)
    return render(request, "errand/console.html", {
        "console": found, "days": days, "windows": CONSOLE_WINDOWS, "map": _map(found),
        "modes": list(ZoneMode), "can_set_mode": actor.can_manage, "tiles": _tiles(),
        "answer_minutes": get_settings().errand_answer_minutes, "now": utcnow()})


@router.post("/errands/console/mode", response_class=HTMLResponse)
def set_mode(request: Request, zone: int = Form(...), mode: str = Form(""),
             db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    chosen = ZoneMode(mode) if mode in ZoneMode.__members__ else None
    found = service.set_zone_mode(db, actor=actor, zone_org_id=zone, mode=chosen)
    flash(request, f"{found.org.name}：派单方式已设为「{chosen.label if chosen else '默认'}」")
    return see_other("/errands/console")


#: The console's KPI windows (days).
CONSOLE_WINDOWS = (1, 7, 30)


def _map(found: service.Console) -> dict[str, object]:
    """The ECharts option of the console's map: longitude × latitude, the county seats
    labelled, runners on and off duty, waiting and offered errands."""
    def point(name: str, lng: float | None, lat: float | None) -> dict[str, object]:
        return {"name": name, "value": [round(lng or 0, 5), round(lat or 0, 5)]}

    runners = [r for r in found.runners if r.lat is not None and r.lng is not None]
    series = [
        {"name": "县区驻地", "type": "scatter", "symbol": "pin", "symbolSize": 26,
         "label": {"show": True, "formatter": "{b}", "position": "top"},
         "data": [point(z.name, z.lng, z.lat) for z in found.zones]},
        {"name": "在岗跑手", "type": "scatter", "symbolSize": 9,
         "data": [point(f"{r.name}（{r.active_count}/{r.capacity}）", r.lng, r.lat)
                  for r in runners if r.on_duty and not r.suspended]},
        {"name": "离岗跑手", "type": "scatter", "symbolSize": 7, "itemStyle": {"opacity": 0.4},
         "data": [point(r.name, r.lng, r.lat) for r in runners
                  if not r.on_duty or r.suspended]},
        {"name": "待接单", "type": "scatter", "symbol": "diamond", "symbolSize": 12,
         "data": [point(f"代办#{e.id}", e.pickup_lng, e.pickup_lat) for e in found.queue
                  if e.state == ErrandState.open.value]},
        {"name": "已派单", "type": "scatter", "symbol": "triangle", "symbolSize": 12,
         "data": [point(f"代办#{e.id}", e.pickup_lng, e.pickup_lat) for e in found.queue
                  if e.state == ErrandState.offered.value]},
    ]
    return {"tooltip": {"trigger": "item"},  # the default tooltip escapes names
            "legend": {"bottom": 0},
            "grid": {"left": 8, "right": 16, "top": 24, "bottom": 64, "containLabel": True},
            "xAxis": {"type": "value", "scale": True, "splitNumber": 4,
                      "axisLabel": {"formatter": "{value}°E"}},
            "yAxis": {"type": "value", "scale": True, "splitNumber": 4,
                      "axisLabel": {"formatter": "{value}°N"}},
            "series": series}
