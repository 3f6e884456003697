"""Requests: from the public page (rate-limited, with a tracking link shown once), from staff or
a third party's API (with an honest Idempotency-Key)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.core import audit, privacy
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
)
from tongban.core.security import Actor, Outsider, Role
from tongban.core.workdays import UnknownCalendarYear, load_calendar
from tongban.errand import sla
from tongban.errand.enums import (
    Channel,
    ErrandAction,
    ErrandState,
)
from tongban.errand.models import (
    Errand,
    ErrandItem,
    ErrandZone,
)
from tongban.errand.service.common import _PHONE, REQUESTER, clean_text, limit_client
from tongban.errand.service.lifecycle import transition
from tongban.errand.service.reads import _token_hash
from tongban.errand.service.zones import _check_point, zone_of
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org


@dataclass(frozen=True)
class Request:
    """What a requester asks for."""

    item_id: int
    contact_name: str
    phone: str
    lat: float | None  # the pickup point, or None with ``town`` and an address
    lng: float | None
    address: str = ""
    preferred_window: str = ""
    note: str = ""
    authorised: bool = False
    town: str = ""  # a 乡镇(街道) of the city by code or name, when there is no point


@dataclass(frozen=True)
class Placement:
    """Where a request is picked up: its point and zone, and the town when only that is known
    (the point is then the county's seat, an estimate the dispatcher sees as such)."""

    lat: float
    lng: float
    zone: Org
    town: Org | None


def place(db: Session, *, request: Request) -> Placement:
    """The request's point and zone: its own point, or — for a requester who gives a town and
    an address but no point — the town's county seat (until the city ships township centres)."""
    if request.lat is not None and request.lng is not None:
        lat, lng = _check_point(request.lat, request.lng)
        return Placement(lat, lng, zone_of(db, lat=lat, lng=lng), None)
    if not request.town.strip():
        raise DomainError("请使用当前位置或在地图上点选取件地点，或选择所在乡镇（街道）并填写详细地址")
    town = _town(db, request.town)
    if not clean_text(request.address, 300):
        raise DomainError("按乡镇（街道）下单时请填写详细地址，方便跑手找到您")
    seat = db.scalar(select(ErrandZone).where(ErrandZone.org_id == town.parent_id))
    if seat is None:
        raise DomainError(f"「{town.name}」所在的县（区）尚未开通代办")
    return Placement(seat.seat_lat, seat.seat_lng, seat.org, town)


def _town(db: Session, ref: str) -> Org:
    try:
        town = org_service.resolve_org(db, ref=ref.strip()[:60])
    except (NotFound, DomainError):
        raise DomainError(f"未找到乡镇（街道）「{ref.strip()[:30]}」") from None
    if town.level != OrgLevel.township.value:
        raise DomainError(f"「{town.name}」不是乡镇（街道）")
    return town


def towns(db: Session) -> list[tuple[Org, list[Org]]]:
    """The city's towns by county, for the request page's picker (zones with a seat only)."""
    zones = list(db.scalars(select(ErrandZone)))
    out = []
    for zone in sorted(zones, key=lambda z: z.org.code):
        found = list(db.scalars(select(Org).where(Org.parent_id == zone.org_id,
                                                  Org.level == OrgLevel.township.value)
                                .order_by(Org.code)))
        if found:
            out.append((zone.org, found))
    return out


@dataclass(frozen=True)
class Submitted:
    errand: Errand
    tracking_token: str | None  # None for a repeat of an idempotent request
    created: bool


def _validate(db: Session, request: Request) -> tuple[ErrandItem, str, Placement]:
    item = db.get(ErrandItem, request.item_id)
    if item is None or not item.is_active:
        raise DomainError("请选择代办事项")
    phone = re.sub(r"[\s-]", "", request.phone)
    if not _PHONE.fullmatch(phone):
        raise DomainError("请填写正确的联系电话")
    if not clean_text(request.contact_name, 100):
        raise DomainError("请填写联系人")
    return item, phone, place(db, request=request)


@audit.action({"errand.submitted": "提交代办"})
def _create(db: Session, *, actor: Actor | Outsider, request: Request, channel: Channel,
            idempotency_key: str | None = None,
            request_hash: str | None = None) -> tuple[Errand, str]:
    item, phone, placed = _validate(db, request)
    zone = placed.zone
    token = secrets.token_urlsafe(24)
    now = utcnow()
    errand = Errand(
        item_id=item.id, zone_org_id=zone.id, channel=channel.value,
        contact_name=clean_text(request.contact_name, 100), phone_cipher=privacy.protect(phone),
        phone_masked=privacy.mask_phone(phone), address=clean_text(request.address, 300),
        pickup_lat=placed.lat, pickup_lng=placed.lng,
        town_code=placed.town.code if placed.town is not None else "",
        preferred_window=clean_text(request.preferred_window, 100), note=clean_text(request.note, 500),
        authorised=request.authorised, authorised_at=now if request.authorised else None,
        state=ErrandState.submitted.value, submitted_at=now, idempotency_key=idempotency_key,
        request_hash=request_hash,
        tracking_hash=_token_hash(token), due_at=due_at(db, item=item, start=now),
        created_by=actor.user_id if isinstance(actor, Actor) else None)
    db.add(errand)
    db.flush()
    audit.record(db, actor=actor, action="errand.submitted", object_type="errand",
                 object_id=errand.id, changes={"state": [None, "submitted"], "item": item.item_code,
                                               "zone": zone.code, "channel": channel.value,
                                               "authorised": request.authorised})
    return errand, token


def due_at(db: Session, *, item: ErrandItem, start: datetime) -> datetime | None:
    """When an errand of ``item`` submitted at ``start`` is due (None without an SLA, or in a
    year whose holidays are not known yet: no timer rather than a guess)."""
    if not (item.sla_hours or item.sla_days):
        return None
    periods = sla.hall_hours(get_settings().errand_hall_hours)
    try:
        return sla.due_time(load_calendar(db), start=start, hours=item.sla_hours,
                            days=item.sla_days, periods=periods)
    except UnknownCalendarYear:
        return None


def submit_public(db: Session, *, request: Request, client: str) -> Submitted:
    """A request from the public phone page: rate-limited per client address, published at
    once; the tracking token is shown once (only its hash is kept)."""
    limit_client(db, client)
    errand, token = _create(db, actor=REQUESTER, request=request, channel=Channel.page)
    transition(db, actor=REQUESTER, errand=errand, action=ErrandAction.publish)
    return Submitted(errand, token, True)


def submit(db: Session, *, actor: Actor, request: Request,
           idempotency_key: str | None = None) -> Submitted:
    """A request from staff or a third party's API call; with ``idempotency_key`` a repeat
    (even a concurrent one) returns the first errand and changes nothing."""
    if actor.role not in (Role.admin, Role.analyst, Role.liaison):
        raise PermissionDenied(f"{actor.role.label}不能代为提交代办")
    key = fingerprint = None
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 200:
            raise DomainError("Idempotency-Key 须为 1 到 200 个字符")
        key = f"{actor.user_id or 0}:{idempotency_key}"
        fingerprint = _request_hash(request)
        known = db.scalar(select(Errand).where(Errand.idempotency_key == key))
        if known is not None:
            return _repeat(known, idempotency_key, fingerprint)
    channel = Channel.api if key else Channel.staff
    if actor.role is Role.liaison:  # outside its zones a liaison learns nothing else
        org_service.ensure_visible(db, actor=actor, org=place(db, request=request).zone)
    try:
        with db.begin_nested():
            errand, token = _create(db, actor=actor, request=request, channel=channel,
                                    idempotency_key=key, request_hash=fingerprint)
    except IntegrityError:
        known = db.scalar(select(Errand).where(Errand.idempotency_key == key))
        if known is None or idempotency_key is None:
            raise
        return _repeat(known, idempotency_key, fingerprint)
    transition(db, actor=actor, errand=errand, action=ErrandAction.publish)
    return Submitted(errand, token, True)


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came with another request (as payment APIs refuse it)."""

    status_code = 422


def _request_hash(request: Request) -> str:
    """A keyed hash of a request's fields (the phone among them is never kept in clear)."""
    canonical = orjson.dumps(asdict(request), option=orjson.OPT_SORT_KEYS)
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"errand-request:" + canonical, hashlib.sha256).hexdigest()


def _repeat(known: Errand, key: str, fingerprint: str | None) -> Submitted:
    """The first errand of a repeated key, when the repeat is the same request."""
    if known.request_hash is not None and known.request_hash != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key「{key[:60]}」已用于另一份内容不同的代办申请"
                                   f"（代办 #{known.id}）；重试请发送相同内容，新申请请换一个键")
    return Submitted(known, None, False)


