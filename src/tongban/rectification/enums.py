"""States, transitions and sources of rectification tasks, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class TaskSource(Choice):
    province_feedback = "province_feedback", "省级反馈"
    city_inspection = "city_inspection", "市级检查"
    review_case = "review_case", "差评工单"
    system_warning = "system_warning", "系统预警"


class TaskState(Choice):
    issued = "issued", "已下发"
    acknowledged = "acknowledged", "已签收"
    in_progress = "in_progress", "整改中"
    submitted = "submitted", "待核验"
    closed = "closed", "已销号"
    cancelled = "cancelled", "已撤销"

    @property
    def is_open(self) -> bool:
        return self not in (TaskState.closed, TaskState.cancelled)

    @property
    def with_unit(self) -> bool:
        """The unit holds it (a 待核验 task waits on the city, not the unit: never its overdue)."""
        return self.is_open and self is not TaskState.submitted


class TaskAction(Choice):
    acknowledge = "acknowledge", "签收"
    start = "start", "开始整改"
    submit = "submit", "提交整改材料"
    accept = "accept", "核验通过（销号）"
    reject = "reject", "核验不通过（退回）"
    cancel = "cancel", "撤销"


class TaskWork(Choice):
    """What else a user may do: on the board (issue, import) or on one task's lines and files."""

    issue = "issue", "下发整改任务"
    import_feedback = "import_feedback", "导入省级反馈"
    resolve_line = "resolve_line", "登记整改结果"
    reopen_line = "reopen_line", "退回整改项"
    attach = "attach", "上传佐证材料"


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
