"""Shapes of 数据开放共享 in the JSON API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from tongban.datasharing.enums import FieldFormat, FieldType, Frequency, OpenType, ShareType


class FieldRead(BaseModel):
    name: str
    type: FieldType
    required: bool
    format: FieldFormat
    primary_key: bool


class DatasetRead(BaseModel):
    code: str
    name: str
    department: str
    department_code: str
    frequency: Frequency
    share_type: ShareType
    open_type: OpenType
    key_data: bool
    business: str
    fields: list[FieldRead]


class FieldCountRead(BaseModel):
    invalid: int
    missing: int


class DeliveryRead(BaseModel):
    """A delivery and what its checks found (the shape ``tongban data deliver --json`` prints)."""

    id: int
    dataset: str
    delivered_on: date
    source: str
    filename: str
    rows: int
    invalid_cells: int
    missing_required: int
    duplicate_keys: int
    fields: dict[str, FieldCountRead]
    score: float
    samples: list[dict[str, object]] = Field(description="前若干个有问题的行（个人号码已掩码）")


class DatasetQualityRead(BaseModel):
    dataset: str
    name: str
    department: str
    key_data: bool
    score: float
    parts: dict[str, float]
    freshness: str
    late_periods: int
    last_delivered: date | None
    rows: int | None
    use: int
    cascaded: bool
    volume_drop: float | None


class DepartmentQualityRead(BaseModel):
    department: str
    department_code: str
    should_collect: float
    collected: float
    should_share: float
    shared: float
    should_open: float
    opened: float
    cascaded: float
    key_datasets: float
    key_datasets_fresh: float
    data_quality: float
    rates: dict[str, str] = Field(description="各比率及其分子分母，如 80.0%（8/10）")
    datasets: list[DatasetQualityRead]


class CascadeRead(BaseModel):
    dataset: str
    name: str
    department: str
    registered: bool
    standard: str
    last_success_at: datetime | None
    failures: int
    last_error: str
    healthy: bool
