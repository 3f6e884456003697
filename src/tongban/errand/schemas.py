"""Pydantic models of the errand API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tongban.core import privacy
from tongban.core.listing import PageOut
from tongban.errand.enums import ErrandAction, ErrandState
from tongban.errand.models import Errand, Runner


class ErrandCreate(BaseModel):
    item_id: int = Field(ge=1, le=2**62)
    contact_name: str = Field(max_length=100)
    phone: str = Field(max_length=30)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    address: str = Field("", max_length=300)
    preferred_window: str = Field("", max_length=100)
    note: str = Field("", max_length=500)
    authorised: bool = False


class HandoverRead(BaseModel):
    from_kind: str
    from_name: str
    to_kind: str
    to_name: str
    at: datetime
    photo_ref: str


class ErrandRead(BaseModel):
    id: int
    item_code: str
    item_name: str
    state: ErrandState
    state_label: str
    zone_code: str
    zone_name: str
    channel: str
    contact_name: str
    phone: str  # always masked
    address: str
    pickup_lat: float
    pickup_lng: float
    authorised: bool
    runner_id: int | None
    reason: str
    partner_channel: str | None = None  # the third-party channel running it, if any
    partner_order_id: str | None = None
    submitted_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None  # the SLA's end (None: no SLA)
    overdue: bool
    holder: str
    handovers: list[HandoverRead]
    allowed_actions: list[ErrandAction] = []


class ErrandCreated(ErrandRead):
    tracking_path: str | None = None
    created: bool = True


class RunnerRead(BaseModel):
    id: int
    name: str
    team_code: str
    on_duty: bool
    capacity: int
    active_count: int
    qualifications: list[str]
    lat: float | None
    lng: float | None
    position_at: datetime | None
    rating: float
    suspended: bool


class PoolEntry(BaseModel):
    errand: ErrandRead
    distance_km: float


class GrabRequest(BaseModel):
    runner_id: int | None = Field(None, ge=1, le=2**62)


class GrabRead(BaseModel):
    outcome: str  # won / retry
    errand_id: int
    runner_id: int
    distance_km: float


class PhotoRead(BaseModel):
    """An uploaded hand-over photo: name it as ``photo_ref`` in the step it documents."""

    id: int
    photo_ref: str
    size: int
    content_type: str


class ActionRequest(BaseModel):
    reason: str = Field("", max_length=500)
    photo_ref: str = Field("", max_length=300,
                           description="本人为该代办上传的照片（POST …/photos 返回的 file:编号）")
    runner_id: int | None = Field(None, ge=1, le=2**62)


ErrandPage = PageOut[ErrandRead]
RunnerPage = PageOut[RunnerRead]


def errand_read(errand: Errand, allowed: frozenset[ErrandAction] = frozenset()) -> ErrandRead:
    """An errand for the API and the CLI: the phone masked, free text through ``mask_text``."""
    from tongban.errand.service import holder

    return ErrandRead(
        id=errand.id, item_code=errand.item.item_code, item_name=errand.item.name,
        state=ErrandState(errand.state), state_label=ErrandState(errand.state).label,
        zone_code=errand.zone.code, zone_name=errand.zone.name, channel=errand.channel,
        contact_name=privacy.mask_text(errand.contact_name), phone=errand.phone_masked,
        address=privacy.mask_text(errand.address), pickup_lat=errand.pickup_lat,
        pickup_lng=errand.pickup_lng, authorised=errand.authorised, runner_id=errand.runner_id,
        reason=privacy.mask_text(errand.reason), partner_channel=errand.channel_code,
        partner_order_id=errand.channel_order_id, submitted_at=errand.submitted_at,
        accepted_at=errand.accepted_at, due_at=errand.due_at, overdue=errand.overdue,
        holder=holder(errand).value,
        handovers=[HandoverRead(from_kind=h.from_kind, from_name=privacy.mask_text(h.from_name),
                                to_kind=h.to_kind, to_name=privacy.mask_text(h.to_name), at=h.at,
                                photo_ref=h.photo_ref) for h in errand.handovers],
        allowed_actions=sorted(allowed))


def runner_read(runner: Runner) -> RunnerRead:
    return RunnerRead(
        id=runner.id, name=runner.name, team_code=runner.team.code, on_duty=runner.on_duty,
        capacity=runner.capacity, active_count=runner.active_count,
        qualifications=sorted(runner.qualification_set), lat=runner.lat, lng=runner.lng,
        position_at=runner.position_at, rating=runner.rating, suspended=runner.suspended)
