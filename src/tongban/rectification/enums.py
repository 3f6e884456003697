"""States, transitions and sources of rectification tasks, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class TaskSource(StrEnum):
    province_feedback = "province_feedback"
    city_inspection = "city_inspection"
    review_case = "review_case"
    system_warning = "system_warning"

    @property
    def label(self) -> str:
        return {"province_feedback": "省级反馈", "city_inspection": "市级检查",
                "review_case": "差评工单", "system_warning": "系统预警"}[self.value]


class TaskState(StrEnum):
    issued = "issued"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    submitted = "submitted"
    closed = "closed"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {"issued": "已下发", "acknowledged": "已签收", "in_progress": "整改中",
                "submitted": "待核验", "closed": "已销号", "cancelled": "已撤销"}[self.value]

    @property
    def is_open(self) -> bool:
        return self not in (TaskState.closed, TaskState.cancelled)


class TaskAction(StrEnum):
    acknowledge = "acknowledge"
    start = "start"
    submit = "submit"
    accept = "accept"
    reject = "reject"
    cancel = "cancel"

    @property
    def label(self) -> str:
        return {"acknowledge": "签收", "start": "开始整改", "submit": "提交整改材料",
                "accept": "核验通过（销号）", "reject": "核验不通过（退回）",
                "cancel": "撤销"}[self.value]


#: action → (states it may be taken from, state it leads to, who takes it)
TRANSITIONS: dict[TaskAction, tuple[frozenset[TaskState], TaskState, str]] = {
    TaskAction.acknowledge: (frozenset({TaskState.issued}), TaskState.acknowledged, "assignee"),
    TaskAction.start: (frozenset({TaskState.acknowledged}), TaskState.in_progress, "assignee"),
    TaskAction.submit: (frozenset({TaskState.in_progress}), TaskState.submitted, "assignee"),
    TaskAction.accept: (frozenset({TaskState.submitted}), TaskState.closed, "manager"),
    TaskAction.reject: (frozenset({TaskState.submitted}), TaskState.in_progress, "manager"),
    TaskAction.cancel: (frozenset({TaskState.issued, TaskState.acknowledged,
                                   TaskState.in_progress, TaskState.submitted}),
                        TaskState.cancelled, "manager"),
}
