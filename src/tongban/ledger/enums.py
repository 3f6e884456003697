"""Choices of 专项台账, each with its Chinese label."""

from __future__ import annotations

from tongban.core.choices import Choice


class StatusKind(Choice):
    """What a ledger status means for the rates: still to do, done, or not applicable."""

    open = "open", "未完成", "#b9770e"
    done = "done", "已完成", "#1e8449"
    not_applicable = "not_applicable", "不适用", "#7f8c8d"


class FigureKind(Choice):
    """A number imported per org, item and month."""

    cases = "cases", "办件量"
    amount = "value", "指标值"


class EntryAction(Choice):
    """What a user does to an entry besides moving its status."""

    edit = "edit", "更新台账"
    attach = "attach", "上传佐证"
    rectify = "rectify", "转整改"
