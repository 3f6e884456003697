"""States, actions and custody holders of errands, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class ErrandState(Choice):
    submitted = "submitted", "已提交"
    open = "open", "待接单"
    offered = "offered", "已派单"
    accepted = "accepted", "已接单"
    picked_up = "picked_up", "已取件"
    at_window = "at_window", "窗口办理中"
    done = "done", "已办结"
    delivered = "delivered", "已送达"
    rated = "rated", "已评价"
    cancelled = "cancelled", "已取消"
    failed = "failed", "办理失败"

    @property
    def is_open(self) -> bool:
        return self not in (ErrandState.rated, ErrandState.cancelled, ErrandState.failed)

    @property
    def sla_running(self) -> bool:
        """A state in which the errand is still being worked on (its SLA timer runs)."""
        return self in (ErrandState.submitted, ErrandState.open, ErrandState.offered,
                        ErrandState.accepted, ErrandState.picked_up, ErrandState.at_window)

    @property
    def holds_runner(self) -> bool:
        """A state in which the errand takes one of its runner's capacity slots."""
        return self in (ErrandState.accepted, ErrandState.picked_up, ErrandState.at_window,
                        ErrandState.done)


class ErrandAction(Choice):
    publish = "publish", "发布"
    offer = "offer", "派单"
    decline = "decline", "拒绝派单"
    accept = "accept", "接受派单"
    grab = "grab", "抢单"
    pick_up = "pick_up", "取件"
    at_window = "at_window", "到窗口办理"
    finish = "finish", "办结"
    deliver = "deliver", "送达"
    rate = "rate", "评价"
    cancel = "cancel", "取消"
    fail = "fail", "办理失败"
    hand_to_channel = "hand_to_channel", "转交第三方跑腿"
    withdraw = "withdraw", "申请人撤回"


class ZoneMode(Choice):
    """How a zone's errands find runners."""

    dispatch = "dispatch", "智能派单"
    grab = "grab", "自助抢单"
    both = "both", "派单与抢单"


class OfferOutcome(Choice):
    """How an offer (派单) ended."""

    pending = "pending", "待接单"
    accepted = "accepted", "已接受"
    declined = "declined", "已拒绝"
    expired = "expired", "超时未接"
    withdrawn = "withdrawn", "已撤回"


class Holder(Choice):
    """Who holds a requester's documents in a custody hand-over."""

    requester = "requester", "申请人"
    runner = "runner", "跑手"
    window = "window", "窗口"


class Channel(Choice):
    """Where a request came from."""

    page = "page", "手机页面"
    staff = "staff", "工作人员代录"
    api = "api", "第三方接口"


class PartnerChannel(Choice):
    """A third-party 跑腿 channel an errand may be handed to (``channels.py``)."""

    meituan = "meituan", "美团跑腿"
    eleme = "eleme", "饿了么跑腿"
    postal = "postal", "邮政跑腿"
    simulated = "simulated", "模拟渠道"


class CallbackStatus(Choice):
    """A status a channel reports in its callback; each drives one lifecycle step."""

    accepted = "accepted", "已接单"
    rejected = "rejected", "拒单"
    picked_up = "picked_up", "已取件"
    at_window = "at_window", "窗口办理中"
    done = "done", "已办结"
    delivered = "delivered", "已送达"
    returned = "returned", "材料已交还"
    failed = "failed", "办理失败"
    cancelled = "cancelled", "已取消"


#: action → (states it may be taken from, state it leads to, who takes it: the errand's
#: runner, staff of its zone, the requester through the tracking link, or the system)
TRANSITIONS: dict[ErrandAction, tuple[frozenset[ErrandState], ErrandState, str]] = {
    ErrandAction.publish: (frozenset({ErrandState.submitted}), ErrandState.open, "staff"),
    ErrandAction.offer: (frozenset({ErrandState.open}), ErrandState.offered, "staff"),
    ErrandAction.decline: (frozenset({ErrandState.offered}), ErrandState.open, "runner"),
    ErrandAction.accept: (frozenset({ErrandState.offered}), ErrandState.accepted, "runner"),
    ErrandAction.grab: (frozenset({ErrandState.open}), ErrandState.accepted, "runner"),
    ErrandAction.pick_up: (frozenset({ErrandState.accepted}), ErrandState.picked_up, "runner"),
    ErrandAction.at_window: (frozenset({ErrandState.picked_up}), ErrandState.at_window,
                             "runner"),
    ErrandAction.finish: (frozenset({ErrandState.at_window}), ErrandState.done, "runner"),
    ErrandAction.deliver: (frozenset({ErrandState.done}), ErrandState.delivered, "runner"),
    ErrandAction.rate: (frozenset({ErrandState.delivered}), ErrandState.rated, "requester"),
    ErrandAction.cancel: (frozenset({ErrandState.submitted, ErrandState.open,
                                     ErrandState.offered, ErrandState.accepted}),
                          ErrandState.cancelled, "staff"),
    ErrandAction.fail: (frozenset({ErrandState.accepted, ErrandState.picked_up,
                                   ErrandState.at_window}), ErrandState.failed, "runner"),
    ErrandAction.hand_to_channel: (frozenset({ErrandState.open}), ErrandState.offered, "staff"),
    # the requester may call it off on the tracking page until the documents are picked up
    ErrandAction.withdraw: (frozenset({ErrandState.submitted, ErrandState.open,
                                       ErrandState.offered, ErrandState.accepted}),
                            ErrandState.cancelled, "requester"),
}

#: The custody hand-over a step records: (from, to).
HANDOVERS: dict[ErrandAction, tuple[Holder, Holder]] = {
    ErrandAction.pick_up: (Holder.requester, Holder.runner),
    ErrandAction.at_window: (Holder.runner, Holder.window),
    ErrandAction.finish: (Holder.window, Holder.runner),
    ErrandAction.deliver: (Holder.runner, Holder.requester),
}

#: The time column of each state on ``Errand``.
STATE_TIMES: dict[ErrandState, str] = {s: f"{s.value}_at" for s in ErrandState}

#: The lifecycle step each channel status drives (``returned``: the documents go back to
#: the requester, a custody hand-over without a step).
CALLBACK_STEPS: dict[CallbackStatus, ErrandAction | None] = {
    CallbackStatus.accepted: ErrandAction.accept,
    CallbackStatus.rejected: ErrandAction.decline,
    CallbackStatus.picked_up: ErrandAction.pick_up,
    CallbackStatus.at_window: ErrandAction.at_window,
    CallbackStatus.done: ErrandAction.finish,
    CallbackStatus.delivered: ErrandAction.deliver,
    CallbackStatus.returned: None,
    CallbackStatus.failed: ErrandAction.fail,
    CallbackStatus.cancelled: ErrandAction.cancel,
}
