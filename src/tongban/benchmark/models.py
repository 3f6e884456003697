"""Tables of 对标: dated catalog snapshots per city, their items and materials, the
alignment groups across cities and the suggestions for a city."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.org.models import Org


class CatalogSnapshot(Base):
    """One city's catalog as imported on a date; ``content_hash`` is the hash of its rows, so
    importing the same content again finds this snapshot instead of making a new one."""

    __tablename__ = "benchmark_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    material_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    org: Mapped[Org] = relationship(lazy="joined")


class SnapshotItem(Base):
    """One item of a city's snapshot with the attributes 对标 compares. ``key`` names the row
    within its city across snapshots (its 实施编码, else ``name:`` and its name); ``align_code``
    is its 基本编码 (given, or derived from the 实施编码; "" without codes)."""

    __tablename__ = "benchmark_item"
    __table_args__ = (UniqueConstraint("snapshot_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("benchmark_snapshot.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(320))
    base_code: Mapped[str] = mapped_column(String(100), default="")
    impl_code: Mapped[str] = mapped_column(String(100), default="")
    align_code: Mapped[str] = mapped_column(String(100), default="", index=True)
    name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(100), default="")
    item_type: Mapped[str] = mapped_column(String(4), default="")
    legal_days: Mapped[float | None] = mapped_column(Float)
    promised_days: Mapped[float | None] = mapped_column(Float)
    steps: Mapped[int | None] = mapped_column(Integer)
    procedure: Mapped[str] = mapped_column(String(500), default="")
    visits: Mapped[int | None] = mapped_column(Integer)
    fee: Mapped[str] = mapped_column(String(100), default="")
    # the guide's other elements (optional columns), read by the 办事指南体检
    basis: Mapped[str] = mapped_column(Text, default="", server_default="")
    conditions: Mapped[str] = mapped_column(Text, default="", server_default="")
    place: Mapped[str] = mapped_column(String(300), default="", server_default="")
    hours: Mapped[str] = mapped_column(String(200), default="", server_default="")
    consult_phone: Mapped[str] = mapped_column(String(100), default="", server_default="")
    supervise_phone: Mapped[str] = mapped_column(String(100), default="", server_default="")
    result_name: Mapped[str] = mapped_column(String(300), default="", server_default="")

    materials: Mapped[list[SnapshotMaterial]] = relationship(
        lazy="selectin", order_by="SnapshotMaterial.id", cascade="all, delete-orphan")


class SnapshotMaterial(Base):
    """One material an item of a snapshot asks for."""

    __tablename__ = "benchmark_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("benchmark_item.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    form: Mapped[str] = mapped_column(String(20), default="")
    copies: Mapped[int | None] = mapped_column(Integer)
    requirement: Mapped[str] = mapped_column(String(16))


class AlignmentGroup(Base):
    """One item across cities. ``key`` is how the matcher finds the group again on a rerun
    (``code:<基本编码>:<normalised name>`` or ``name:<normalised name>``; an analyst's split
    makes ``split:<n>``)."""

    __tablename__ = "benchmark_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    base_code: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[AlignmentMember]] = relationship(
        lazy="selectin", back_populates="group", order_by="AlignmentMember.id")


class AlignmentMember(Base):
    """A city's row in a group, by the row's ``key`` so that it outlives snapshots; one city's
    row sits in one group at most. ``confirmed`` members are an analyst's decision, which
    reruns of the matcher keep."""

    __tablename__ = "benchmark_member"
    __table_args__ = (UniqueConstraint("org_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("benchmark_group.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(100), default="")
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[AlignmentGroup] = relationship(back_populates="members")
    org: Mapped[Org] = relationship(lazy="joined")


class Suggestion(Base):
    """A suggestion to a city for one item group, keyed by (city, group, kind, material) so
    that a rerun updates it. ``dept_org`` is the org its 实施部门 maps to (None: unmapped)."""

    __tablename__ = "benchmark_suggestion"
    __table_args__ = (UniqueConstraint("org_id", "group_id", "kind", "material"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("benchmark_group.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    material: Mapped[str] = mapped_column(String(300), default="")
    item_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(100), default="")
    dept_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    detail: Mapped[str] = mapped_column(String(2000))
    cities: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the answer workflow: issued on, due N working days later; the department's answer
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("benchmark_snapshot.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    planned_on: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[str] = mapped_column(Text, default="")
    implemented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("benchmark_snapshot.id"))

    group: Mapped[AlignmentGroup] = relationship(lazy="joined")


class Frontier(Base):
    """The frontier of one set of latest snapshots under one state of the alignment (``key``,
    see ``service.frontier_key``): stored when the alignment changes, so that a reader loads it
    instead of recomputing it from every city's items and materials."""

    __tablename__ = "benchmark_frontier"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FrontierOffer(Base):
    """One city's offer of one group in a stored frontier: the item as readers show it, its
    values per dimension and its required materials. The ids are plain numbers (no foreign
    keys): alignment may delete a member or group a stale frontier names; a frontier naming a
    group or city that is gone is recomputed."""

    __tablename__ = "benchmark_frontier_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    frontier_id: Mapped[int] = mapped_column(
        ForeignKey("benchmark_frontier.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(Integer)
    # the item as readers show it: its snapshot row, name, department and procedure
    item_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(100), default="")
    procedure: Mapped[str] = mapped_column(String(500), default="")
    promised_days: Mapped[float | None] = mapped_column(Float)
    steps: Mapped[float | None] = mapped_column(Float)
    visits: Mapped[float | None] = mapped_column(Float)
    materials: Mapped[float | None] = mapped_column(Float)
    has_materials: Mapped[bool] = mapped_column(Boolean, default=True)
    # normalised material name → as written, for the required ones
    required: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class ListMaterial(Base):
    """A material of the province's 实施清单 for one of a city's items (``item``: its 实施编码
    or name as written). A city's list is replaced as a whole by its next import."""

    __tablename__ = "benchmark_list_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    item: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300))
    form: Mapped[str] = mapped_column(String(20), default="")
    copies: Mapped[int | None] = mapped_column(Integer)
    requirement: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
