"""Pydantic models of the rectification API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from tongban.rectification.enums import TaskSource, TaskState


class LineRead(BaseModel):
    id: int
    item_code: str
    item_name: str
    problem: str
    resolved_at: datetime | None
    resolution: str


class AttachmentRead(BaseModel):
    id: int
    name: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: datetime


class TaskRead(BaseModel):
    id: int
    source: TaskSource
    category: str
    title: str
    detail: str
    org_code: str
    org_name: str
    responsible_person: str
    issued_on: date
    due_on: date
    state: TaskState
    overdue: bool
    open_lines: int
    points_at_risk: float
    penalty_indicator: str | None
    penalty_points_each: float | None
    penalty_cap: float | None
    penalty_org_code: str | None
    penalty_adjustment_id: int | None
    evidence: str
    lines: list[LineRead]
    attachments: list[AttachmentRead]


class LineCreate(BaseModel):
    item_code: str = ""
    item_name: str = ""
    problem: str


class PenaltyCreate(BaseModel):
    indicator: str
    points_each: float = Field(gt=0)
    cap: float | None = Field(default=None, gt=0)
    org: str | None = Field(default=None, description="被扣分单位，默认为责任单位")
    scheme: str | None = None


class TaskCreate(BaseModel):
    source: TaskSource = TaskSource.city_inspection
    category: str
    title: str = Field(min_length=1)
    detail: str = ""
    org: str
    responsible_person: str = ""
    issued_on: date | None = None
    due_on: date | None = None
    due_workdays: int | None = Field(default=None, ge=1)
    lines: list[LineCreate] = Field(default_factory=list)
    penalty: PenaltyCreate | None = None


class ActionRequest(BaseModel):
    note: str = ""
    evidence: str = ""


class ResolveRequest(BaseModel):
    resolution: str = ""
    reopen: bool = False


class ResolveLinesRequest(BaseModel):
    """批量销项: the lines of one task to mark rectified, all or none."""

    line_ids: list[int] = Field(min_length=1, max_length=1000)
    resolution: str = Field("", max_length=2000)


class ImportResult(BaseModel):
    tasks: int
    lines: int
    task_ids: list[int]
    errors: list[dict[str, object]]


class RiskRead(BaseModel):
    """One org on the risk board: points still at risk, points its open overdue tasks already
    cost, and the projection."""

    org_code: str
    org_name: str
    points_at_risk: float
    points_deducted: float = Field(description="逾期未整改、已计入考核的扣分（未办结任务）")
    open_lines: int
    next_due: date | None
    current_total: float | None
    current_rank: int | None
    projected_total: float | None
    projected_rank: int | None
    basis: str
    statement: str
    tasks: list[int]
