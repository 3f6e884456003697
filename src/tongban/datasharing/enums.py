"""Choices of 数据开放共享, each with its Chinese label."""

from __future__ import annotations

from tongban.core.choices import Choice


class Frequency(Choice):
    """How often a dataset must be updated (更新频率)."""

    realtime = "realtime", "实时"
    day = "day", "日"
    week = "week", "周"
    month = "month", "月"
    quarter = "quarter", "季"
    year = "year", "年"


class ShareType(Choice):
    unconditional = "unconditional", "无条件"
    conditional = "conditional", "有条件"
    none = "none", "不予共享"


class OpenType(Choice):
    open = "open", "开放"
    conditional = "conditional", "有条件开放"
    closed = "closed", "不开放"


class FieldType(Choice):
    text = "text", "文本"
    integer = "integer", "整数"
    number = "number", "小数"
    date = "date", "日期"


class FieldFormat(Choice):
    """A format a text field's values must have, checked by a library made for it."""

    none = "", "无"
    credit_code = "credit_code", "统一社会信用代码"
    id_card = "id_card", "身份证号"
    date = "date", "日期"
    division = "division", "行政区划代码"
    mobile = "mobile", "手机号"


class DeliverySource(Choice):
    upload = "upload", "上传"
    pull = "pull", "拉取"


class CascadeKind(Choice):
    register = "register", "目录注册"
    push = "push", "数据推送"


class CascadeOutcome(Choice):
    ok = "ok", "成功", "#1e8449"
    refused = "refused", "被拒收", "#c0392b"
    error = "error", "连接失败", "#b9770e"


#: How each choice is written in a catalog file (Chinese), by value.
def by_label(choice: type[Choice]) -> dict[str, Choice]:
    """A choice's members by their Chinese label and by their value."""
    return {**{m.label: m for m in choice}, **{m.value: m for m in choice if m.value}}
