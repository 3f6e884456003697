"""Pydantic models of the reports API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from tongban.reports.enums import ReportFormat, ReportKind, ReportTrigger


class ReportCreate(BaseModel):
    """What to write: ``as_of`` for the weekly bulletin; ``cohort`` and ``period`` (YYYY-MM
    for monthly, YYYYQn for quarterly) for the others."""

    kind: ReportKind
    as_of: date | None = None
    cohort: str = ""
    period: str = Field(default="", examples=["2026-03", "2026Q1"])


class ReportFileRead(BaseModel):
    format: ReportFormat
    size: int
    sha256: str
    intact: bool
    url: str


class ReportRead(BaseModel):
    id: int
    kind: ReportKind
    title: str
    #: The 文号 printed on the document (巴政数〔2026〕12号); empty for reports archived
    #: before 文号 were given.
    number: str
    scope: str
    period: str
    trigger: ReportTrigger
    generated_by: str
    generated_at: datetime
    created: bool = False
    files: list[ReportFileRead]
