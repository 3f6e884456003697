"""Shapes of 专项台账 in the JSON API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class StatusDefRead(BaseModel):
    code: str
    label: str
    kind: str


class LedgerTypeRead(BaseModel):
    code: str
    name: str
    version: str
    categories: list[str]
    statuses: list[StatusDefRead]
    reasons: list[str]
    due_on: date | None
    target: int | None


class OrgStatusRead(BaseModel):
    """One org's standing (the shape ``tongban ledger status --json`` prints per org)."""

    org: str
    org_code: str
    total: int
    done: int
    not_applicable: int
    open: int
    rate: float | None
    landed: int
    landing_rate: float | None


class EntryRead(BaseModel):
    item: str
    name: str
    category: str
    org: str
    org_code: str
    status: str
    status_label: str
    kind: str
    reason: str
    responsible: str
    fields: dict[str, str]
    notes: str
    due_on: date | None
    overdue: bool
    evidence: int


class EntryUpdate(BaseModel):
    """A change of an entry; fields left out keep what is there."""

    status: str | None = Field(None, max_length=48)
    reason: str | None = Field(None, max_length=100)
    responsible: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=2000)
    fields: dict[str, str] = Field(default_factory=dict, max_length=20)


class StandingRead(BaseModel):
    org: str
    value: float | None
    target: float | None
    met: bool
    gap: float | None
