"""Tables of the report archive: each generated report and its files with their hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow


class Report(Base):
    """One generated 周通报 / 月考评 / 季调度, archived.

    ``content_key`` hashes what the report says (not the file bytes, which carry creation
    times), so generating the same report from unchanged data reuses the archived one, with
    its 文号: ``number`` counts per kind and year (``number_year``), unique under concurrency
    by the constraint; ``doc_number`` is the 文号 as printed (巴政数〔2026〕12号).
    """

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("kind", "number_year", "number", name="uq_report_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    scope: Mapped[str] = mapped_column(String(64), default="")
    period_key: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    content_key: Mapped[str] = mapped_column(String(64), index=True)
    source_sheet_id: Mapped[int | None] = mapped_column(Integer, index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    generated_by: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    number_year: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    doc_number: Mapped[str] = mapped_column(String(40), default="")

    files: Mapped[list[ReportFile]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportFile.id",
        lazy="selectin")


class ReportFile(Base):
    """One format of a report, stored outside the web root under a generated name."""

    __tablename__ = "report_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    report: Mapped[Report] = relationship(back_populates="files")
