"""The lifecycle of an errand after it is taken: every step with its time, its custody
hand-over and its audit entry, on the one workflow helper (``core.workflow``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tongban.core import audit, notify, privacy
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    PermissionDenied,
)
from tongban.core.security import Actor, Outsider, Role
from tongban.core.workflow import Workflow
from tongban.errand import partners
from tongban.errand.enums import (
    HANDOVERS,
    TRANSITIONS,
    ErrandAction,
    ErrandState,
    Holder,
    OfferOutcome,
    PartnerChannel,
)
from tongban.errand.models import (
    Errand,
    ErrandFile,
    Handover,
    Offer,
    Runner,
)
from tongban.errand.service.common import (
    DISPATCHER,
    REQUESTER,
    NotEligible,
    _is_channel,
    clean_text,
    limit_client,
)
from tongban.errand.service.grab import _changed, _distance
from tongban.errand.service.reads import holder, tracked
from tongban.org import service as org_service
from tongban.reviews import service as reviews


def _is_staff(db: Session, actor: Actor | Outsider, errand: Errand) -> bool:
    return isinstance(actor, Actor) and actor.role in (Role.admin, Role.analyst, Role.liaison) \
        and org_service.can_see(db, actor=actor, org=errand.zone)


def _check(db: Session, actor: Actor | Outsider, errand: Errand, action: ErrandAction) -> None:
    """Raise the refusal of ``action`` on ``errand`` by ``actor``, if any: the one check behind
    :func:`transition` and :func:`allowed_actions` (a grab has its own race, ``grab``)."""
    if action is ErrandAction.grab:
        raise Conflict("抢单请用抢单按钮")
    ERRAND_FLOW.check(db, actor, errand, action)


def _may(db: Session, actor: Actor | Outsider, errand: Errand, action: ErrandAction,
         who: str) -> None:
    """Who takes a step its state allows: the requester rates, staff of the zone publish,
    offer, hand over and cancel (a channel cancels its own order), the errand's runner (or
    its channel) does the rest; pickup needs the 委托书, failing needs the documents back."""
    if who == "requester":
        if actor is not REQUESTER:
            raise PermissionDenied(f"只有申请人可以「{action.label}」")
        return
    if action is ErrandAction.publish and actor is REQUESTER:
        return  # a request from the public page is published at once
    if action is ErrandAction.cancel and _is_channel(actor, errand):
        return  # the channel cancelled its order
    if who == "staff":
        if not _is_staff(db, actor, errand):
            raise PermissionDenied(f"只有所在区域的工作人员可以「{action.label}」")
        if action is ErrandAction.hand_to_channel and not partners.configured():
            raise Conflict("未配置第三方跑腿渠道")
        return
    runner = errand.runner
    own = (isinstance(actor, Actor) and runner is not None and runner.user_id == actor.user_id) \
        or _is_channel(actor, errand)
    if not own:
        raise PermissionDenied(f"只有承接该代办的跑手可以「{action.label}」")
    if action is ErrandAction.pick_up and not errand.authorised:
        raise Conflict("申请人尚未授权（委托书），跑手不能取件")
    if action is ErrandAction.fail and holder(errand) is not Holder.requester:
        raise Conflict("办理失败前须先把材料交还申请人（登记交接）")


#: The errand's workflow (``errand.enums.TRANSITIONS`` but the grab) on the one helper.
ERRAND_FLOW: Workflow[ErrandAction, ErrandState] = Workflow(
    noun="代办", object_type="errand", audit_prefix="errand", state_type=ErrandState,
    table={a: t for a, t in TRANSITIONS.items() if a is not ErrandAction.grab}, may=_may)


def require_action(db: Session, *, actor: Actor | Outsider, errand: Errand,
                   action: ErrandAction) -> None:
    """Refuse ``action`` on ``errand`` by ``actor`` as :func:`transition` would, changing
    nothing (for work that must happen before the step, such as a channel's order)."""
    _check(db, actor, errand, action)


def allowed_actions(db: Session, *, actor: Actor | Outsider,
                    errand: Errand) -> frozenset[ErrandAction]:
    """The steps ``actor`` may take on ``errand`` now (pages show exactly these buttons)."""
    return ERRAND_FLOW.allowed(db, actor, errand)


@audit.action({f"errand.{a.value}": a.label for a in ErrandAction if a is not ErrandAction.grab})
def transition(db: Session, *, actor: Actor | Outsider, errand: Errand, action: ErrandAction,
               reason: str = "", photo_ref: str = "", rating: int | None = None,
               offer_to: Runner | None = None,
               channel_order: tuple[PartnerChannel, str] | None = None,
               comment: str = "") -> Errand:
    """Move an errand one step, with its time, its custody hand-over and its audit entry;
    an illegal step is refused and changes nothing.

    ``channel_order`` is the channel and the partner's order id of a hand-over to a channel
    (``channels.hand_to_channel`` places the order first); staff cancelling an errand a
    channel runs cancel the partner's order too."""
    _check(db, actor, errand, action)
    _, target, _ = TRANSITIONS[action]
    current = ErrandState(errand.state)
    reason = clean_text(reason, 500)
    photo = _own_photo(db, actor=actor, errand=errand, ref=photo_ref)
    if action in (ErrandAction.cancel, ErrandAction.fail) and not reason:
        raise DomainError(f"「{action.label}」须写明原因")
    if action is ErrandAction.rate and (rating is None or not 1 <= rating <= 5):
        raise DomainError("请选择 1 到 5 星的评价")
    comment = clean_text(comment, 10_000)
    if len(comment) > get_settings().review_comment_max:
        raise DomainError(f"评价内容请不超过 {get_settings().review_comment_max} 字")
    if action is ErrandAction.offer:
        if offer_to is None:
            raise DomainError("派单须指定跑手")
        errand.runner_id = offer_to.id
        errand.pickup_km = _distance(offer_to, errand)
        db.add(Offer(errand_id=errand.id, runner_id=offer_to.id, offered_at=utcnow(),
                     by_dispatcher=actor is DISPATCHER, distance_km=errand.pickup_km))
        db.flush()
        db.refresh(errand)
    elif current is ErrandState.offered:
        _close_offer(db, errand, {ErrandAction.accept: OfferOutcome.accepted,
                                  ErrandAction.decline: OfferOutcome.declined}.get(
                                      action, OfferOutcome.withdrawn))
    changes: dict[str, object] = {}
    if action is ErrandAction.hand_to_channel:
        if channel_order is None:
            raise DomainError("转交第三方须指定渠道和订单号")
        errand.channel_code, errand.channel_order_id = channel_order[0].value, channel_order[1]
        changes.update(channel=errand.channel_code, order=errand.channel_order_id)
    if action is ErrandAction.withdraw:
        reason = reason or "申请人在跟踪页撤回申请"
    if action in (ErrandAction.cancel, ErrandAction.withdraw) and errand.channel_code \
            and not _is_channel(actor, errand):
        partners.cancel_order(db, errand=errand, reason=reason)
    runner = errand.runner
    if action is ErrandAction.accept and runner is not None:
        errand.pickup_km = _distance(runner, errand)
        slot = _changed(db.execute(update(Runner).where(Runner.id == runner.id,
                                               Runner.active_count < Runner.capacity)
                          .values(active_count=Runner.active_count + 1)
                          .execution_options(synchronize_session=False)))
        if not slot:
            raise NotEligible(f"跑手已达到同时承接上限 {runner.capacity}")
    if current.holds_runner and not target.holds_runner and runner is not None:
        db.execute(update(Runner).where(Runner.id == runner.id, Runner.active_count > 0)
                   .values(active_count=Runner.active_count - 1)
                   .execution_options(synchronize_session=False))
    if action is ErrandAction.decline:
        errand.runner_id = None
        if errand.channel_code:  # the channel refused the order: back to the pool
            changes.update(channel=[errand.channel_code, None])
            errand.channel_code = errand.channel_order_id = None
    if action in HANDOVERS:
        giver, taker = HANDOVERS[action]
        _hand_over(errand, giver, taker, actor, photo)
    if action is ErrandAction.rate:
        errand.rating = rating
    if reason:
        errand.reason = reason
    setattr(errand, f"{target.value}_at", utcnow())
    ERRAND_FLOW.step(db, actor, errand, action, reason=reason, changes=changes)
    if runner is not None:
        db.refresh(runner)
    if action is ErrandAction.rate:
        to_review(db, errand=errand, comment=comment)
    return errand


def to_review(db: Session, *, errand: Errand, comment: str = "") -> int:
    """The rated errand's 好差评 review (channel 跑团) through the reviews service: its zone,
    item code, number, rating and the requester's comment; a 差评 opens its case.
    Idempotent; the review's id."""
    if errand.rating is None or errand.rated_at is None:
        raise Conflict(f"代办 #{errand.id} 尚未评价")
    phone = privacy.reveal(errand.phone_cipher) if errand.phone_cipher else ""
    return reviews.record_errand_rating(
        db, errand_id=errand.id, org=errand.zone, level=errand.rating, rated_at=errand.rated_at,
        item_code=errand.item.item_code, case_no=errand_case_no(errand), phone=phone,
        comment=comment).id


def errand_case_no(errand: Errand) -> str:
    """How the errand's review names it (its 办件编号): the errand and who ran it, so that a
    差评 case says which errand and which runner it is about."""
    runner = errand.runner.name if errand.runner is not None else (
        PartnerChannel(errand.channel_code).label if errand.channel_code else "")
    return f"代办#{errand.id}" + (f"（跑手{runner}）" if runner else "")


def _name_of(errand: Errand, kind: Holder) -> str:
    if kind is Holder.runner and errand.channel_code:
        return PartnerChannel(errand.channel_code).label
    if kind is Holder.runner:
        return errand.runner.name if errand.runner else ""
    if kind is Holder.window:
        return f"{errand.item.hall}{errand.item.window}"
    return errand.contact_name


def _own_photo(db: Session, *, actor: Actor | Outsider, errand: Errand,
               ref: str) -> ErrandFile | None:
    """The photo a hand-over names (``file:<id>``): one uploaded for this errand by this very
    actor and not yet on another hand-over; refused otherwise (no pointing an errand at
    another errand's photo, nor a link at anything but a file)."""
    ref = ref.strip()
    if not ref:
        return None
    number = ref.removeprefix("file:")
    found = db.get(ErrandFile, int(number)) if ref.startswith("file:") and number.isdigit() \
        and len(number) <= 18 else None
    if found is None or found.errand_id != errand.id or found.kind != "photo" \
            or found.uploaded_by != actor.username or found.handover_id is not None:
        raise DomainError("照片引用无效：只能引用本代办中由您本人上传、尚未用于其他交接的照片"
                          "（file:编号）")
    return found


def _hand_over(errand: Errand, giver: Holder, taker: Holder, actor: Actor | Outsider,
               photo: ErrandFile | None) -> None:
    handover = Handover(
        from_kind=giver.value, from_name=_name_of(errand, giver), to_kind=taker.value,
        to_name=_name_of(errand, taker), at=utcnow(),
        photo_ref=f"file:{photo.id}" if photo else "", recorded_by=actor.username)
    errand.handovers.append(handover)
    if photo is not None:
        photo.handover = handover


@audit.action({"errand.documents_returned": "材料交还申请人"})
def return_documents(db: Session, *, actor: Actor | Outsider, errand: Errand,
                     photo_ref: str = "") -> Errand:
    """The runner (or the channel running the errand) hands the requester's documents back
    (before a failed errand closes)."""
    runner = errand.runner
    if not _is_channel(actor, errand) and (runner is None or runner.user_id != actor.user_id):
        raise PermissionDenied("只有承接该代办的跑手可以交还材料")
    held = holder(errand)
    if held is Holder.requester:
        raise Conflict("材料已在申请人手中")
    _hand_over(errand, held, Holder.requester, actor,
               _own_photo(db, actor=actor, errand=errand, ref=photo_ref))
    db.flush()
    audit.record(db, actor=actor, action="errand.documents_returned", object_type="errand",
                 object_id=errand.id, changes={"holder": [held.value, "requester"]})
    return errand


def rate_tracked(db: Session, *, token: str, rating: int, client: str = "",
                 comment: str = "") -> Errand:
    """The requester rates a delivered errand through the tracking link, with an optional
    comment that becomes the review's (rate-limited per client address like the request
    page)."""
    limit_client(db, client)
    return transition(db, actor=REQUESTER, errand=tracked(db, token=token),
                      action=ErrandAction.rate, rating=rating, comment=comment)


def withdraw_tracked(db: Session, *, token: str, client: str = "") -> Errand:
    """The requester calls the errand off through the tracking link, before pickup (its
    runner, if any, is told; rate-limited per client address)."""
    limit_client(db, client)
    errand = tracked(db, token=token)
    runner = errand.runner
    done = transition(db, actor=REQUESTER, errand=errand, action=ErrandAction.withdraw)
    if runner is not None:
        notify.notify(db, recipients=org_service.recipients([runner.user]),
                      key=f"errand:{errand.id}:withdrawn", message=notify.Message(
                          "reminder", f"代办 #{errand.id} 已被申请人撤回",
                          f"「{errand.item.name}」申请人已撤回，无需再取件。",
                          "/errands/runner"))
    return done


def _close_offer(db: Session, errand: Errand, outcome: OfferOutcome) -> None:
    """End the errand's pending offer with ``outcome``."""
    db.execute(update(Offer).where(Offer.errand_id == errand.id,
                                   Offer.outcome == OfferOutcome.pending.value)
               .values(outcome=outcome.value, closed_at=utcnow())
               .execution_options(synchronize_session=False))


@audit.action({"errand.offer_expired": "派单超时退回"})
def expire_offers(db: Session, *, actor: Actor, zone_org_id: int | None = None) -> int:
    """Offers not accepted within ``errand_offer_seconds`` go back to the open pool (by every
    dispatcher cycle for its zone, and by ``jobs run`` for all). Idempotent."""
    now = utcnow()
    cutoff = now - timedelta(seconds=get_settings().errand_offer_seconds)
    stmt = select(Errand).where(Errand.state == ErrandState.offered.value,
                                Errand.channel_code.is_(None), Errand.offered_at < cutoff)
    if zone_org_id is not None:
        stmt = stmt.where(Errand.zone_org_id == zone_org_id)
    stale = list(db.scalars(stmt))
    _back_to_pool(db, actor=actor, errands=stale, outcome=OfferOutcome.expired,
                  action="errand.offer_expired")
    return len(stale)


@audit.action({"errand.offer_released": "跑手下岗，派单退回"})
def release_offers(db: Session, *, actor: Actor, runner: Runner) -> int:
    """A runner going off duty declines the offers waiting on it: back to the open pool."""
    waiting = list(db.scalars(select(Errand).where(
        Errand.state == ErrandState.offered.value, Errand.runner_id == runner.id,
        Errand.channel_code.is_(None))))
    _back_to_pool(db, actor=actor, errands=waiting, outcome=OfferOutcome.declined,
                  action="errand.offer_released")
    return len(waiting)


def _back_to_pool(db: Session, *, actor: Actor, errands: list[Errand], outcome: OfferOutcome,
                  action: str) -> None:
    now = utcnow()
    for errand in errands:
        runner = errand.runner_id
        _close_offer(db, errand, outcome)
        errand.state, errand.runner_id, errand.open_at = ErrandState.open.value, None, now
        db.flush()
        audit.record(db, actor=actor, action=action, object_type="errand",
                     object_id=errand.id, changes={"state": ["offered", "open"], "runner": runner})



@audit.action({"errand_runner.on_duty": "跑手上岗", "errand_runner.off_duty": "跑手下岗"})
def set_duty(db: Session, *, actor: Actor, runner: Runner, on_duty: bool) -> Runner:
    """A runner goes on or off duty (the runner, or a manager); off duty, the offers waiting
    on it go back to the pool."""
    if runner.user_id != actor.user_id and not actor.can_manage:
        raise PermissionDenied("只能切换自己的在岗状态")
    if runner.on_duty == on_duty:
        return runner
    runner.on_duty = on_duty
    db.flush()
    audit.record(db, actor=actor, action=f"errand_runner.{'on' if on_duty else 'off'}_duty",
                 object_type="errand_runner", object_id=runner.id,
                 changes={"on_duty": [not on_duty, on_duty]})
    if not on_duty:  # an offer must not stay live on a runner who left
        release_offers(db, actor=actor, runner=runner)
    return runner


def assignable(runner: Runner, errand: Errand) -> str:
    """Why staff may not hand ``errand`` to ``runner`` by hand ("" when they may): unlike a
    grab, distance is the dispatcher's call (it may phone a runner farther away)."""
    if runner.suspended:
        return "跑手已被暂停接单"
    if not runner.on_duty:
        return "跑手未在岗"
    if runner.active_count >= runner.capacity:
        return f"跑手已承接 {runner.active_count} 件，达到上限 {runner.capacity}"
    need = errand.item.qualification
    if need and need not in runner.qualification_set:
        return f"跑手不具备「{need}」资质"
    return ""


@audit.action({"errand.offer_withdrawn": "撤回派单（改派）"})
def assign(db: Session, *, actor: Actor, errand: Errand, runner: Runner, reason: str) -> Errand:
    """派单 by hand from the console, with a reason: an open errand is offered to ``runner``;
    an errand offered to another runner is withdrawn from it first (改派). The runner still
    accepts on its page, within the offer time."""
    reason = clean_text(reason, 500)
    if not reason:
        raise DomainError("人工派单须写明原因")
    state = ErrandState(errand.state)
    if errand.channel_code:
        raise DomainError("该代办已转交第三方跑腿，不能改派")
    if state is ErrandState.offered and errand.runner_id == runner.id:
        raise DomainError(f"代办 #{errand.id} 已派给{runner.name}，等待其接单")
    if state not in (ErrandState.open, ErrandState.offered):
        raise Conflict(f"代办当前为「{state.label}」，不能派单")
    why = assignable(runner, errand)
    if why:
        raise NotEligible(why)
    # staff of the errand's zone only: the check of 派单 (of 取消 for an offered errand: the
    # same staff may take it from 已派单)
    require_action(db, actor=actor, errand=errand, action=ErrandAction.offer
                   if state is ErrandState.open else ErrandAction.cancel)
    if state is ErrandState.offered:
        _back_to_pool(db, actor=actor, errands=[errand], outcome=OfferOutcome.withdrawn,
                      action="errand.offer_withdrawn")
    return transition(db, actor=actor, errand=errand, action=ErrandAction.offer,
                      offer_to=runner, reason=reason)


def assignable_runners(db: Session, *, actor: Actor, errand: Errand,
                       limit: int = 12) -> list[tuple[Runner, float | None]]:
    """The runners staff may hand ``errand`` to, nearest first (position unknown last)."""
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能查看其他跑手")
    found = []
    for runner in db.scalars(select(Runner).where(Runner.on_duty, ~Runner.suspended)):
        if assignable(runner, errand) or not org_service.can_see(db, actor=actor,
                                                                 org=runner.team):
            continue
        km = (None if runner.lat is None or runner.lng is None
              else _distance(runner, errand))
        found.append((runner, km))
    found.sort(key=lambda pair: (pair[1] is None, pair[1] or 0.0, pair[0].id))
    return found[:limit]


def waiting_since(now: datetime) -> datetime:
    """An errand submitted before this and still not taken waits too long
    (``errand_answer_minutes``): the console flags it and its zone is told."""
    return now - timedelta(minutes=get_settings().errand_answer_minutes)


def alert_waiting(db: Session, *, zone_org_id: int | None = None,
                  now: datetime | None = None) -> int:
    """Tell the zone's liaisons, once per errand, of each errand nobody took within
    ``errand_answer_minutes`` (the console lists them too); how many were told of."""
    now = now or utcnow()
    cutoff = waiting_since(now)
    stmt = select(Errand).where(Errand.state.in_([ErrandState.open.value,
                                                   ErrandState.offered.value]),
                                Errand.channel_code.is_(None), Errand.submitted_at < cutoff)
    if zone_org_id is not None:
        stmt = stmt.where(Errand.zone_org_id == zone_org_id)
    told = 0
    for errand in db.scalars(stmt.order_by(Errand.id)):
        people = org_service.people_of(db, org=errand.zone, roles={Role.liaison})
        minutes = int((now - errand.submitted_at).total_seconds() // 60)
        message = notify.Message(
            "escalation", f"代办 #{errand.id} 已等待 {minutes} 分钟无人接单",
            f"{errand.zone.name}「{errand.item.name}」提交后 {minutes} 分钟仍无跑手接单，"
            "请在派单调度台人工派单或联系申请人。", "/errands/console")
        if notify.notify(db, recipients=org_service.recipients(people), message=message,
                         key=f"errand:{errand.id}:waiting"):
            told += 1
    return told
