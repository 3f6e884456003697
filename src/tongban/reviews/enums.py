"""Channels, levels, case states and transitions of 好差评, with their Chinese labels."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Channel(StrEnum):
    window = "window"
    website = "website"
    app = "app"
    miniprogram = "miniprogram"
    kiosk = "kiosk"
    hotline = "hotline"
    sms = "sms"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]

    @property
    def on_site(self) -> bool:
        """Rated per visit (一次一评) rather than per case (一事一评)."""
        return self in (Channel.window, Channel.kiosk)


CHANNEL_LABELS = {
    Channel.window: "窗口", Channel.website: "网站", Channel.app: "APP",
    Channel.miniprogram: "小程序", Channel.kiosk: "自助终端", Channel.hotline: "12345",
    Channel.sms: "短信",
}


class Level(IntEnum):
    very_dissatisfied = 1
    dissatisfied = 2
    fair = 3
    satisfied = 4
    very_satisfied = 5

    @property
    def label(self) -> str:
        return {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}[self.value]

    @property
    def score(self) -> int:
        """The 10/8/6/3/0 score some provinces use."""
        return {5: 10, 4: 8, 3: 6, 2: 3, 1: 0}[self.value]


class CaseState(StrEnum):
    received = "received"
    called_back = "called_back"
    verified = "verified"
    rectifying = "rectifying"
    replied = "replied"
    appealed = "appealed"
    closed = "closed"

    @property
    def label(self) -> str:
        return {"received": "待回访", "called_back": "已回访", "verified": "已核实",
                "rectifying": "整改中", "replied": "已反馈", "appealed": "申诉中",
                "closed": "已办结"}[self.value]


class CaseAction(StrEnum):
    callback = "callback"
    verify = "verify"
    appeal = "appeal"
    rectify = "rectify"
    reply = "reply"
    satisfied = "satisfied"
    unsatisfied = "unsatisfied"
    uphold = "uphold"
    reject_appeal = "reject_appeal"

    @property
    def label(self) -> str:
        return {"callback": "回访", "verify": "核实属实", "appeal": "申诉复核",
                "rectify": "开始整改", "reply": "反馈整改结果", "satisfied": "群众满意",
                "unsatisfied": "群众不满意", "uphold": "申诉成立", "reject_appeal": "申诉不成立"
                }[self.value]


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


class HeldDecision(StrEnum):
    """What an analyst does with a held repeat rating."""

    count_in = "count"  # (``count`` is a method of str)
    discard = "discard"
