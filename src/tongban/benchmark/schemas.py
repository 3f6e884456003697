"""Pydantic models of the 对标 API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from tongban.benchmark.enums import (
    MemberStatus,
    SuggestionAction,
    SuggestionKind,
    SuggestionState,
)


class LeagueRead(BaseModel):
    city_code: str
    city: str
    dtf: float
    items: int
    rank: int


class MemberRead(BaseModel):
    id: int
    city: str
    name: str
    code: str
    confidence: float
    status: MemberStatus


class GroupRead(BaseModel):
    id: int
    name: str
    base_code: str
    members: list[MemberRead]


class SuggestionRead(BaseModel):
    id: int
    group: int
    item: str
    department: str
    kind: SuggestionKind
    kind_label: str
    material: str
    detail: str
    cities: str
    state: SuggestionState
    state_label: str = ""
    due_on: date | None = None
    planned_on: date | None = None
    answer: str = ""
    allowed_actions: list[SuggestionAction] = []


class AnswerRequest(BaseModel):
    planned_on: date | None = None
    reason: str = Field(default="", max_length=2000)
