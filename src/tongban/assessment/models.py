"""Tables of schemes, metric values, adjustments, score sheets and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
from tongban.org.models import Cohort, Org


class Scheme(Base):
    """One immutable version of a scheme (考核方案): its YAML, parsed content and hash."""

    __tablename__ = "scheme"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(100), default="")
    effective_from: Mapped[str] = mapped_column(String(7))
    effective_to: Mapped[str | None] = mapped_column(String(7))
    cohorts: Mapped[list[str]] = mapped_column(JSON)
    total_points: Mapped[float] = mapped_column(Float)
    indicator_count: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_yaml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MetricValue(Base):
    """One measured number: (period, org, metric) → value, with where it came from."""

    __tablename__ = "metric_value"
    __table_args__ = (
        UniqueConstraint("period", "org_id", "metric"),
        Index("ix_metric_value_period_metric", "period", "metric"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200), default="")
    evidence: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Adjustment(Base):
    """One 加分/扣分 event with its reason and the source that caused it.

    ``points`` is signed (−2.6 is a deduction). ``key`` makes feeders idempotent: a feeder that
    records the same event twice (a re-imported sheet, a rerun job) finds it by its key.
    """

    __tablename__ = "adjustment"
    __table_args__ = (Index("ix_adjustment_period_org", "period", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    scheme_code: Mapped[str | None] = mapped_column(String(64))
    indicator_code: Mapped[str | None] = mapped_column(String(32))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(64), default="manual")
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    source_url: Mapped[str] = mapped_column(String(500), default="")
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str] = mapped_column(String(500), default="")

    org: Mapped[Org] = relationship(lazy="joined")


class ScoreSheet(Base):
    """One scheme version applied to one cohort for one period; drafts recompute, published
    sheets are frozen with a hash, and a correction is a new revision with a reason."""

    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("scheme_code", "cohort_id", "period", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    scheme_code: Mapped[str] = mapped_column(String(64))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    correction_reason: Mapped[str] = mapped_column(String(500), default="")
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)

    scheme: Mapped[Scheme] = relationship(lazy="joined")
    cohort: Mapped[Cohort] = relationship(lazy="joined")
    lines: Mapped[list[ScoreLine]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", order_by="ScoreLine.position"
    )


class ScoreLine(Base):
    """One org's result on a sheet: total, rank, grade and every indicator's explained points.

    ``items`` maps indicator code → its points, either a bare number (the rule ran on inputs
    that were all present; they are the org's metric values, kept once under ``_inputs``) or
    the whole result {points, inputs, flag, detail, excluded, error}; ``_notes`` holds notes
    on the total. Read an item through ``service.line_item``. ``adjustments`` lists the
    adjustments applied, as they were when the sheet was computed.
    """

    __tablename__ = "score_line"
    __table_args__ = (UniqueConstraint("sheet_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    indicator_total: Mapped[float] = mapped_column(Float)
    adjustment_total: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(8))
    leading: Mapped[bool] = mapped_column(Boolean, default=False)
    items: Mapped[dict[str, Any]] = mapped_column(JSON)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="lines")
    org: Mapped[Org] = relationship(lazy="joined")


class ImportBatch(Base):
    """One imported file: what it held, what it changed, and what disagreed."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    cohort_code: Mapped[str] = mapped_column(String(64), default="")
    periods: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportedMetric(Base):
    """A data item no feeder declares (the province's own 数据项): declared by the file that
    first brought it, or by a scheme that expects it from files (its ``data_items``); kept
    apart from the feeders' declarations (``assessment.metrics``)."""

    __tablename__ = "imported_metric"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
