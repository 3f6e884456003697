"""Channels, levels, case states and transitions of 好差评, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice, IntChoice


class Channel(Choice):
    window = "window", "窗口"
    website = "website", "网站"
    app = "app", "APP"
    miniprogram = "miniprogram", "小程序"
    kiosk = "kiosk", "自助终端"
    hotline = "hotline", "12345"
    sms = "sms", "短信"
    qrcode = "qrcode", "扫码评价"
    device = "device", "评价器"
    #: The province's system default rating (exchange ``pf`` 7): always ``is_default``.
    system = "system", "系统默认评价"
    #: A requester's rating of a 跑团代办 errand (only through ``record_errand_rating``).
    errand = "errand", "跑团代办"

    @property
    def on_site(self) -> bool:
        """Rated per visit (一次一评) rather than per case (一事一评)."""
        return self in (Channel.window, Channel.kiosk, Channel.qrcode, Channel.device)


#: Channels only a feeder's own service function writes: no file, API or page may claim them.
FEEDER_CHANNELS = frozenset({Channel.errand})
#: Channels the provincial exchange brings (``pf`` 3, 4 and 7) that the demo does not make.
EXCHANGE_CHANNELS = frozenset({Channel.qrcode, Channel.device, Channel.system})
#: The exchange's ``pf`` codes: 1 website, 2 mobile app, 3 QR code, 4 hall rating device,
#: 5 self-service terminal, 6 SMS, 7 system default rating.
PF_CHANNELS = {"1": Channel.website, "2": Channel.app, "3": Channel.qrcode, "4": Channel.device,
               "5": Channel.kiosk, "6": Channel.sms, "7": Channel.system}


class Level(IntChoice):
    """A rating, 1 to 5; the colour is its series in the dashboard's chart."""

    very_dissatisfied = 1, "非常不满意", "#c0392b"
    dissatisfied = 2, "不满意", "#e67e22"
    fair = 3, "基本满意", "#95a5a6"
    satisfied = 4, "满意", "#5dade2"
    very_satisfied = 5, "非常满意", "#1e8449"

    @property
    def score(self) -> int:
        """The 10/8/6/3/0 score some provinces use."""
        return {5: 10, 4: 8, 3: 6, 2: 3, 1: 0}[self.value]


class CaseState(Choice):
    received = "received", "待回访"
    called_back = "called_back", "已回访"
    verified = "verified", "已核实"
    rectifying = "rectifying", "整改中"
    replied = "replied", "已反馈"
    appealed = "appealed", "申诉中"
    closed = "closed", "已办结"


class CaseAction(Choice):
    callback = "callback", "回访"
    verify = "verify", "核实属实"
    appeal = "appeal", "申诉复核"
    rectify = "rectify", "开始整改"
    reply = "reply", "反馈整改结果"
    satisfied = "satisfied", "群众满意"
    unsatisfied = "unsatisfied", "群众不满意"
    uphold = "uphold", "申诉成立"
    reject_appeal = "reject_appeal", "申诉不成立"


#: action → (states it may be taken from, resulting state, who: assignee or manager)
CASE_TRANSITIONS: dict[CaseAction, tuple[frozenset[CaseState], CaseState, str]] = {
    CaseAction.callback: (frozenset({CaseState.received}), CaseState.called_back, "assignee"),
    CaseAction.verify: (frozenset({CaseState.called_back}), CaseState.verified, "assignee"),
    CaseAction.appeal: (frozenset({CaseState.called_back}), CaseState.appealed, "assignee"),
    CaseAction.rectify: (frozenset({CaseState.verified}), CaseState.rectifying, "assignee"),
    CaseAction.reply: (frozenset({CaseState.rectifying}), CaseState.replied, "assignee"),
    CaseAction.satisfied: (frozenset({CaseState.replied}), CaseState.closed, "assignee"),
    CaseAction.unsatisfied: (frozenset({CaseState.replied}), CaseState.rectifying, "assignee"),
    CaseAction.uphold: (frozenset({CaseState.appealed}), CaseState.closed, "manager"),
    CaseAction.reject_appeal: (frozenset({CaseState.appealed}), CaseState.rectifying, "manager"),
}


class HeldDecision(Choice):
    """What an analyst does with a held repeat rating."""

    count_in = "count", "计入"  # (``count`` is a method of str)
    discard = "discard", "舍弃"
