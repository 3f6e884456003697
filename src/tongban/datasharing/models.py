"""Tables of 数据开放共享: the catalog of each department's datasets and their fields, every
delivery with what its checks found, the exchange platform's use counts, and the cascade of
each dataset to the provincial platform with a log of every attempt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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


class Dataset(Base):
    """One entry of the 数据资源目录: a department's dataset with its update frequency, share and
    open types, the business it serves and whether it is key data (重点数据)."""

    __tablename__ = "data_dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    frequency: Mapped[str] = mapped_column(String(10))
    share_type: Mapped[str] = mapped_column(String(16))
    open_type: Mapped[str] = mapped_column(String(16))
    business: Mapped[str] = mapped_column(String(300), default="")
    key_data: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Where the department publishes the dataset for the jobs to pull: an http(s) address of
    #: a CSV or XLSX file, or a database's address (its password kept here) and ``pull_table``.
    pull_url: Mapped[str] = mapped_column(String(500), default="")
    pull_table: Mapped[str] = mapped_column(String(128), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Org] = relationship(lazy="joined")
    fields: Mapped[list[DatasetField]] = relationship(
        back_populates="dataset", order_by="DatasetField.position",
        cascade="all, delete-orphan")


class DatasetField(Base):
    """A field of a dataset: its type, whether it is required, its format (统一社会信用代码,
    身份证号 …) and whether it is (part of) the primary key."""

    __tablename__ = "data_field"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("data_dataset.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(10))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    format: Mapped[str] = mapped_column(String(16), default="")
    primary_key: Mapped[bool] = mapped_column(Boolean, default=False)

    dataset: Mapped[Dataset] = relationship(back_populates="fields")


class Delivery(Base):
    """One delivery of a dataset (an upload, or a pull from where the department publishes it)
    with what its checks found: rows, invalid and missing cells per field, repeated primary
    keys, the first bad rows (personal numbers masked) and the delivery's validity score."""

    __tablename__ = "data_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("data_dataset.id"), index=True)
    delivered_on: Mapped[date] = mapped_column(Date, index=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    cells: Mapped[int] = mapped_column(Integer)
    invalid_cells: Mapped[int] = mapped_column(Integer)
    missing_required: Mapped[int] = mapped_column(Integer)
    duplicate_keys: Mapped[int] = mapped_column(Integer)
    field_counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    delivered_by: Mapped[str] = mapped_column(String(64), default="")

    dataset: Mapped[Dataset] = relationship(lazy="joined")


class DatasetUse(Base):
    """How often a dataset was called and downloaded on the exchange platform in a month (from
    the platform's logs, imported)."""

    __tablename__ = "data_use"
    __table_args__ = (UniqueConstraint("dataset_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("data_dataset.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    calls: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0)


class CascadeState(Base):
    """Where a dataset stands with the provincial platform: registered (under which standard),
    its last successful push, the failures in a row since, and the last reason."""

    __tablename__ = "data_cascade"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("data_dataset.id"), primary_key=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    standard: Mapped[str] = mapped_column(String(16), default="")
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("data_delivery.id"))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dataset: Mapped[Dataset] = relationship(lazy="joined")


class CascadeAttempt(Base):
    """One call to the provincial platform (a registration or a push) and its answer."""

    __tablename__ = "data_cascade_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("data_dataset.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("data_delivery.id"))
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int | None] = mapped_column(Integer)
    standard: Mapped[str] = mapped_column(String(16), default="")
    idempotency_key: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(Text, default="")
