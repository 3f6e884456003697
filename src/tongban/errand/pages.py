"""跑团代办 pages: the requester's phone page (no login) and tracking link, the runner's page
(duty, nearby pool with grab, own errands with the next step), the staff list."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId, utcnow
from tongban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.forms import FORM, uploaded
from tongban.core.listing import ListParams
from tongban.core.ratelimit import RateLimited
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import local_today
from tongban.errand import channels, evidence, items, partners, postal, runners, service
from tongban.errand.enums import ErrandAction, ErrandState, PartnerChannel, ZoneMode
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
        "authorisation": AUTHORISATION, "tiles": _tiles(), "centre": service.city_centre(db),
        "towns": service.towns(db),
        "signature_max": get_settings().errand_signature_max_bytes}, status_code=status_code)


@router.get("/errand/new", response_class=HTMLResponse)
def new_errand(request: Request, db: Session = REQUEST_DB) -> Response:
    return _new_page(db, request, {}, [])


def _float(value: str) -> float | None:
    """A coordinate from the form; None when left empty (the town and address instead)."""
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise DomainError("取件地点的纬度和经度应为数字；也可以不填，"
                          "改选所在乡镇（街道）并填写详细地址") from None


@router.post("/errand/new", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def submit_errand(request: Request, raw: FormData = FORM, db: Session = REQUEST_DB) -> Response:
    """A request from the phone page: rate-limited, then a tracking link shown once."""
    form = {key: str(raw.get(key, ""))[:500] for key in (
        "item_id", "contact_name", "phone", "lat", "lng", "address", "preferred_window", "note",
        "town")}
    signature = str(raw.get("signature", ""))[:20_000]
    try:
        item_id = int(form["item_id"]) if form["item_id"].isdigit() else 0
        submitted = evidence.submit_signed(
            db, client=_client(request), signature=signature, request=service.Request(
                item_id=item_id, contact_name=form["contact_name"], phone=form["phone"],
                lat=_float(form["lat"]), lng=_float(form["lng"]), address=form["address"],
                preferred_window=form["preferred_window"], note=form["note"],
                town=form["town"]))
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
    runner = errand.runner
    active = ErrandState(errand.state) in service.CALLABLE
    return render(request, "errand/track.html", {
        "errand": errand, "token": token, "state": ErrandState(errand.state),
        "holder": service.holder(errand), "steps": _steps(errand),
        "runner_name": f"{runner.name[:1]}师傅" if runner is not None and runner.name else "",
        "runner_phone": runner.user.phone if runner is not None and active else "",
        "hotline": get_settings().errand_hotline,
        "photos": {h.id: h.photo_ref[5:] for h in errand.handovers
                   if h.photo_ref.startswith("file:")},
        "can_withdraw": ErrandAction.withdraw in service.allowed_actions(
            db, actor=service.REQUESTER, errand=errand),
        "comment_max": get_settings().review_comment_max,
        "can_sign": evidence.may_sign(errand),
        "signature_max": get_settings().errand_signature_max_bytes,
        "can_rate": ErrandAction.rate in service.allowed_actions(
            db, actor=service.REQUESTER, errand=errand)})


@router.post("/errand/track", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def rate(request: Request, token: str = Form(""), rating: int = Form(0),
         comment: str = Form(""), db: Session = REQUEST_DB) -> Response:
    service.rate_tracked(db, token=token[:100], rating=rating, client=_client(request),
                         comment=comment[:2000])
    flash(request, "感谢您的评价")
    return see_other(service.track_path(token[:100]))


@router.post("/errand/track/withdraw", response_class=HTMLResponse,
             dependencies=[Depends(check_csrf)])
def withdraw(request: Request, token: str = Form(""), db: Session = REQUEST_DB) -> Response:
    """The requester calls the errand off before pickup, on the tracking page."""
    service.withdraw_tracked(db, token=token[:100], client=_client(request))
    flash(request, "已撤回您的代办申请")
    return see_other(service.track_path(token[:100]))


@router.get("/errand/track/{token}/photos/{file_id}")
def tracked_photo(token: str, file_id: RowId, db: Session = REQUEST_DB) -> Response:
    """A hand-over photo of the requester's own errand (the link is the key)."""
    found, path = evidence.tracked_photo(db, token=token[:100], file_id=file_id)
    return FileResponse(path, media_type=found.content_type,
                        headers={"Content-Disposition": "inline",
                                 "Cache-Control": "private, no-store"})


#: The steps the requester's page lists, with the time of each (None: not reached yet).
_STEPS = (ErrandState.submitted, ErrandState.accepted, ErrandState.picked_up,
          ErrandState.at_window, ErrandState.done, ErrandState.delivered, ErrandState.rated)


def _steps(errand: Errand) -> list[tuple[str, Any]]:
    ended = ErrandState(errand.state) in (ErrandState.cancelled, ErrandState.failed)
    steps = [(s.label, getattr(errand, f"{s.value}_at", None)) for s in _STEPS]
    if ended:
        steps = [step for step in steps if step[1] is not None]
        steps.append((ErrandState(errand.state).label,
                      getattr(errand, f"{errand.state}_at", None)))
    return steps


@router.post("/errand/track/sign", response_class=HTMLResponse,
             dependencies=[Depends(check_csrf)])
def sign(request: Request, token: str = Form(""), signature: str = Form(""),
         db: Session = REQUEST_DB) -> Response:
    """The requester signs the 委托书 on the tracking page."""
    evidence.sign_authorisation(db, token=token[:100], signature=signature,
                                client=_client(request))
    flash(request, "已签署委托书，跑手可以代为取件")
    return see_other(service.track_path(token[:100]))


@router.post("/errands/{errand_id}/handovers/{handover_id}/photo", response_class=HTMLResponse)
def handover_photo(request: Request, errand_id: RowId, handover_id: RowId,
                   file: UploadFile = File(...), db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> Response:
    """A photo of one hand-over, from the runner page (or staff)."""
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    content = file.file.read(get_settings().errand_photo_max_bytes + 1)
    try:
        evidence.add_photo(db, actor=actor, errand=errand, handover_id=handover_id,
                           content=content)
        flash(request, f"代办 #{errand_id}：交接照片已上传")
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other("/errands/runner" if service.runner_of(db, actor=actor) else "/errands")


@router.get("/errands/files/{file_id}")
def errand_file(file_id: RowId, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    """A hand-over photo or a 委托书, for the errand's runner and its zone's staff."""
    found, path = evidence.get_file(db, actor=actor, file_id=file_id)
    return FileResponse(path, media_type=found.content_type,
                        headers={"Content-Disposition": "inline",
                                 "Cache-Control": "private, no-store"})


@router.get("/errands", response_class=HTMLResponse)
def errand_list(request: Request, state: ErrandState | None = None,
                params: ListParams = Depends(service.ERRANDS.params), db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    page = service.list_errands(db, actor=actor, state=state, params=params)
    return render(request, "errand/list.html", {
        "page": page, "state": state, "states": list(ErrandState), "params": params,
        "allowed": {e.id: service.allowed_actions(db, actor=actor, errand=e) for e in page.items},
        "channels": partners.offered(), "partner": PartnerChannel,
        "hand_to_channel": ErrandAction.hand_to_channel,
        "is_runner": service.runner_of(db, actor=actor) is not None})


@router.post("/errands/{errand_id}/channel", response_class=HTMLResponse)
def hand_to_channel(request: Request, errand_id: RowId, channel: str = Form(""),
                    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """Staff hand an open errand to a third-party channel."""
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    chosen = channels.channel_of(channel[:16])
    channels.hand_to_channel(db, actor=actor, errand=errand, code=chosen.value)
    flash(request, f"代办 #{errand_id} 已转交{chosen.label}")
    return see_other("/errands")


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
        "phones": {e.id: service.contact_phone(db, actor=actor, errand=e) for e in active},
        "fail": ErrandAction.fail,
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
    # back to the same card (the runner's list is long on a phone)
    back = (f"/errands/runner#errand-{errand_id}" if service.runner_of(db, actor=actor)
            else "/errands")
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
    now = utcnow()
    waiting = [e for e in found.queue
               if not e.channel_code and e.submitted_at < service.waiting_since(now)]
    return render(request, "errand/console.html", {
        "console": found, "days": days, "windows": CONSOLE_WINDOWS, "map": _map(found),
        "modes": list(ZoneMode), "can_set_mode": actor.can_manage, "tiles": _tiles(),
        "channels": {c.value: c.label for c in PartnerChannel},
        "answer_minutes": get_settings().errand_answer_minutes, "now": now,
        "waiting": waiting,
        "candidates": {e.id: service.assignable_runners(db, actor=actor, errand=e)
                       for e in found.queue if not e.channel_code}})


@router.post("/errands/console/{errand_id}/assign", response_class=HTMLResponse)
def assign(request: Request, errand_id: RowId, runner: int = Form(0), reason: str = Form(""),
           db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """人工派单 / 改派 from the console's queue, with a reason."""
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    chosen = service.get_runner(db, actor=actor, runner_id=runner)
    try:
        service.assign(db, actor=actor, errand=errand, runner=chosen, reason=reason)
        flash(request, f"代办 #{errand_id} 已派给{chosen.name}，等待其接单")
    except (DomainError, service.NotEligible) as exc:
        flash(request, exc.message, "error")
    return see_other(f"/errands/console#queue-{errand_id}")


@router.post("/errands/console/{errand_id}/cancel", response_class=HTMLResponse)
def cancel_from_console(request: Request, errand_id: RowId, reason: str = Form(""),
                        db: Session = REQUEST_DB,
                        actor: Actor = Depends(require_actor)) -> Response:
    """取消 a waiting errand from the console, with a reason (the requester is told)."""
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    try:
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.cancel,
                           reason=reason)
        flash(request, f"代办 #{errand_id} 已取消")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other("/errands/console")


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


# ---------------------------------------------------------------- post offices


def _postal_context(db: Session, actor: Actor, params: ListParams, county: str = "",
                    status: str = "") -> dict[str, Any]:
    counties = postal.counties(db, actor=actor)
    chosen = next((c for c in counties if c.code == county), None)
    upgraded = {postal.UPGRADED: True, postal.NOT_UPGRADED: False}.get(status)
    found, targets = postal.coverage(db, actor=actor)
    return {
        "found": postal.list_post_offices(db, actor=actor, params=params, county=chosen,
                                          upgraded=upgraded),
        "params": params, "counties": counties, "county": chosen.code if chosen else "",
        "status": status if upgraded is not None else "", "statuses": (postal.UPGRADED,
                                                                        postal.NOT_UPGRADED),
        "coverage": found, "targets": targets, "can_import": postal.may_import(actor)}


@router.get("/errands/post-offices", response_class=HTMLResponse)
def post_offices(request: Request, county: str = "", status: str = "",
                 params: ListParams = Depends(postal.POST_OFFICES.params),
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """The post-office registry with its coverage against the targets, and the import form."""
    return render(request, "errand/post_offices.html",
                  _postal_context(db, actor, params, county[:20], status[:10]))


@router.post("/errands/post-offices/import", response_class=HTMLResponse)
def post_offices_import(request: Request, file: UploadFile = File(...),
                        db: Session = REQUEST_DB,
                        actor: Actor = Depends(require_actor)) -> Response:
    """Import the registry; a refused file's errors are shown on the page."""
    try:
        result = postal.import_post_offices(db, actor=actor, source=file.file,
                                            filename=file.filename or "上传文件")
    except PermissionDenied:
        raise
    except DomainError as exc:
        failure = ValidationFailed.of(exc)
        return render(request, "errand/post_offices.html",
                      {**_postal_context(db, actor, ListParams()), "failure": failure},
                      status_code=exc.status_code)
    flash(request, f"已导入邮政网点：新增 {result.added} 个，更新 {result.changed} 个，"
                   f"未变 {result.unchanged} 个")
    return see_other("/errands/post-offices")


# ---------------------------------------------------------------- runners


@router.get("/errands/runners", response_class=HTMLResponse)
def runners_page(request: Request, params: ListParams = Depends(service.RUNNERS.params),
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """The runners the actor may see, with their suspension and the manager's buttons."""
    found = service.list_runners(db, actor=actor, params=params)
    return render(request, "errand/runners.html", {
        "found": found, "params": params,
        "rows": [(r, runners.current(db, runner=r), runners.record_of(db, runner=r),
                  runners.may_manage(db, actor=actor, runner=r)) for r in found.items],
        "settings": get_settings()})


@router.post("/errands/runners/{runner_id}/{action}", response_class=HTMLResponse)
def manage_runner(request: Request, runner_id: RowId, action: str, reason: str = Form(""),
                  db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """Suspend or reinstate a runner (the team's manager), with a reason."""
    runner = service.get_runner(db, actor=actor, runner_id=runner_id)
    if action not in ("suspend", "reinstate"):
        raise NotFound("未找到该操作")
    try:
        if action == "suspend":
            runners.suspend(db, actor=actor, runner=runner, reason=reason[:1000])
            flash(request, f"已暂停跑手 {runner.name} 接单")
        else:
            runners.reinstate(db, actor=actor, runner=runner, reason=reason[:1000])
            flash(request, f"已恢复跑手 {runner.name} 接单")
    except PermissionDenied:
        raise
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other("/errands/runners")


# ---------------------------------------------------------------- item batches


def _items_context(db: Session, actor: Actor) -> dict[str, Any]:
    return {"batches": items.batches(db, actor=actor), "can_publish": items.may_publish(actor),
            "today": local_today()}


@router.get("/errands/items", response_class=HTMLResponse)
def item_batches(request: Request, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    """The errand items by batch, and (for managers) the forms that publish a batch."""
    return render(request, "errand/items.html", _items_context(db, actor))


@router.post("/errands/items/{item_id}/{action}", response_class=HTMLResponse)
def set_item_active(request: Request, item_id: RowId, action: str, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> Response:
    """停办 or 恢复 one item (managers)."""
    if action not in ("withdraw", "restore"):
        raise NotFound("未找到该操作")
    item = items.set_active(db, actor=actor, item_id=item_id, active=action == "restore")
    flash(request, f"「{item.name}」已{'恢复代办' if item.is_active else '停办'}")
    return see_other("/errands/items")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("请填写发布日期，如 2026-09-01") from None


@router.post("/errands/items/publish", response_class=HTMLResponse)
def publish_items(request: Request, form: FormData = FORM, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    """Publish a batch from an uploaded CSV/XLSX or from the one-item form."""
    upload = uploaded(form, "file")
    try:
        published_on = _date(str(form.get("published_on", "")))
        if upload is not None:
            done = items.publish_file(db, actor=actor, published_on=published_on,
                                      source=upload.file, filename=upload.filename or "")
        else:
            cells = {key: str(form.get(key, ""))[:500] for key in items.COLUMNS}
            done = items.publish_batch(db, actor=actor, published_on=published_on,
                                       rows=[(1, dict(cells))])
    except PermissionDenied:
        raise
    except DomainError as exc:
        failure = ValidationFailed.of(exc)
        return render(request, "errand/items.html",
                      {**_items_context(db, actor), "failure": failure},
                      status_code=exc.status_code)
    flash(request, f"第{done.batch}批：新增 {done.added} 项，更新 {done.changed} 项，"
                   f"未变 {done.unchanged} 项")
    return see_other("/errands/items")
