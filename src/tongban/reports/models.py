"""Tables of the report archive: each generated report and its files with their hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow


class Report(Base):
    """One generated 周通报 / 月考评 / 季调度, archived.

    ``content_key`` hashes what the report says (not the file bytes, which carry creation
    times), so generating the same report from unchanged data reuses the archived one.
    """

    __tablename__ = "report"

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
