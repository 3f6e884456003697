"""好差评 pages: the public rating page, the liaison's case inbox, case pages, the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.catalog import service as catalog
from tongban.core import audit, notify, privacy
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.export import Field, xlsx_response
from tongban.core.forms import FORM
from tongban.core.listing import ListParams
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.access import check_csrf, require_actor
from tongban.org.models import Org
from tongban.reviews import service
from tongban.reviews.enums import (
    CaseAction,
    CaseState,
    Channel,
    HeldDecision,
    Level,
)
from tongban.reviews.models import NegativeCase
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind
from tongban.supervision.pages import supervision_pages

router = APIRouter(include_in_schema=False)


@router.get("/rate", response_class=HTMLResponse)
def rate_form(request: Request, org: str = "", item: str = "", case: str = "",
              channel: str = "window", db: Session = REQUEST_DB) -> Response:
    return _rate_page(db, request, {"org_ref": org, "item": item, "case": case,
                                    "channel": channel})


def _rate_page(db: Session, request: Request, form: dict[str, Any],
               status_code: int = 200) -> Response:
    settings = get_settings()
    channel = form["channel"] if form["channel"] in Channel.__members__ else Channel.window.value
    return render(request, "reviews/rate.html", {
        "level": "", "chosen_tags": [], "comment": "", "phone": "", **form,
        "org": _org_or_none(db, form["org_ref"]), "channel": channel,
        "levels": list(reversed(Level)), "tags": settings.review_tag_list,
        "units": service.rating_orgs(db),
        "sms": notify.sms_ready(), "code_minutes": settings.review_phone_code_minutes,
        "callback_workdays": settings.review_callback_workdays,
        "rectify_workdays": settings.review_rectify_workdays}, status_code=status_code)


def _org_or_none(db: Session, ref: str) -> Org | None:
    try:
        return org_service.resolve_org(db, ref=ref) if ref else None
    except DomainError:
        return None


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _rating_of(form: Any) -> dict[str, Any]:
    """What the rater filled in, as the page gives it back on an error (not the SMS code)."""
    return {"org_ref": str(form.get("org", "")), "item": str(form.get("item", "")),
            "case": str(form.get("case", "")), "channel": str(form.get("channel", "")),
            "level": str(form.get("level", "")),
            "chosen_tags": [str(t) for t in form.getlist("tags")],
            "comment": str(form.get("comment", "")), "phone": str(form.get("phone", ""))}


@router.post("/rate", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def rate_submit(request: Request, form: FormData = FORM, db: Session = REQUEST_DB) -> Response:
    kept = _rating_of(form)
    values: dict[str, Any] = {
        "channel": kept["channel"], "org": kept["org_ref"], "item_code": kept["item"],
        "case_no": kept["case"], "level": kept["level"], "tags": "；".join(kept["chosen_tags"]),
        "comment": kept["comment"], "phone": kept["phone"],
        "named": "是" if kept["phone"].strip() else "否",
        "rated_at": datetime.now().astimezone(),
    }
    try:
        result = service.submit_review(db, values=values, client=_client(request),
                                       phone_code=str(form.get("phone_code", "")))
    except ValidationFailed as exc:
        return _rate_page(db, request, {**kept, "errors": [e.reason for e in exc.errors]},
                          status_code=422)
    path = service.track_path(result.tracking_token)
    return render(request, "reviews/thanks.html", {
        "opened": result.cases_opened, "track_path": path,
        "track_url": str(request.base_url).rstrip("/") + path,
        "named": bool(kept["phone"].strip()), "sms": notify.sms_ready(),
        "callback_workdays": get_settings().review_callback_workdays,
        "rectify_workdays": get_settings().review_rectify_workdays})


@router.post("/rate/code", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def rate_phone_code(request: Request, form: FormData = FORM,
                    db: Session = REQUEST_DB) -> Response:
    """Text a code to the phone on the rating form, and give the form back as it was."""
    kept = _rating_of(form)
    try:
        masked = service.send_phone_code(db, phone=kept["phone"], client=_client(request))
    except DomainError as exc:
        reasons = ([e.reason for e in exc.errors] if isinstance(exc, ValidationFailed)
                   else [exc.message])
        return _rate_page(db, request, {**kept, "errors": reasons},
                          status_code=exc.status_code)
    return _rate_page(db, request, {**kept, "code_sent": masked})


@router.get("/track/{token}", response_class=HTMLResponse)
def track_page(request: Request, token: str, db: Session = REQUEST_DB) -> Response:
    """What became of a rating, for its rater (public: the link is the key)."""
    return render(request, "reviews/track.html", {
        "t": service.tracking_of(db, token=token[:100]), "token": token, "states": CaseState})


@router.post("/track", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def track_answer(request: Request, token: str = Form(""), answer: str = Form(""),
                 db: Session = REQUEST_DB) -> Response:
    """The rater's 满意/不满意 with the unit's reply."""
    if answer not in ("satisfied", "unsatisfied"):
        raise DomainError("请选择满意或不满意")
    try:
        service.answer_as_rater(db, token=token[:100], satisfied=answer == "satisfied",
                                client=_client(request))
    except Conflict as exc:
        flash(request, exc.message, "error")
        return see_other(service.track_path(token[:100]))
    flash(request, "感谢您的答复，已记录")
    return see_other(service.track_path(token[:100]))


@router.get("/reviews/codes", response_class=HTMLResponse)
def rating_codes(request: Request, org: str = "", item: str = "", case: str = "",
                 channel: str = Channel.window.value, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    """Make the rating link and QR code of a hall, window, item or case, to print or send."""
    context: dict[str, Any] = {"org_ref": org, "item": item, "case": case, "channel": channel,
                               "channels": service.LINK_CHANNELS,
                               "callback_workdays": get_settings().review_callback_workdays}
    if org or actor.org_id is not None:
        try:
            code = _rating_code(db, actor, org, item, case, channel)
            context.update(code=code, org_ref=code.org.name)
        except PermissionDenied:
            raise
        except DomainError as exc:
            context["error"] = exc.message
    return render(request, "reviews/codes.html", context,
                  status_code=422 if "error" in context else 200)


@router.get("/reviews/codes/qr.{kind}")
def rating_code_file(kind: str, org: str = "", item: str = "", case: str = "",
                     channel: str = Channel.window.value, db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> Response:
    """The QR code as a file: SVG for print shops, PNG for documents and messages."""
    if kind not in ("svg", "png"):
        raise NotFound("只提供 SVG 和 PNG 格式的评价码")
    code = _rating_code(db, actor, org, item, case, channel)
    name = "-".join(part for part in ("好差评评价码", code.org.code, code.item_code, code.case_no)
                    if part)
    body, media = ((code.svg().encode(), "image/svg+xml") if kind == "svg"
                   else (code.png(), "image/png"))
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{kind}"})


def _rating_code(db: Session, actor: Actor, org: str, item: str, case: str,
                 channel: str) -> service.RatingCode:
    target = org_service.resolve_org(db, ref=org, actor=actor) if org \
        else org_service.own_org(db, actor)
    if target is None:
        raise DomainError("请填写评价对象（单位名称或代码）")
    if channel not in Channel.__members__:
        raise DomainError(f"未知渠道「{channel}」")
    return service.rating_code(db, actor=actor, org=target, item_code=item, case_no=case,
                               channel=Channel(channel))


def case_fields(items: dict[str, str]) -> list[Field[NegativeCase]]:
    """The case inbox as exported: what the page shows, in full, every name spelt out
    (``items``: the catalog's names of the cases' item codes; an unknown code stands as is)."""
    return [
        Field("工单号", lambda c: c.id),
        Field("单位", lambda c: c.org.name),
        Field("评价", lambda c: Level(c.review.level).label),
        Field("渠道", lambda c: Channel(c.review.channel).label),
        Field("办件编号", lambda c: c.review.case_no),
        Field("事项", lambda c: items.get(c.review.item_code, c.review.item_code)),
        Field("事项编码", lambda c: c.review.item_code),
        Field("评价内容", lambda c: c.review.comment),
        Field("电话", lambda c: c.review.phone_masked),
        Field("状态", lambda c: CaseState(c.state).label),
        Field("收到日期", lambda c: c.received_on),
        Field("回访期限", lambda c: c.callback_due),
        Field("整改期限", lambda c: c.rectify_due),
        Field("是否逾期", lambda c: service.is_overdue(c, as_of=local_today())),
    ]


@router.get("/reviews", response_class=HTMLResponse)
def case_inbox(request: Request, state: str = "", org: str = "", period: str = "",
               item: str = "", overdue: bool = False, format: str = "",
               params: ListParams = Depends(service.CASES.params),
               db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    wanted = CaseState(state) if state in CaseState.__members__ else None
    target = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    today = local_today()
    found = service.list_cases(db, actor=actor, org=target, state=wanted, as_of=today,
                               period=period or None, item_code=item or None,
                               overdue_only=overdue,
                               params=params.for_export() if format == "xlsx" else params)
    items = catalog.item_names(db, codes=[c.review.item_code for c in found.items]
                               + ([item] if item else []))
    if format == "xlsx":
        return xlsx_response(found.items, case_fields(items), title="差评工单")
    return render(request, "reviews/cases.html", {**_bulk(actor, "/reviews/supervision"),
        "found": found, "items": items, "params": params, "today": today, "service": service,
        "states": CaseState, "overdue": overdue,
        "state": state, "mask": privacy.mask_text, "org": target, "period": period, "item": item,
        "callback_workdays": get_settings().review_callback_workdays,
        "rectify_workdays": get_settings().review_rectify_workdays})


@router.get("/reviews/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: RowId, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> Response:
    found = service.get_case(db, actor=actor, case_id=case_id)
    state = CaseState(found.state)
    allowed = service.allowed_actions(db, actor=actor, case_=found)
    actions = [a for a in CaseAction if a in allowed]
    return render(request, "reviews/case.html", {
        "case": found, "state": state, "actions": actions, "today": local_today(),
        "service": service, "phone": service.phone_for(db, actor=actor, case_=found),
        "comment": privacy.mask_text(found.review.comment),
        "templates": service.reply_templates(found), "level": Level(found.review.level),
        "items": catalog.item_names(db, codes=[found.review.item_code]),
        "channel": Channel(found.review.channel).label, **_record(db, actor, found)})


def _bulk(actor: Actor, path: str) -> dict[str, Any]:
    """The bulk actions of the inbox: 催办 the ticked cases, for those who may."""
    may = SupervisionKind.urge in supervision.allowed_kinds(actor)
    return {"bulk": [("urge", "催办选中的")] if may else [], "bulk_path": path}


def _record(db: Session, actor: Actor, found: NegativeCase) -> dict[str, Any]:
    """The case's history with people's names, and its 督办."""
    history = audit.history(db, object_type="negative_case", object_id=found.id)
    return {"history": history,
            "people": org_service.display_names(db, usernames=[e.actor for e in history]),
            "notes": supervision.notes_of(db, object_type="negative_case", object_id=found.id,
                                          params=ListParams(page_size=100)).items,
            "supervision_kinds": service.supervision_kinds(actor=actor, case_=found)}


#: 督办 from a case's page and from the inbox's ticked rows.
supervision_forms = supervision_pages(
    item_path="/reviews/cases", bulk_path="/reviews/supervision", list_path="/reviews",
    targets=lambda db, actor, ids: service.supervision_targets(db, actor=actor, case_ids=ids))


@router.post("/reviews/cases/{case_id}/actions/{action}")
def case_action(request: Request, case_id: RowId, action: CaseAction, note: str = Form(""),
                db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    found = service.get_case(db, actor=actor, case_id=case_id)
    try:
        service.act(db, actor=actor, case_=found, action=action, note=note)
        flash(request, f"已{action.label}")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(f"/reviews/cases/{case_id}")


@router.get("/reviews/held", response_class=HTMLResponse)
def held_page(request: Request, params: ListParams = Depends(service.HELD_REVIEWS.params),
              db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "reviews/held.html", {
        "found": service.held_reviews(db, actor=actor, params=params), "params": params,
        "minutes": get_settings().review_repeat_minutes, "levels": Level,
        "decisions": HeldDecision})


@router.post("/reviews/held/{review_id}/{decision}")
def held_decide(request: Request, review_id: RowId, decision: HeldDecision,
                db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    service.resolve_held_review(db, actor=actor, review_id=review_id,
                                count=decision is HeldDecision.count_in)
    flash(request, f"已{decision.label}")
    return see_other("/reviews/held")


@router.get("/reviews/dept-codes")
def dept_codes_page() -> Response:
    """The deptCodes are aliases in the register of departments now: its page lists them."""
    return see_other("/org/aliases?kind=code&state=all")


@router.get("/reviews/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> Response:
    data = service.dashboard(db, actor=actor)
    months = sorted({p for p, _, _ in data["per_month"]})
    counts: dict[tuple[str, int], int] = {(p, lv): n for p, lv, n in data["per_month"]}
    levels_chart = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 12, "top": 30, "bottom": 28},
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"},
        "series": [{"name": Level(lv).label, "type": "bar", "stack": "l",
                    "data": [counts.get((m, lv), 0) for m in months],
                    "itemStyle": {"color": Level(lv).colour}} for lv in range(1, 6)],
    }
    names = sorted({r.name for r in data["rates"]})
    codes = {r.name: r.code for r in data["rates"]}
    rate = {(r.name, r.period): r.percent for r in data["rates"]}
    heat = {
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 8, "top": 8, "bottom": 60, "containLabel": True},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "category", "data": names},
        "visualMap": {"min": 0, "max": max(rate.values(), default=1) or 1, "calculable": True,
                      "orient": "horizontal", "left": "center", "bottom": 0,
                      "inRange": {"color": ["#eaf6ef", "#f7dc6f", "#c0392b"]}},
        "series": [{"type": "heatmap", "name": "差评率(%)", "label": {"show": True},
                    "cursor": "pointer",
                    "data": [{"value": [months.index(p), names.index(n), v],
                              "url": f"/reviews?org={codes[n]}&period={p}"}
                             for (n, p), v in rate.items()]}],
    }
    today = local_today()
    return render(request, "reviews/dashboard.html", {
        "held": service.held_count(db, actor=actor),
        "levels_chart": levels_chart, "heat": heat,
        "tags": data["tags"], "worst": data["worst"], "thin": data["thin"],
        "least": data["least"],
        "items": data["items"],
        "item_names": catalog.item_names(db, codes=[code for code, _, _ in data["items"]]),
        "codes": codes, "defaults": data["defaults"],
        "default_days": get_settings().review_default_rating_days,
        "chart_height": max(320, 26 * len(names) + 90),
        "as_of_label": f"截至{today.month}月{today.day}日："})
