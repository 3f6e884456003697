"""States and kinds of 对标, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class Requirement(Choice):
    """是否必需 of a material."""

    required = "required", "是"
    optional = "optional", "否"
    tolerated = "tolerated", "容缺"


class MemberStatus(Choice):
    """How sure the matcher is that a city's row is the group's item."""

    aligned = "aligned", "已对齐", "#2e7d32"
    review = "review", "待复核", "#ef6c00"
    confirmed = "confirmed", "已确认", "#1565c0"


class SuggestionKind(Choice):
    """The four kinds of suggestions (the speech's 流程/时限/材料 and 免提交)."""

    procedure = "procedure", "流程"
    time_limit = "time_limit", "时限"
    materials = "materials", "材料"
    exempt = "exempt", "免提交"


class SuggestionState(Choice):
    """Where a suggestion stands; 待反馈 and 采纳 are open."""

    pending = "pending", "待反馈"
    adopted = "adopted", "采纳"
    rejected = "rejected", "不采纳"
    implemented = "implemented", "已落实"
    withdrawn = "withdrawn", "不再适用"

    @property
    def is_open(self) -> bool:
        return self in (SuggestionState.pending, SuggestionState.adopted)


class SuggestionAction(Choice):
    """A department's answer to a suggestion."""

    adopt = "adopt", "采纳"
    reject = "reject", "不采纳"
    implement = "implement", "已落实"


#: action → (states it may be taken from, state it leads to, who takes it)
TRANSITIONS: dict[SuggestionAction, tuple[frozenset[SuggestionState], SuggestionState, str]] = {
    SuggestionAction.adopt: (frozenset({SuggestionState.pending}), SuggestionState.adopted,
                             "department"),
    SuggestionAction.reject: (frozenset({SuggestionState.pending}), SuggestionState.rejected,
                              "department"),
    SuggestionAction.implement: (frozenset({SuggestionState.adopted}),
                                 SuggestionState.implemented, "department"),
}


class Dimension(Choice):
    """A dimension of the frontier; fewer is better in each."""

    promised_days = "promised_days", "承诺时限（工作日）"
    steps = "steps", "办理环节"
    visits = "visits", "跑动次数"
    materials = "materials", "必需材料"


class ReviewAction(Choice):
    """What an analyst does with a member of the review queue."""

    confirm = "confirm", "确认"
    move = "move", "移到其他组"
    split_off = "split", "拆为单独一组"


class GuideRule(Choice):
    """A rule of the 办事指南体检 (guide self-check); which ones run is
    ``TONGBAN_BENCHMARK_GUIDE_RULES``."""

    missing_element = "missing_element", "要素缺失"
    promised_over_legal = "promised_over_legal", "承诺时限超过法定时限"
    instant_visits = "instant_visits", "即办件跑动多次"
    duplicate_material = "duplicate_material", "材料重复"
    conflicting_material = "conflicting_material", "材料既必需又非必需"
    bad_phone = "bad_phone", "电话号码无效"
    list_mismatch = "list_mismatch", "材料与实施清单不一致"


class ImportKind(Choice):
    """What a 对标 import file is: a city's catalog, or the province's 实施清单 materials of
    the city's items (the materials format)."""

    catalog = "catalog", "目录"
    implementation_list = "implementation_list", "实施清单"
