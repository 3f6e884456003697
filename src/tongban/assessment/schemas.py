"""Pydantic models of the assessment API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tongban.assessment.enums import Grade


class SchemeRead(BaseModel):
    code: str
    version: str
    name: str
    issuer: str
    effective_from: str
    effective_to: str | None
    cohorts: list[str]
    total_points: float
    indicator_count: int
    content_hash: str


class SchemeDetail(SchemeRead):
    content: dict[str, Any]


class SchemeLoad(BaseModel):
    yaml: str = Field(description="考核方案 YAML 全文")
    filename: str = ""


class SchemeLoaded(BaseModel):
    scheme: SchemeRead
    created: bool


class IndicatorChangeRead(BaseModel):
    code: str
    name: str
    change: str
    label: str
    old_points: float | None
    new_points: float | None
    detail: str


class ImportReportRead(BaseModel):
    kind: str
    filename: str
    rows: int
    periods: list[str]
    metric_values_changed: int
    adjustments_created: int
    adjustments_voided: int
    mismatches: list[dict[str, Any]]
    repeated: bool
    batch_id: int | None


class SheetRead(BaseModel):
    cohort: str
    period: str
    revision: int
    status: str
    scheme: str
    orgs: int
    content_hash: str | None
    correction_reason: str


class CorrectionCreate(BaseModel):
    reason: str = Field(min_length=1)


class RankRow(BaseModel):
    org_code: str
    org_name: str
    total: float
    rank: int
    grade: Grade
    rank_change: int | None = None
    leading: bool = False


class WhatIfRequest(BaseModel):
    drop_adjustments: list[int] = Field(default_factory=list)
    set_points: dict[str, float] = Field(default_factory=dict)
    set_metrics: dict[str, float] = Field(default_factory=dict)


class TotalRank(BaseModel):
    total: float
    rank: int


class WhatIfRead(BaseModel):
    org_code: str
    org_name: str
    before: TotalRank
    after: TotalRank
    passes: list[str]
    falls_behind: list[str]
    changes: list[str]
    notes: list[str] = Field(default=[], description="输入值超出指标分值时的说明（如已按满分封顶）")


class TrendRead(BaseModel):
    period: str
    total: float
    rank: int
    of: int
    grade: Grade
    rank_change: int | None
    status: str


class AlertRead(BaseModel):
    kind: str
    label: str
    org_code: str
    org_name: str
    message: str


class AdjustmentRead(BaseModel):
    id: int
    period: str
    org_code: str
    org_name: str
    points: float
    reason: str
    indicator_code: str | None
    scheme_code: str | None
    source: str
    source_ref: str
    source_url: str
    voided: bool


class AdjustmentCreate(BaseModel):
    period: str
    org: str
    points: float
    reason: str = Field(min_length=1)
    indicator_code: str | None = None
    scheme_code: str | None = None
    source_url: str = ""


class VoidRequest(BaseModel):
    reason: str = Field(min_length=1)


class MetricValueWrite(BaseModel):
    period: str
    org: str
    metric: str
    value: float
    evidence: str = ""


class MetricBatch(BaseModel):
    source: str = Field(min_length=1, description="数据来源，如 省平台同步")
    values: list[MetricValueWrite]


class MetricBatchResult(BaseModel):
    received: int
    changed: int
