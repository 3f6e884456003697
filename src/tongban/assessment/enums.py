"""States and kinds of the assessment domain, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class Grade(Choice):
    """Monthly grade of an evaluated org (等次)."""

    good = "good", "好"
    fair = "fair", "中"
    poor = "poor", "差"


class SheetStatus(Choice):
    draft = "draft", "草稿"
    published = "published", "已发布"
    superseded = "superseded", "已被更正"


class MissingPolicy(Choice):
    """What an indicator does when a metric it needs has no value for an org."""

    zero = "zero", "缺数据按0分计"  # the indicator scores 0 points
    as_zero = "as_zero", "缺数据按数值0计"  # the missing metric is taken as the value 0
    exclude = "exclude", "缺数据不参与考核（按其余指标折算）"  # left out; the total is rescaled
    error = "error", "缺数据不得计分（报错）"  # scoring refuses until the value is supplied


class AdjustmentKind(Choice):
    deduction = "deduction", "扣分"
    bonus = "bonus", "加分"


class SheetAction(Choice):
    """What may be done to a cohort's sheet of one month."""

    compute = "compute", "计算成绩单"
    publish = "publish", "发布成绩单"
    correct = "correct", "更正成绩单"
