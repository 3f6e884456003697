"""Pydantic models of the administration API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from tongban.core.workdays import DayKind


class HealthRead(BaseModel):
    status: str
    database: bool
    revision: str | None
    head: str | None
    error: str | None = None


class WorkdayAnswer(BaseModel):
    start: date
    workdays: int
    result: date


class WorkdayCheck(BaseModel):
    day: date
    is_workday: bool


class OverrideRead(BaseModel):
    day: date
    kind: DayKind
    note: str
    created_by: str


class OverrideWrite(BaseModel):
    kind: DayKind
    note: str = ""


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    object_type: str
    object_type_label: str
    object_id: str
    changes: dict[str, Any]
    reason: str
    hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None


class NotificationRead(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


#: A year the calendar can be asked about (a date holds 1–9999; nobody plans beyond these).
CalendarYear = Annotated[int, Query(ge=1900, le=2999, description="年份")]
