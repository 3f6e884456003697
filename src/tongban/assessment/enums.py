"""States and kinds of the assessment domain, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class Grade(StrEnum):
    """Monthly grade of an evaluated org (等次)."""

    good = "good"
    fair = "fair"
    poor = "poor"

    @property
    def label(self) -> str:
        return {"good": "好", "fair": "中", "poor": "差"}[self.value]


class SheetStatus(StrEnum):
    draft = "draft"
    published = "published"
    superseded = "superseded"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "published": "已发布", "superseded": "已被更正"}[self.value]


class MissingPolicy(StrEnum):
    """What an indicator does when a metric it needs has no value for an org."""

    zero = "zero"  # the indicator scores 0 points
    as_zero = "as_zero"  # the missing metric is taken as the value 0
    exclude = "exclude"  # the indicator is left out; the org's total is rescaled
    error = "error"  # scoring refuses until the value is supplied

    @property
    def label(self) -> str:
        return {
            "zero": "缺数据按0分计",
            "as_zero": "缺数据按数值0计",
            "exclude": "缺数据不参与考核（按其余指标折算）",
            "error": "缺数据不得计分（报错）",
        }[self.value]


class AdjustmentKind(StrEnum):
    deduction = "deduction"
    bonus = "bonus"

    @property
    def label(self) -> str:
        return "扣分" if self is AdjustmentKind.deduction else "加分"
