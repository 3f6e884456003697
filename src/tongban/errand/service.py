"""跑团代办 operations: requests, the lifecycle, custody of documents, runners, the grab pool
and the grab itself. The only module that writes the errand tables.

Who may do what is one check per errand (:func:`_check`), behind every write and behind
:func:`allowed_actions`. A runner sees its own errands and the pool it is eligible for; a
liaison the errands of the zones in its org's subtree; city-wide roles all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from tongban.core import audit, notify, privacy, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    permitted,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.numbers import gini
from tongban.core.security import Actor, Outsider, Role
from tongban.core.workdays import UnknownCalendarYear, load_calendar, local_zone
from tongban.errand import metrics, sla
from tongban.errand.dispatch import KM_PER_DEGREE, haversine_km
from tongban.errand.enums import (
    HANDOVERS,
    TRANSITIONS,
    Channel,
    ErrandAction,
    ErrandState,
    Holder,
    OfferOutcome,
    PartnerChannel,
    ZoneMode,
)
from tongban.errand.models import (
    Errand,
    ErrandFile,
    ErrandItem,
    ErrandZone,
    Handover,
    Offer,
    Runner,
)
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Org, User
from tongban.reviews import service as reviews

audit.name_objects({"errand": "代办", "errand_runner": "跑手"})

#: Who submits on the public page or follows a tracking link (audited under this name).
REQUESTER = Outsider(username="requester", display_name="代办申请人")


def channel_actor(code: str) -> Outsider:
    """The actor of a third-party channel's verified callbacks (audited under this name)."""
    return Outsider(username=f"channel:{code}", display_name=PartnerChannel(code).label)


def _is_channel(actor: Actor | Outsider, errand: Errand) -> bool:
    """Whether ``actor`` is the channel the errand was handed to (its verified callback)."""
    return isinstance(actor, Outsider) and errand.channel_code is not None \
        and actor.username == f"channel:{errand.channel_code}"


#: A pickup point farther than this from every zone's seat is outside the city's service.
MAX_ZONE_KM = 100.0
#: At most this many errands in a runner's pool (nearest first).
POOL_LIMIT = 50
_PHONE = re.compile(r"[0-9]{7,15}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


class Taken(Conflict):
    """Another runner won the errand: nothing changed (已被抢)."""

    def __init__(self, errand_id: int) -> None:
        super().__init__(f"代办 #{errand_id} 已被抢")


class NotEligible(PermissionDenied):
    """The runner may not take this errand (duty, capacity, qualification, distance, state)."""


# ---------------------------------------------------------------- items, zones, runners


def active_items(db: Session) -> list[ErrandItem]:
    """The errand items a request may name (newest batch first)."""
    return list(db.scalars(select(ErrandItem).where(ErrandItem.is_active)
                           .order_by(ErrandItem.batch.desc(), ErrandItem.id)))


def zone_of(db: Session, *, lat: float, lng: float) -> Org:
    """The zone (county-level org) of a pickup point: the one whose seat is nearest."""
    zones = list(db.scalars(select(ErrandZone)))
    if not zones:
        raise DomainError("尚未设置代办区域")
    km, zone = min(((haversine_km(lat, lng, z.seat_lat, z.seat_lng), z) for z in zones),
                   key=lambda pair: (pair[0], pair[1].id))
    if km > MAX_ZONE_KM:
        raise DomainError("取件地点不在本市代办服务范围内")
    return zone.org


def city_centre(db: Session) -> tuple[float, float]:
    """The middle of the zones' seats (where a map opens); 巴中 without zones."""
    seats = db.execute(select(ErrandZone.seat_lat, ErrandZone.seat_lng)).all()
    if not seats:
        return 31.867, 106.747
    return (round(sum(s[0] for s in seats) / len(seats), 5),
            round(sum(s[1] for s in seats) / len(seats), 5))


def zone_modes(db: Session) -> dict[int, ZoneMode]:
    """Each zone's org id → how its errands find runners (its own mode or the setting's)."""
    default = ZoneMode(get_settings().errand_mode)
    return {org_id: ZoneMode(mode) if mode else default
            for org_id, mode in db.execute(select(ErrandZone.org_id, ErrandZone.mode))}


def zones(db: Session) -> list[tuple[int, str, ZoneMode]]:
    """Each zone's org id, name and mode, in the org tree's order."""
    modes = zone_modes(db)
    found = db.scalars(select(ErrandZone).join(Org, Org.id == ErrandZone.org_id)
                       .order_by(Org.code, Org.id))
    return [(z.org_id, z.org.name, modes[z.org_id]) for z in found]


def _grabbable(errand: Errand, modes: dict[int, ZoneMode]) -> bool:
    """Whether an open errand is in the grab pool: its zone takes grabs, or a dispatch-only
    zone opened it after N unassigned cycles."""
    mode = modes.get(errand.zone_org_id, ZoneMode(get_settings().errand_mode))
    return mode is not ZoneMode.dispatch or errand.pooled_at is not None


@audit.action({"errand.zone_mode": "设置派单方式"})
def set_zone_mode(db: Session, *, actor: Actor, zone_org_id: int,
                  mode: ZoneMode | None) -> ErrandZone:
    """Set how a zone's errands find runners (None: the setting's default); city-wide
    managers only."""
    if not actor.can_manage:
        raise PermissionDenied("只有市级管理员或分析员可以设置派单方式")
    zone = db.scalar(select(ErrandZone).where(ErrandZone.org_id == zone_org_id))
    if zone is None:
        raise NotFound(f"未找到代办区域 #{zone_org_id}")
    before = zone.mode
    zone.mode = mode.value if mode else None
    db.flush()
    audit.record(db, actor=actor, action="errand.zone_mode", object_type="org",
                 object_id=zone_org_id, changes={"mode": [before, zone.mode]})
    return zone


def runner_of(db: Session, *, actor: Actor) -> Runner | None:
    """The runner record of a runner's login (None for other roles)."""
    if actor.role is not Role.runner or actor.user_id is None:
        return None
    return db.scalar(select(Runner).where(Runner.user_id == actor.user_id))


def get_runner(db: Session, *, actor: Actor, runner_id: int) -> Runner:
    runner = db.get(Runner, runner_id)
    if runner is None or not _sees_runner(db, actor, runner):
        raise NotFound(f"未找到跑手 #{runner_id}")
    return runner


def _sees_runner(db: Session, actor: Actor, runner: Runner) -> bool:
    if actor.role is Role.runner:
        return runner.user_id == actor.user_id
    return org_service.can_see(db, actor=actor, org=runner.team)


@audit.action({"errand_runner.registered": "登记跑手"})
def register_runner(db: Session, *, actor: Actor, user: User, team: Org, capacity: int = 2,
                    qualifications: str = "") -> Runner:
    """Make a user of the runner role a 跑手 of ``team`` (managers only)."""
    org_service.require_manager(actor, "登记跑手")
    if Role(user.role) is not Role.runner:
        raise DomainError(f"用户「{user.username}」不是跑手角色")
    if not 1 <= capacity <= 20:
        raise DomainError("同时承接的代办数须在 1 到 20 之间")
    runner = Runner(user_id=user.id, team_org_id=team.id, capacity=capacity,
                    qualifications=qualifications)
    db.add(runner)
    db.flush()
    audit.record(db, actor=actor, action="errand_runner.registered", object_type="errand_runner",
                 object_id=runner.id, changes={"user": user.username, "team": team.code,
                                               "capacity": capacity})
    return runner


@audit.action({"errand_runner.on_duty": "跑手上岗", "errand_runner.off_duty": "跑手下岗"})
def set_duty(db: Session, *, actor: Actor, runner: Runner, on_duty: bool) -> Runner:
    """A runner goes on or off duty (the runner, or a manager)."""
    if runner.user_id != actor.user_id and not actor.can_manage:
        raise PermissionDenied("只能切换自己的在岗状态")
    if runner.on_duty == on_duty:
        return runner
    runner.on_duty = on_duty
    db.flush()
    audit.record(db, actor=actor, action=f"errand_runner.{'on' if on_duty else 'off'}_duty",
                 object_type="errand_runner", object_id=runner.id,
                 changes={"on_duty": [not on_duty, on_duty]})
    return runner


def record_position(db: Session, *, actor: Actor, runner: Runner, lat: float, lng: float) -> None:
    """A position ping from the runner's page (bookkeeping, not audited)."""
    if runner.user_id != actor.user_id:
        raise PermissionDenied("只能上报自己的位置")
    runner.lat, runner.lng = _check_point(lat, lng)
    runner.position_at = utcnow()


def _check_point(lat: float, lng: float) -> tuple[float, float]:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise DomainError("位置的纬度或经度无效")
    return float(lat), float(lng)


RUNNERS = Listing(sorts={"id": ("编号", [Runner.id]), "rating": ("评分", [Runner.rating])},
                  key=Runner.id, search="编号")


def list_runners(db: Session, *, actor: Actor, params: ListParams) -> Page[Runner]:
    """The runners the actor may see: a runner itself, a liaison its org's teams, managers all."""
    org_service.require_area(actor, Area.errands)
    stmt = select(Runner)
    if actor.role is Role.runner:
        stmt = stmt.where(Runner.user_id == actor.user_id)
    else:
        stmt = stmt.where(Runner.team_org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if params.q:
        stmt = stmt.where(Runner.id == params.number)
    return paginate(db, stmt, params=params, order=RUNNERS.order(params, default=[Runner.id]))


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """What a requester asks for."""

    item_id: int
    contact_name: str
    phone: str
    lat: float
    lng: float
    address: str = ""
    preferred_window: str = ""
    note: str = ""
    authorised: bool = False


@dataclass(frozen=True)
class Submitted:
    errand: Errand
    tracking_token: str | None  # None for a repeat of an idempotent request
    created: bool


def _clean(text: str, limit: int) -> str:
    return " ".join(str(text).split())[:limit]


def _validate(db: Session, request: Request) -> tuple[ErrandItem, str, Org]:
    item = db.get(ErrandItem, request.item_id)
    if item is None or not item.is_active:
        raise DomainError("请选择代办事项")
    phone = re.sub(r"[\s-]", "", request.phone)
    if not _PHONE.fullmatch(phone):
        raise DomainError("请填写正确的联系电话")
    if not _clean(request.contact_name, 100):
        raise DomainError("请填写联系人")
    lat, lng = _check_point(request.lat, request.lng)
    return item, phone, zone_of(db, lat=lat, lng=lng)


def _token_hash(token: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"errand-track:" + token.encode(), hashlib.sha256).hexdigest()


@audit.action({"errand.submitted": "提交代办"})
def _create(db: Session, *, actor: Actor | Outsider, request: Request, channel: Channel,
            idempotency_key: str | None = None,
            request_hash: str | None = None) -> tuple[Errand, str]:
    item, phone, zone = _validate(db, request)
    token = secrets.token_urlsafe(24)
    now = utcnow()
    errand = Errand(
        item_id=item.id, zone_org_id=zone.id, channel=channel.value,
        contact_name=_clean(request.contact_name, 100), phone_cipher=privacy.protect(phone),
        phone_masked=privacy.mask_phone(phone), address=_clean(request.address, 300),
        pickup_lat=request.lat, pickup_lng=request.lng,
        preferred_window=_clean(request.preferred_window, 100), note=_clean(request.note, 500),
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


def limit_client(db: Session, client: str) -> None:
    """One hit on the public pages' per-minute limit of a client address; 429 over it."""
    hit = ratelimit.count_hit(db, key=f"errand-client:{ratelimit.client_key(client)}",
                              window=timedelta(minutes=1))
    if hit.over(get_settings().errand_rate_per_client):
        seconds = max(1, int((hit.resets_at - utcnow()).total_seconds()) + 1)
        raise ratelimit.RateLimited(f"提交过于频繁，请{seconds}秒后再试", retry_after=seconds)


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
        lat, lng = _check_point(request.lat, request.lng)
        org_service.ensure_visible(db, actor=actor, org=zone_of(db, lat=lat, lng=lng))
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


def track_path(token: str) -> str:
    return f"/errand/track/{token}"


def tracked(db: Session, *, token: str) -> Errand:
    """The errand of a tracking link; any unknown or malformed token is the same 404."""
    errand = None
    if _TOKEN.fullmatch(token):
        errand = db.scalar(select(Errand).where(Errand.tracking_hash == _token_hash(token)))
    if errand is None:
        raise NotFound("未找到该代办，请核对链接是否完整")
    return errand


# ---------------------------------------------------------------- reading


def _visible_stmt(db: Session, actor: Actor) -> Select[Errand]:
    org_service.require_area(actor, Area.errands)
    stmt = select(Errand)
    if actor.role is Role.runner:
        runner = runner_of(db, actor=actor)
        return stmt.where(Errand.runner_id == (runner.id if runner else -1))
    return stmt.where(Errand.zone_org_id.in_(org_service.visible_org_ids(db, actor=actor)))


def get_errand(db: Session, *, actor: Actor, errand_id: int) -> Errand:
    """An errand the actor may see: its own (runner), in the pool it may grab, or in scope."""
    errand = db.get(Errand, errand_id)
    if errand is None or not _sees(db, actor, errand):
        raise NotFound(f"未找到代办 #{errand_id}")
    return errand


def _sees(db: Session, actor: Actor, errand: Errand) -> bool:
    if Area.errands not in org_service.areas(actor):
        return False
    if actor.role is Role.runner:
        runner = runner_of(db, actor=actor)
        return runner is not None and (errand.runner_id == runner.id
                                       or not eligibility(db, runner=runner, errand=errand))
    return org_service.can_see(db, actor=actor, org=errand.zone)


ERRANDS = Listing(
    sorts={"id": ("编号", [Errand.id]), "submitted_at": ("提交时间", [Errand.submitted_at])},
    key=Errand.id, search="编号或地址中的文字")


def list_errands(db: Session, *, actor: Actor, state: ErrandState | None = None,
                 params: ListParams) -> Page[Errand]:
    """A page of the errands the actor may see, newest first."""
    stmt = _visible_stmt(db, actor)
    if state is not None:
        stmt = stmt.where(Errand.state == state.value)
    if params.q:
        stmt = stmt.where(or_(Errand.address.contains(params.q, autoescape=True),
                              Errand.id == params.number))
    return paginate(db, stmt, params=params,
                    order=ERRANDS.order(params, default=[Errand.submitted_at.desc(), Errand.id]))


def holder(errand: Errand) -> Holder:
    """Who holds the requester's documents now (the requester until a pickup)."""
    return Holder(errand.handovers[-1].to_kind) if errand.handovers else Holder.requester


# ---------------------------------------------------------------- eligibility and the pool


def eligibility(db: Session, *, runner: Runner, errand: Errand,
                modes: dict[int, ZoneMode] | None = None) -> str:
    """Why ``runner`` may not grab ``errand`` now ("" when it may): open, on duty, not
    suspended, a free slot, qualified, a known position within the radius."""
    state = ErrandState(errand.state)
    if state is not ErrandState.open:
        return f"代办当前为「{state.label}」，不能抢单"
    if not _grabbable(errand, zone_modes(db) if modes is None else modes):
        return "该代办正在智能派单，暂未进入抢单池"
    if runner.suspended:
        return "跑手已被暂停接单"
    if not runner.on_duty:
        return "跑手未在岗"
    if runner.active_count >= runner.capacity:
        return f"跑手已承接 {runner.active_count} 件，达到上限 {runner.capacity}"
    need = errand.item.qualification
    if need and need not in runner.qualification_set:
        return f"跑手不具备「{need}」资质"
    if runner.lat is None or runner.lng is None:
        return "跑手位置未知"
    radius = get_settings().errand_radius_km
    km = haversine_km(runner.lat, runner.lng, errand.pickup_lat, errand.pickup_lng)
    if km > radius + 1e-9:
        return f"距离 {km:.1f} 公里，超出 {radius:g} 公里的抢单范围"
    return ""


def _near(lat_col: object, lng_col: object, lat: float, lng: float, radius: float) -> object:
    """A bounding box around a point (an index-friendly prefilter of the haversine test)."""
    dlat = radius / KM_PER_DEGREE
    dlng = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 0.01)
    return and_(lat_col.between(lat - dlat, lat + dlat),  # type: ignore[attr-defined]
                lng_col.between(lng - dlng, lng + dlng))  # type: ignore[attr-defined]


def pool(db: Session, *, actor: Actor, runner: Runner) -> list[tuple[Errand, float]]:
    """The open errands ``runner`` may grab now, nearest first (at most :data:`POOL_LIMIT`)."""
    if not _sees_runner(db, actor, runner):
        raise NotFound(f"未找到跑手 #{runner.id}")
    if runner.lat is None or runner.lng is None:
        return []
    radius = get_settings().errand_radius_km
    stmt = select(Errand).where(Errand.state == ErrandState.open.value,
                                _near(Errand.pickup_lat, Errand.pickup_lng, runner.lat,  # type: ignore[arg-type]
                                      runner.lng, radius))
    modes = zone_modes(db)
    found = [(e, haversine_km(runner.lat, runner.lng, e.pickup_lat, e.pickup_lng))
             for e in db.scalars(stmt) if not eligibility(db, runner=runner, errand=e, modes=modes)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))[:POOL_LIMIT]


def eligible_runners(db: Session, *, actor: Actor, errand: Errand) -> list[tuple[Runner, float]]:
    """The runners who may grab ``errand`` now, nearest first (staff)."""
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能查看其他跑手")
    modes = zone_modes(db)
    radius = get_settings().errand_radius_km
    stmt = select(Runner).where(Runner.on_duty, ~Runner.suspended,
                                _near(Runner.lat, Runner.lng, errand.pickup_lat,  # type: ignore[arg-type]
                                      errand.pickup_lng, radius))
    found = [(r, haversine_km(r.lat or 0, r.lng or 0, errand.pickup_lat, errand.pickup_lng))
             for r in db.scalars(stmt)
             if not eligibility(db, runner=r, errand=errand, modes=modes)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))


# ---------------------------------------------------------------- grab


@dataclass(frozen=True)
class Grabbed:
    errand: Errand
    runner: Runner
    distance_km: float
    retry: bool  # the winner asking again: the same assignment, nothing changed


@audit.action({"errand.grab": "抢单"})
def grab(db: Session, *, actor: Actor, errand_id: int, runner_id: int) -> Grabbed:
    """The runner takes an open errand. The first valid grab wins exactly once: one
    conditional UPDATE of the errand (state open → accepted) and one of the runner's count
    (below capacity), in this order, in one transaction; any other contender gets
    :class:`Taken` and nothing changes; the winner's retry returns the same assignment.

    On SQLite the transaction began IMMEDIATE (one writer at a time); on PostgreSQL the
    errand's UPDATE holds its row lock, and a second contender's UPDATE re-reads the row
    after the first commits and finds it no longer open."""
    # read fresh (another contender may have just won), without the custody log
    errand = db.get(Errand, errand_id, populate_existing=True,
                    options=[lazyload(Errand.handovers)])
    runner = db.get(Runner, runner_id, populate_existing=True)
    if errand is None:
        raise NotFound(f"未找到代办 #{errand_id}")
    if runner is None:
        raise NotFound(f"未找到跑手 #{runner_id}")
    if runner.user_id != actor.user_id and not actor.can_manage:
        raise PermissionDenied("只能为自己抢单")
    if errand.runner_id == runner.id and ErrandState(errand.state) is not ErrandState.open:
        return _as_grabbed(errand, runner, retry=True)
    if errand.runner_id is not None:
        raise Taken(errand.id)
    why = eligibility(db, runner=runner, errand=errand)
    if why:
        raise NotEligible(why)
    now = utcnow()
    try:
        with db.begin_nested():
            won, slot = _take(db, errand=errand, runner=runner, now=now)
    except _NoSlot:
        won, slot = 1, 0
    db.refresh(errand, ["state", "runner_id", "accepted_at", "pickup_km", "runner"])
    db.refresh(runner, ["active_count"])
    if not won:
        if errand.runner_id == runner.id:
            return _as_grabbed(errand, runner, retry=True)
        raise Taken(errand.id)
    if not slot:
        raise NotEligible(f"跑手已达到同时承接上限 {runner.capacity}")
    audit.record(db, actor=actor, action="errand.grab", object_type="errand", object_id=errand.id,
                 changes={"state": ["open", "accepted"], "runner": runner.id})
    return _as_grabbed(errand, runner, retry=False)


def _changed(result: object) -> int:
    """The rows a conditional UPDATE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


class _NoSlot(Exception):
    """The errand was won but the runner has no free slot: the savepoint rolls both back."""


def _take(db: Session, *, errand: Errand, runner: Runner, now: datetime) -> tuple[int, int]:
    """The two conditional UPDATEs of a grab, errand first, then runner (the fixed lock order)."""
    won = _changed(db.execute(
        update(Errand)
        .where(Errand.id == errand.id, Errand.state == ErrandState.open.value,
               Errand.runner_id.is_(None))
        .values(state=ErrandState.accepted.value, runner_id=runner.id, accepted_at=now,
                pickup_km=_distance(runner, errand))
        .execution_options(synchronize_session=False)))
    if not won:
        return 0, 0
    slot = _changed(db.execute(
        update(Runner)
        .where(Runner.id == runner.id, Runner.active_count < Runner.capacity, Runner.on_duty,
               ~Runner.suspended)
        .values(active_count=Runner.active_count + 1)
        .execution_options(synchronize_session=False)))
    if not slot:
        raise _NoSlot
    return won, slot


def _distance(runner: Runner, errand: Errand) -> float | None:
    """How far (km) the runner stands from the errand's pickup point (None: position unknown)."""
    if runner.lat is None or runner.lng is None:
        return None
    return haversine_km(runner.lat, runner.lng, errand.pickup_lat, errand.pickup_lng)


def _as_grabbed(errand: Errand, runner: Runner, *, retry: bool) -> Grabbed:
    return Grabbed(errand, runner, _distance(runner, errand) or 0.0, retry)


# ---------------------------------------------------------------- the lifecycle


def _is_staff(db: Session, actor: Actor | Outsider, errand: Errand) -> bool:
    return isinstance(actor, Actor) and actor.role in (Role.admin, Role.analyst, Role.liaison) \
        and org_service.can_see(db, actor=actor, org=errand.zone)


def _check(db: Session, actor: Actor | Outsider, errand: Errand, action: ErrandAction) -> None:
    """Raise the refusal of ``action`` on ``errand`` by ``actor``, if any: the one check behind
    :func:`transition` and :func:`allowed_actions`."""
    allowed_from, _, who = TRANSITIONS[action]
    current = ErrandState(errand.state)
    if action is ErrandAction.grab:
        raise Conflict("抢单请用抢单按钮")
    if current not in allowed_from:
        raise Conflict(f"代办 #{errand.id} 当前为「{current.label}」，不能「{action.label}」")
    if who == "requester":
        if actor is not REQUESTER:
            raise PermissionDenied("只有申请人可以评价")
        return
    if action is ErrandAction.publish and actor is REQUESTER:
        return  # a request from the public page is published at once
    if action is ErrandAction.cancel and _is_channel(actor, errand):
        return  # the channel cancelled its order
    if who == "staff":
        if not _is_staff(db, actor, errand):
            raise PermissionDenied(f"只有所在区域的工作人员可以「{action.label}」")
        if action is ErrandAction.hand_to_channel:
            from tongban.errand import channels  # channels calls this module

            if not channels.configured():
                raise Conflict("未配置第三方跑腿渠道")
        return
    runner = errand.runner
    own = (isinstance(actor, Actor) and runner is not None and runner.user_id == actor.user_id) \
        or _is_channel(actor, errand)
    if not own:
        raise PermissionDenied(f"只有承接该代办的跑手可以「{action.label}」")
    if action is ErrandAction.pick_up and not errand.authorised:
        raise Conflict("申请人尚未授权（委托书），跑手不能取件")
    if action is ErrandAction.fail and holder(errand) is not Holder.requester:
        raise Conflict("办理失败前须先把材料交还申请人（登记交接）")


def require_action(db: Session, *, actor: Actor | Outsider, errand: Errand,
                   action: ErrandAction) -> None:
    """Refuse ``action`` on ``errand`` by ``actor`` as :func:`transition` would, changing
    nothing (for work that must happen before the step, such as a channel's order)."""
    _check(db, actor, errand, action)


def allowed_actions(db: Session, *, actor: Actor | Outsider,
                    errand: Errand) -> frozenset[ErrandAction]:
    """The steps ``actor`` may take on ``errand`` now (pages show exactly these buttons)."""
    return permitted([a for a in ErrandAction if a is not ErrandAction.grab],
                     lambda action: _check(db, actor, errand, action))


@audit.action({f"errand.{a.value}": a.label for a in ErrandAction if a is not ErrandAction.grab})
def transition(db: Session, *, actor: Actor | Outsider, errand: Errand, action: ErrandAction,
               reason: str = "", photo_ref: str = "", rating: int | None = None,
               offer_to: Runner | None = None,
               channel_order: tuple[PartnerChannel, str] | None = None,
               comment: str = "") -> Errand:
    """Move an errand one step, with its time, its custody hand-over and its audit entry;
    an illegal step is refused and changes nothing.

    ``channel_order`` is the channel and the partner's order id of a hand-over to a channel
    (``channels.hand_to_channel`` places the order first); staff cancelling an errand a
    channel runs cancel the partner's order too."""
    _check(db, actor, errand, action)
    _, target, _ = TRANSITIONS[action]
    current = ErrandState(errand.state)
    reason = _clean(reason, 500)
    photo = _own_photo(db, actor=actor, errand=errand, ref=photo_ref)
    if action in (ErrandAction.cancel, ErrandAction.fail) and not reason:
        raise DomainError(f"「{action.label}」须写明原因")
    if action is ErrandAction.rate and (rating is None or not 1 <= rating <= 5):
        raise DomainError("请选择 1 到 5 星的评价")
    comment = _clean(comment, 10_000)
    if len(comment) > get_settings().review_comment_max:
        raise DomainError(f"评价内容请不超过 {get_settings().review_comment_max} 字")
    if action is ErrandAction.offer:
        if offer_to is None:
            raise DomainError("派单须指定跑手")
        errand.runner_id = offer_to.id
        errand.pickup_km = _distance(offer_to, errand)
        db.add(Offer(errand_id=errand.id, runner_id=offer_to.id, offered_at=utcnow(),
                     by_dispatcher=actor is DISPATCHER, distance_km=errand.pickup_km))
        db.flush()
        db.refresh(errand)
    elif current is ErrandState.offered:
        _close_offer(db, errand, {ErrandAction.accept: OfferOutcome.accepted,
                                  ErrandAction.decline: OfferOutcome.declined}.get(
                                      action, OfferOutcome.withdrawn))
    changes: dict[str, object] = {"state": [current.value, target.value]}
    if action is ErrandAction.hand_to_channel:
        if channel_order is None:
            raise DomainError("转交第三方须指定渠道和订单号")
        errand.channel_code, errand.channel_order_id = channel_order[0].value, channel_order[1]
        changes.update(channel=errand.channel_code, order=errand.channel_order_id)
    if action is ErrandAction.cancel and errand.channel_code and not _is_channel(actor, errand):
        from tongban.errand import channels  # channels calls this module

        channels.cancel_order(errand=errand, reason=reason)
    runner = errand.runner
    if action is ErrandAction.accept and runner is not None:
        errand.pickup_km = _distance(runner, errand)
        slot = _changed(db.execute(update(Runner).where(Runner.id == runner.id,
                                               Runner.active_count < Runner.capacity)
                          .values(active_count=Runner.active_count + 1)
                          .execution_options(synchronize_session=False)))
        if not slot:
            raise NotEligible(f"跑手已达到同时承接上限 {runner.capacity}")
    if current.holds_runner and not target.holds_runner and runner is not None:
        db.execute(update(Runner).where(Runner.id == runner.id, Runner.active_count > 0)
                   .values(active_count=Runner.active_count - 1)
                   .execution_options(synchronize_session=False))
    if action is ErrandAction.decline:
        errand.runner_id = None
        if errand.channel_code:  # the channel refused the order: back to the pool
            changes.update(channel=[errand.channel_code, None])
            errand.channel_code = errand.channel_order_id = None
    if action in HANDOVERS:
        giver, taker = HANDOVERS[action]
        _hand_over(errand, giver, taker, actor, photo)
    if action is ErrandAction.rate:
        errand.rating = rating
    if reason:
        errand.reason = reason
    errand.state = target.value
    setattr(errand, f"{target.value}_at", utcnow())
    db.flush()
    if runner is not None:
        db.refresh(runner)
    audit.record(db, actor=actor, action=f"errand.{action.value}", object_type="errand",
                 object_id=errand.id, changes=changes, reason=reason)
    if action is ErrandAction.rate:
        to_review(db, errand=errand, comment=comment)
    return errand


def to_review(db: Session, *, errand: Errand, comment: str = "") -> int:
    """The rated errand's 好差评 review (channel 跑团) through the reviews service: its zone,
    item code, number, rating and the requester's comment; a 差评 opens its case.
    Idempotent; the review's id."""
    if errand.rating is None or errand.rated_at is None:
        raise Conflict(f"代办 #{errand.id} 尚未评价")
    phone = privacy.reveal(errand.phone_cipher) if errand.phone_cipher else ""
    return reviews.record_errand_rating(
        db, errand_id=errand.id, org=errand.zone, level=errand.rating, rated_at=errand.rated_at,
        item_code=errand.item.item_code, case_no=str(errand.id), phone=phone,
        comment=comment).id


def _name_of(errand: Errand, kind: Holder) -> str:
    if kind is Holder.runner and errand.channel_code:
        return PartnerChannel(errand.channel_code).label
    if kind is Holder.runner:
        return errand.runner.name if errand.runner else ""
    if kind is Holder.window:
        return f"{errand.item.hall}{errand.item.window}"
    return errand.contact_name


def _own_photo(db: Session, *, actor: Actor | Outsider, errand: Errand,
               ref: str) -> ErrandFile | None:
    """The photo a hand-over names (``file:<id>``): one uploaded for this errand by this very
    actor and not yet on another hand-over; refused otherwise (no pointing an errand at
    another errand's photo, nor a link at anything but a file)."""
    ref = ref.strip()
    if not ref:
        return None
    number = ref.removeprefix("file:")
    found = db.get(ErrandFile, int(number)) if ref.startswith("file:") and number.isdigit() \
        and len(number) <= 18 else None
    if found is None or found.errand_id != errand.id or found.kind != "photo" \
            or found.uploaded_by != actor.username or found.handover_id is not None:
        raise DomainError("照片引用无效：只能引用本代办中由您本人上传、尚未用于其他交接的照片"
                          "（file:编号）")
    return found


def _hand_over(errand: Errand, giver: Holder, taker: Holder, actor: Actor | Outsider,
               photo: ErrandFile | None) -> None:
    handover = Handover(
        from_kind=giver.value, from_name=_name_of(errand, giver), to_kind=taker.value,
        to_name=_name_of(errand, taker), at=utcnow(),
        photo_ref=f"file:{photo.id}" if photo else "", recorded_by=actor.username)
    errand.handovers.append(handover)
    if photo is not None:
        photo.handover = handover


@audit.action({"errand.documents_returned": "材料交还申请人"})
def return_documents(db: Session, *, actor: Actor | Outsider, errand: Errand,
                     photo_ref: str = "") -> Errand:
    """The runner (or the channel running the errand) hands the requester's documents back
    (before a failed errand closes)."""
    runner = errand.runner
    if not _is_channel(actor, errand) and (runner is None or runner.user_id != actor.user_id):
        raise PermissionDenied("只有承接该代办的跑手可以交还材料")
    held = holder(errand)
    if held is Holder.requester:
        raise Conflict("材料已在申请人手中")
    _hand_over(errand, held, Holder.requester, actor,
               _own_photo(db, actor=actor, errand=errand, ref=photo_ref))
    db.flush()
    audit.record(db, actor=actor, action="errand.documents_returned", object_type="errand",
                 object_id=errand.id, changes={"holder": [held.value, "requester"]})
    return errand


def rate_tracked(db: Session, *, token: str, rating: int, client: str = "",
                 comment: str = "") -> Errand:
    """The requester rates a delivered errand through the tracking link, with an optional
    comment that becomes the review's (rate-limited per client address like the request
    page)."""
    limit_client(db, client)
    return transition(db, actor=REQUESTER, errand=tracked(db, token=token),
                      action=ErrandAction.rate, rating=rating, comment=comment)


def _close_offer(db: Session, errand: Errand, outcome: OfferOutcome) -> None:
    """End the errand's pending offer with ``outcome``."""
    db.execute(update(Offer).where(Offer.errand_id == errand.id,
                                   Offer.outcome == OfferOutcome.pending.value)
               .values(outcome=outcome.value, closed_at=utcnow())
               .execution_options(synchronize_session=False))


@audit.action({"errand.offer_expired": "派单超时退回"})
def expire_offers(db: Session, *, actor: Actor, zone_org_id: int | None = None) -> int:
    """Offers not accepted within ``errand_offer_seconds`` go back to the open pool (by every
    dispatcher cycle for its zone, and by ``jobs run`` for all). Idempotent."""
    now = utcnow()
    cutoff = now - timedelta(seconds=get_settings().errand_offer_seconds)
    stmt = select(Errand).where(Errand.state == ErrandState.offered.value,
                                Errand.channel_code.is_(None), Errand.offered_at < cutoff)
    if zone_org_id is not None:
        stmt = stmt.where(Errand.zone_org_id == zone_org_id)
    stale = list(db.scalars(stmt))
    for errand in stale:
        runner = errand.runner_id
        _close_offer(db, errand, OfferOutcome.expired)
        errand.state, errand.runner_id, errand.open_at = ErrandState.open.value, None, now
        db.flush()
        audit.record(db, actor=actor, action="errand.offer_expired", object_type="errand",
                     object_id=errand.id, changes={"state": ["offered", "open"], "runner": runner})
    return len(stale)


# ---------------------------------------------------------------- the dispatcher console


@dataclass(frozen=True)
class ConsoleZone:
    org_id: int
    name: str
    lat: float
    lng: float
    mode: ZoneMode


@dataclass(frozen=True)
class Kpis:
    """The console's figures over its window, with their counts."""

    submitted: int
    answered: int  # accepted within TONGBAN_ERRAND_ANSWER_MINUTES of submission
    due: int
    ontime: int
    picked: int  # taken, with the runner's distance known
    pickup_km_total: float
    loads: tuple[int, ...]  # errands held by each runner on duty

    @property
    def mean_pickup_km(self) -> float | None:
        return self.pickup_km_total / self.picked if self.picked else None

    @property
    def load_gini(self) -> float:
        return gini(self.loads)


@dataclass(frozen=True)
class Console:
    zones: list[ConsoleZone]
    runners: list[Runner]
    queue: list[Errand]  # open and offered, oldest first
    kpis: Kpis
    days: int


def console(db: Session, *, actor: Actor, days: int = 7) -> Console:
    """What the dispatcher console shows to staff: the zones (seats and modes) they see, the
    runners of those zones' teams, the waiting errands and the KPIs of the last ``days``."""
    org_service.require_area(actor, Area.errands)
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能查看调度台")
    visible = set(db.scalars(select(Org.id).where(org_service.scope_condition(db, actor=actor))))
    modes = zone_modes(db)
    zones = [ConsoleZone(z.org_id, z.org.name, z.seat_lat, z.seat_lng, modes[z.org_id])
             for z in db.scalars(select(ErrandZone).join(Org, Org.id == ErrandZone.org_id)
                                 .order_by(Org.code, Org.id)) if z.org_id in visible]
    zone_ids = [z.org_id for z in zones]
    runners = list(db.scalars(select(Runner).where(Runner.team_org_id.in_(visible))
                              .order_by(Runner.id)))
    queue = list(db.scalars(select(Errand).where(
        Errand.zone_org_id.in_(zone_ids),
        Errand.state.in_([ErrandState.open.value, ErrandState.offered.value]))
        .order_by(Errand.submitted_at, Errand.id)))
    now = utcnow()
    since = now - timedelta(days=days)
    figures = metrics.figures_by_zone(db, since=since, until=now + timedelta(seconds=1), now=now)
    total = {key: sum(int(f.get(key, 0)) for z, f in figures.items() if z in zone_ids)
             for key in ("errands", "errands_answered", "errands_due", "errands_ontime")}
    picked = db.execute(select(func.count(Errand.pickup_km), func.sum(Errand.pickup_km)).where(
        Errand.zone_org_id.in_(zone_ids), Errand.accepted_at >= since,
        Errand.pickup_km.is_not(None))).one()
    kpis = Kpis(submitted=total["errands"], answered=total["errands_answered"],
                due=total["errands_due"], ontime=total["errands_ontime"],
                picked=int(picked[0] or 0), pickup_km_total=float(picked[1] or 0.0),
                loads=tuple(r.active_count for r in runners if r.on_duty and not r.suspended))
    return Console(zones=zones, runners=runners, queue=queue, kpis=kpis, days=days)


# ---------------------------------------------------------------- the dispatcher's writes

#: Who the live dispatcher's offers are audited under.
DISPATCHER = Actor(user_id=None, username="dispatcher", role=Role.admin, display_name="智能派单")


def dispatchable(db: Session, *, zone_org_id: int) -> list[Errand]:
    """The open errands of a zone, oldest first (a cycle's rows)."""
    return list(db.scalars(select(Errand).where(
        Errand.zone_org_id == zone_org_id, Errand.state == ErrandState.open.value)
        .order_by(Errand.submitted_at, Errand.id)))


def available_runners(db: Session, *, near: list[Errand], now: datetime) -> list[Runner]:
    """Runners the dispatcher may offer to now: on duty, not suspended, a slot free after
    their pending offers, a position fresher than ``errand_position_max_age_seconds``, inside
    the box of ``near`` widened by the radius."""
    if not near:
        return []
    settings = get_settings()
    fresh = now - timedelta(seconds=settings.errand_position_max_age_seconds)
    lats = [e.pickup_lat for e in near]
    lngs = [e.pickup_lng for e in near]
    box = _near(Runner.lat, Runner.lng, (min(lats) + max(lats)) / 2, (min(lngs) + max(lngs)) / 2,
                settings.errand_radius_km + haversine_km(min(lats), min(lngs), max(lats),
                                                         max(lngs)) / 2)
    runners = list(db.scalars(select(Runner).where(
        Runner.on_duty, ~Runner.suspended, Runner.active_count < Runner.capacity,
        Runner.position_at >= fresh, box)))  # type: ignore[arg-type]
    held = pending_offers(db, runner_ids=[r.id for r in runners]) if runners else {}
    return [r for r in runners if r.active_count + held.get(r.id, 0) < r.capacity]


def pending_offers(db: Session, *, runner_ids: list[int]) -> dict[int, int]:
    """Runner id → offers it has not yet answered."""
    return {rid: int(n) for rid, n in db.execute(
        select(Offer.runner_id, func.count()).where(
            Offer.outcome == OfferOutcome.pending.value, Offer.runner_id.in_(runner_ids))
        .group_by(Offer.runner_id))}


def recent_declines(db: Session, *, runner_ids: list[int], now: datetime) -> dict[int, int]:
    """Runner id → offers it declined or let expire within ``errand_decline_hours``."""
    since = now - timedelta(hours=get_settings().errand_decline_hours)
    return {rid: int(n) for rid, n in db.execute(
        select(Offer.runner_id, func.count()).where(
            Offer.runner_id.in_(runner_ids), Offer.offered_at >= since,
            Offer.outcome.in_([OfferOutcome.declined.value, OfferOutcome.expired.value]))
        .group_by(Offer.runner_id))}


def refused_pairs(db: Session, *, errand_ids: list[int]) -> set[tuple[int, int]]:
    """(errand id, runner id) of offers declined or let expire: not offered again."""
    return {(e, r) for e, r in db.execute(select(Offer.errand_id, Offer.runner_id).where(
        Offer.errand_id.in_(errand_ids),
        Offer.outcome.in_([OfferOutcome.declined.value, OfferOutcome.expired.value])))}


def dispatch_offer(db: Session, *, errand: Errand, runner: Runner, cost: float) -> Errand:
    """The dispatcher offers ``errand`` to ``runner`` (audited as 派单 by 智能派单); the
    offer keeps the cost it was chosen at."""
    transition(db, actor=DISPATCHER, errand=errand, action=ErrandAction.offer, offer_to=runner)
    db.execute(update(Offer).where(Offer.errand_id == errand.id,
                                   Offer.outcome == OfferOutcome.pending.value)
               .values(cost=round(cost, 3)).execution_options(synchronize_session=False))
    offered = errand.offered_at.isoformat() if errand.offered_at else ""
    notify.notify(db, recipients=org_service.recipients([runner.user]), key=(
        f"errand:{errand.id}:offer:{offered}"), message=notify.Message(
            "info", f"新派单：代办 #{errand.id}",
            f"{errand.item.name}，请在 {get_settings().errand_offer_seconds} 秒内接单。",
            "/errands/runner"))
    return errand


def note_unassigned(db: Session, *, errands: list[Errand], mode: ZoneMode,
                    now: datetime) -> int:
    """Count a cycle on each errand left unassigned (bookkeeping, not audited); in a
    dispatch-only zone an errand reaching ``errand_pool_after_cycles`` opens to grabs (once,
    audited). How many opened."""
    after = get_settings().errand_pool_after_cycles
    opened = 0
    for errand in errands:
        errand.dispatch_cycles += 1
        if mode is ZoneMode.dispatch and errand.pooled_at is None \
                and errand.dispatch_cycles >= after:
            _open_to_grabs(db, errand=errand, now=now)
            opened += 1
    db.flush()
    return opened


@audit.action({"errand.pooled": "转入抢单池"})
def _open_to_grabs(db: Session, *, errand: Errand, now: datetime) -> None:
    errand.pooled_at = now
    db.flush()
    audit.record(db, actor=DISPATCHER, action="errand.pooled", object_type="errand",
                 object_id=errand.id, changes={"dispatch_cycles": errand.dispatch_cycles})


def escalate_overdue(db: Session, *, now: datetime | None = None) -> int:
    """Tell the zone's liaisons and the errand's runner of each errand past its due time and
    not yet done (once per errand and person); how many errands were escalated for the first
    time."""
    now = now or utcnow()
    late = db.scalars(select(Errand).where(Errand.state.in_([s.value for s in ErrandState if s.sla_running]),
                                           Errand.due_at < now).order_by(Errand.id))
    escalated = 0
    for errand in late:
        people = org_service.people_of(db, org=errand.zone, roles={Role.liaison})
        if errand.runner is not None:
            people.append(errand.runner.user)
        due = errand.due_at.astimezone(local_zone()) if errand.due_at else now
        message = notify.Message(
            "escalation", f"督办：代办 #{errand.id} 已超过办理时限",
            f"{errand.zone.name}「{errand.item.name}」应于{due:%m月%d日%H:%M}前办结，"
            f"当前为「{errand.state_label}」。", f"/errands?q={errand.id}")
        if notify.notify(db, recipients=org_service.recipients(people), message=message,
                         key=f"errand:{errand.id}:overdue"):
            escalated += 1
    return escalated


# ---------------------------------------------------------------- personal data keys


@audit.action({"errand.keys_rotated": "轮换代办电话的加密密钥"})
def rotate_personal_data(db: Session, *, actor: Actor, batch: int = 5000) -> int:
    """Encrypt every requester's phone again with the newest data key (``tongban keys
    rotate``); refuses, changing nothing, when any cannot be decrypted."""
    org_service.require_manager(actor, "更换数据密钥")
    done, last_id = 0, 0
    while True:
        rows = db.execute(select(Errand.id, Errand.phone_cipher).where(
            Errand.id > last_id, Errand.phone_cipher != "").order_by(Errand.id).limit(batch)).all()
        if not rows:
            break
        db.execute(update(Errand), [{"id": rid, "phone_cipher": privacy.rotate(cipher)}
                                    for rid, cipher in rows])
        done += len(rows)
        last_id = rows[-1][0]
    if done:
        audit.record(db, actor=actor, action="errand.keys_rotated", object_type="errand",
                     object_id="phone_cipher", changes={"rotated": done})
    return done


def unreadable_personal_data(db: Session, *, sample: int = 50) -> int:
    """How many of the newest requesters' phones no configured key opens."""
    ciphers = db.scalars(select(Errand.phone_cipher).where(Errand.phone_cipher != "")
                         .order_by(Errand.id.desc()).limit(sample)).all()
    return sum(1 for c in ciphers if not privacy.readable(c))
