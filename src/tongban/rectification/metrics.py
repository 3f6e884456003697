"""The 整改督办 metrics, as this feeder declares them (``assessment.metrics``): per org and
month of the tasks' deadlines, written by ``jobs.run``."""

from __future__ import annotations

from tongban.assessment.metrics import count_of, declare, ratio_of

OWNER = "rectification"

METRICS = declare(
    OWNER,
    count_of("rect_tasks_due", "到期整改任务数", "项", "期限在本月且已过期限的任务（撤销的不计）"),
    count_of("rect_closed_ontime", "按期销号任务数", "项"),
    count_of("rect_overdue", "逾期任务数", "项"),
    ratio_of("rect_ontime_rate", "整改任务按期销号率", "rect_closed_ontime", "rect_tasks_due"),
)
