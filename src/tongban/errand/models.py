"""Tables of 跑团代办: errand items, zones, runners, errands and the custody log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.errand.enums import ErrandState
from tongban.org.models import Org, User


class ErrandItem(Base):
    """A service item the 跑团 runs on someone's behalf (代办事项), published in a batch.

    ``item_code`` is the item's code in the city's catalog; the SLA is in working hours or in
    working days (one of them); ``qualification`` is what a runner must hold ("" for none).
    """

    __tablename__ = "errand_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(50), default="")
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    documents: Mapped[str] = mapped_column(Text, default="")  # one document a line
    hall: Mapped[str] = mapped_column(String(200), default="")
    window: Mapped[str] = mapped_column(String(100), default="")
    sla_hours: Mapped[int | None] = mapped_column(Integer)
    sla_days: Mapped[int | None] = mapped_column(Integer)
    qualification: Mapped[str] = mapped_column(String(50), default="")
    batch: Mapped[int] = mapped_column(Integer, default=1)
    published_on: Mapped[date] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("item_code", "batch"),)

    @property
    def document_list(self) -> list[str]:
        return [line.strip() for line in self.documents.splitlines() if line.strip()]


class ErrandZone(Base):
    """A county-level org that takes errands, with its seat: a pickup point belongs to the
    zone of the nearest seat."""

    __tablename__ = "errand_zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), unique=True)
    seat_lat: Mapped[float] = mapped_column(Float)
    seat_lng: Mapped[float] = mapped_column(Float)
    #: How the zone's errands find runners (``dispatch``, ``grab``, ``both``); None for the
    #: setting ``TONGBAN_ERRAND_MODE``.
    mode: Mapped[str | None] = mapped_column(String(8))

    org: Mapped[Org] = relationship(lazy="joined")


class Runner(Base):
    """A 跑手: a user of the runner role in a team (an org), with qualifications, duty,
    capacity (concurrent errands) and the number now held, last position and rating.

    ``active_count`` changes only together with an errand's state (grab, accept, the end of
    an errand), in the same transaction, so it never exceeds ``capacity``."""

    __tablename__ = "errand_runner"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    team_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    qualifications: Mapped[str] = mapped_column(String(300), default="")  # comma separated
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    active_count: Mapped[int] = mapped_column(Integer, default=0)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[float] = mapped_column(Float, default=5.0)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    team: Mapped[Org] = relationship(lazy="joined")

    @property
    def qualification_set(self) -> frozenset[str]:
        return frozenset(q.strip() for q in self.qualifications.split(",") if q.strip())

    @property
    def name(self) -> str:
        return self.user.display_name or self.user.username


class Errand(Base):
    """A request to run a service on someone's behalf, from submission to its rating.

    The requester's phone is encrypted (``phone_cipher``) and shown only as ``phone_masked``;
    the tracking link's token is kept only as a keyed hash. ``idempotency_key`` (the API
    caller's user id and its Idempotency-Key) makes a third party's retry return the same
    errand. Each state has its time column; ``due_at`` is the SLA's end."""

    __tablename__ = "errand"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("errand_item.id"), index=True)
    zone_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="page")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    phone_cipher: Mapped[str] = mapped_column(String(200), default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    pickup_lat: Mapped[float] = mapped_column(Float)
    pickup_lng: Mapped[float] = mapped_column(Float)
    #: The 乡镇(街道) a request without a point was placed in (its code); the pickup point is
    #: then only an estimate (the county's seat) and the address says where to go.
    town_code: Mapped[str] = mapped_column(String(12), default="", server_default="")
    preferred_window: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    authorised: Mapped[bool] = mapped_column(Boolean, default=False)
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), index=True, default="submitted")
    reason: Mapped[str] = mapped_column(String(500), default="")
    runner_id: Mapped[int | None] = mapped_column(ForeignKey("errand_runner.id"), index=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    #: A keyed hash of what the Idempotency-Key was first sent with: the same key with
    #: another request is refused, not answered with this errand.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    tracking_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    open_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    at_window_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the item's SLA runs out (working hours inside the halls' opening hours, or
    #: working days), fixed at submission; None for an item without an SLA.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: Dispatcher cycles the errand went through open and unassigned.
    dispatch_cycles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When a dispatch-only zone opened the errand to grabs (after N cycles).
    pooled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: How far (km) the runner who took the errand stood from its pickup point then.
    pickup_km: Mapped[float | None] = mapped_column(Float)
    #: The third-party channel (美团/饿了么/邮政 跑腿) the errand was handed to, and the
    #: partner's order id there; None while the 跑团's own runners run it.
    channel_code: Mapped[str | None] = mapped_column(String(16))
    channel_order_id: Mapped[str | None] = mapped_column(String(100))

    item: Mapped[ErrandItem] = relationship(lazy="joined")
    zone: Mapped[Org] = relationship(lazy="joined")
    runner: Mapped[Runner | None] = relationship(lazy="joined")
    handovers: Mapped[list[Handover]] = relationship(
        lazy="selectin", order_by="Handover.id", back_populates="errand")

    __table_args__ = (Index("ix_errand_state_zone", "state", "zone_org_id"),
                      UniqueConstraint("channel_code", "channel_order_id"))

    @property
    def state_label(self) -> str:
        return ErrandState(self.state).label

    @property
    def overdue(self) -> bool:
        """Past its due time and not yet done."""
        return self.due_at is not None and ErrandState(self.state).sla_running \
            and self.due_at < utcnow()


class Handover(Base):
    """One hand-over of a requester's documents (requester → runner → window → runner →
    requester), with its time, a photo reference and both parties, so it is always known who
    holds a citizen's papers."""

    __tablename__ = "errand_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    errand_id: Mapped[int] = mapped_column(ForeignKey("errand.id"), index=True)
    from_kind: Mapped[str] = mapped_column(String(16))
    from_name: Mapped[str] = mapped_column(String(100), default="")
    to_kind: Mapped[str] = mapped_column(String(16))
    to_name: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    photo_ref: Mapped[str] = mapped_column(String(300), default="")
    recorded_by: Mapped[str] = mapped_column(String(64), default="")

    errand: Mapped[Errand] = relationship(back_populates="handovers")


class Offer(Base):
    """One offer (派单) of an errand to a runner, by the dispatcher or by staff, and how it
    ended: accepted, declined, expired (not accepted in time) or withdrawn (the errand was
    cancelled). Declined and expired offers weigh on the runner's cost for a while and keep
    the errand from being offered to that runner again."""

    __tablename__ = "errand_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    errand_id: Mapped[int] = mapped_column(ForeignKey("errand.id"), index=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("errand_runner.id"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_dispatcher: Mapped[bool] = mapped_column(Boolean, default=False)
    distance_km: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(12), default="pending")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_errand_offer_runner_outcome", "runner_id", "outcome"),)


class ChannelEvent(Base):
    """A status callback a third-party channel sent, kept by its event id so that a replay of
    the same event changes nothing (only callbacks with a valid signature are stored)."""

    __tablename__ = "errand_channel_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_code: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(100))
    errand_id: Mapped[int] = mapped_column(ForeignKey("errand.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("channel_code", "event_id"),)


class PostOffice(Base):
    """A post office (邮政网点) of a county that may offer government services (政务服务+邮政):
    its upgrade status and date, and the departments and catalog items it offers (one a line).
    ``code`` is the outlet's code, the key of an idempotent import."""

    __tablename__ = "errand_post_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    county_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    upgraded: Mapped[bool] = mapped_column(Boolean, default=False)
    upgraded_on: Mapped[date | None] = mapped_column(Date)
    departments: Mapped[str] = mapped_column(Text, default="")  # one department a line
    item_codes: Mapped[str] = mapped_column(Text, default="")  # one catalog item code a line

    county: Mapped[Org] = relationship(lazy="joined")

    @property
    def department_list(self) -> list[str]:
        return [line for line in self.departments.splitlines() if line]

    @property
    def item_code_list(self) -> list[str]:
        return [line for line in self.item_codes.splitlines() if line]


class ErrandFile(Base):
    """A file of an errand kept in the upload directory: a hand-over's photo (``handover_id``)
    or the requester's 委托书 (a signature drawn on the phone page). Served only to those who
    may see the errand."""

    __tablename__ = "errand_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    errand_id: Mapped[int] = mapped_column(ForeignKey("errand.id"), index=True)
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("errand_handover.id"))
    kind: Mapped[str] = mapped_column(String(16))  # photo / authorisation
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    handover: Mapped[Handover | None] = relationship()


class RunnerSuspension(Base):
    """One suspension of a runner (暂停接单): why, by whom (a manager, or the automatic rule),
    and when it was lifted (恢复接单) with the reason. ``Runner.suspended`` is the current
    state; this is its history."""

    __tablename__ = "errand_runner_suspension"

    id: Mapped[int] = mapped_column(primary_key=True)
    runner_id: Mapped[int] = mapped_column(ForeignKey("errand_runner.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_reason: Mapped[str] = mapped_column(String(300), default="")
    lifted_by: Mapped[str] = mapped_column(String(64), default="")
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
