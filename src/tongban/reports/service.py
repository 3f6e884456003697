"""Reports: build 周通报 / 月考评 / 季调度 from the domains' services, render, archive.

Every generated report is archived: its DOCX, XLSX and HTML stored outside the web root under
generated names, each with its SHA-256. Generating the same report again from unchanged data
returns the archived one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, NotFound
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.reports import excel, monthly, quarterly, webpage, weekly, word
from tongban.reports.document import Document
from tongban.reports.enums import ReportFormat, ReportKind, ReportTrigger
from tongban.reports.models import Report, ReportFile

audit.name_objects({"report": "通报"})


@dataclass(frozen=True)
class ReportRequest:
    """What to write: a kind and its scope (a day for the bulletin, a cohort and a period)."""

    kind: ReportKind
    as_of: date | None = None
    cohort: str = ""
    period: str = ""  # YYYY-MM for monthly, YYYYQn for quarterly

    def check(self) -> ReportRequest:
        if self.kind is ReportKind.weekly and self.as_of is None:
            raise DomainError("周通报须指定通报日期")
        if self.kind is not ReportKind.weekly and not self.cohort:
            raise DomainError(f"{self.kind.label}须指定考核分组")
        if self.kind is not ReportKind.weekly and not self.period:
            raise DomainError("月考评须指定月份（如 2026-03）" if self.kind is ReportKind.monthly
                              else "季调度须指定季度（如 2026Q1）")
        return self


def build(db: Session, *, actor: Actor, request: ReportRequest) -> Document:
    """The report as data, read through the domains' services with the actor's rights."""
    org_service.require_citywide(actor, "生成通报")
    request.check()
    if request.kind is ReportKind.weekly:
        assert request.as_of is not None
        document = weekly.build(db, actor=actor, as_of=request.as_of)
    elif request.kind is ReportKind.monthly:
        document = monthly.build(db, actor=actor, cohort_code=request.cohort,
                                 period=request.period)
    else:
        document = quarterly.build(db, actor=actor, cohort_code=request.cohort,
                                   quarter=request.period)
    settings = get_settings()
    document.masthead = settings.report_masthead
    document.recipients = settings.report_recipients
    return document


def doc_number(prefix: str, year: int, number: int) -> str:
    """A 文号 as GB/T 9704 writes it: 巴政数〔2026〕12号."""
    return f"{prefix}〔{year}〕{number}号"


#: Tries at the next 文号 when other processes take the number in between.
NUMBER_ATTEMPTS = 8


def _last_number(db: Session, *, kind: str, year: int) -> int:
    return db.scalar(select(func.max(Report.number)).where(
        Report.kind == kind, Report.number_year == year)) or 0


def _store_numbered(db: Session, report: Report, *, year: int) -> None:
    """Store ``report`` with the next 文号 of its kind and year. Another process archiving at
    the same time may take that number first: the unique constraint refuses the second, which
    tries the next one."""
    prefix = get_settings().report_number_prefix(report.kind)
    for _ in range(NUMBER_ATTEMPTS):
        report.number_year = year
        report.number = _last_number(db, kind=report.kind, year=year) + 1
        report.doc_number = doc_number(prefix, year, report.number)
        try:
            with db.begin_nested():
                db.add(report)
                db.flush()
        except IntegrityError:
            continue
        return
    raise DomainError("文号编排冲突，请稍后重试")


def render(document: Document) -> dict[ReportFormat, bytes]:
    settings = get_settings()
    return {
        ReportFormat.docx: word.render(document),
        ReportFormat.xlsx: excel.render(document),
        ReportFormat.html: webpage.render(document, link_base=settings.public_url).encode(),
    }


def _archive_dir() -> Path:
    folder = get_settings().report_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@audit.action({"report.generated": "生成报告"})
def generate(db: Session, *, actor: Actor, request: ReportRequest,
             trigger: ReportTrigger = ReportTrigger.manual) -> tuple[Report, bool]:
    """Build, render and archive a report with the next 文号 of its kind and year;
    ``(archived, created)``.

    The same content already archived for the same kind and scope is returned as is, with its
    文号. Only
    administrators and analysts archive reports (a leader reads and previews them).
    """
    org_service.require_manager(actor, "生成并归档通报")
    document = build(db, actor=actor, request=request)
    key = document.content_key()
    existing = db.scalar(select(Report).where(
        Report.kind == document.kind, Report.scope == document.scope,
        Report.period_key == document.period_key, Report.content_key == key))
    if existing is not None and all(path_of(f).is_file() for f in existing.files):
        return existing, False
    report = Report(kind=document.kind, scope=document.scope, period_key=document.period_key,
                    title=document.title, content_key=key,
                    source_sheet_id=document.source_sheet_id, trigger=trigger.value,
                    generated_by=actor.username)
    _store_numbered(db, report, year=document.issued_on.year)
    document.number = report.doc_number
    folder = _archive_dir()
    written: list[tuple[Path, Path]] = []
    for fmt, content in render(document).items():
        stored = f"{document.file_stem}-{secrets.token_hex(6)}.{fmt.value}"
        partial = folder / (stored + PARTIAL_SUFFIX)
        partial.write_bytes(content)
        written.append((partial, folder / stored))
        report.files.append(ReportFile(format=fmt.value, stored_name=stored, size=len(content),
                                       sha256=hashlib.sha256(content).hexdigest()))
    db.add(report)
    db.flush()
    _publish_on_commit(db, report, written)
    audit.record(db, actor=actor, action="report.generated", object_type="report",
                 object_id=report.id,
                 changes={"kind": report.kind, "scope": report.scope, "period": report.period_key,
                          "number": report.doc_number,
                          "trigger": report.trigger,
                          "sha256": {f.format: f.sha256 for f in report.files}})
    return report, True


#: A report file being written: it takes its archive name only once its row has committed.
PARTIAL_SUFFIX = ".part"


def _publish_on_commit(db: Session, report: Report, written: list[tuple[Path, Path]]) -> None:
    """Give the written files their archive names once the transaction that stores ``report``
    commits (a savepoint that dropped the report drops its files), so that no archived row
    lacks its file; a run killed before the commit leaves only ``.part`` files, which
    :func:`remove_orphan_files` clears."""

    def publish(session: Session) -> None:
        kept = object_session(report) is session
        for partial, final in written:
            if kept:
                partial.replace(final)
            else:
                partial.unlink(missing_ok=True)

    event.listen(db, "after_commit", publish, once=True)


def remove_orphan_files(db: Session, *, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete files in the archive folder that no archived report names (left by a run that
    was killed), once they are ``older_than`` old; how many."""
    folder = get_settings().report_dir
    if not folder.is_dir():
        return 0
    known = set(db.scalars(select(ReportFile.stored_name)))
    cutoff = (utcnow() - older_than).timestamp()
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    return removed


def path_of(file: ReportFile) -> Path:
    return get_settings().report_dir / file.stored_name


#: The archive as a list: the newest first.
REPORTS = Listing(sorts={"generated_at": ("生成时间", [Report.generated_at]),
                         "period": ("期间", [Report.period_key])},
                  key=Report.id, search="标题中的文字")


def list_reports(db: Session, *, actor: Actor, kind: ReportKind | None = None,
                 params: ListParams) -> Page[Report]:
    """A page of the archived reports."""
    org_service.require_citywide(actor, "查看通报")
    stmt = select(Report)
    if kind is not None:
        stmt = stmt.where(Report.kind == kind.value)
    if params.q:
        stmt = stmt.where(Report.title.contains(params.q, autoescape=True))
    return paginate(db, stmt, params=params, order=REPORTS.order(
        params, default=[Report.generated_at.desc(), Report.id.desc()]))


def get_report(db: Session, *, actor: Actor, report_id: int) -> Report:
    org_service.require_citywide(actor, "查看通报")
    report = db.get(Report, report_id)
    if report is None:
        raise NotFound(f"未找到通报 #{report_id}")
    return report


def report_file(db: Session, *, actor: Actor, report_id: int,
                fmt: ReportFormat) -> tuple[ReportFile, Path, str]:
    """The archived file, its path, and the file name to download it as; the stored bytes
    must still match their hash."""
    report = get_report(db, actor=actor, report_id=report_id)
    file = next((f for f in report.files if f.format == fmt.value), None)
    if file is None:
        raise NotFound(f"通报 #{report_id} 没有 {fmt.label} 版")
    path = path_of(file)
    if not path.is_file():
        raise NotFound(f"通报 #{report_id} 的 {fmt.label} 文件已不在归档目录中")
    if hashlib.sha256(path.read_bytes()).hexdigest() != file.sha256:
        raise DomainError(f"通报 #{report_id} 的 {fmt.label} 文件与归档时的哈希不一致，可能已被改动")
    name = report.title
    if report.kind == ReportKind.weekly.value:
        name += f"（{report.period_key}）"
    return file, path, f"{name}.{fmt.value}"


def verify(report: Report) -> dict[str, bool]:
    """Per format: whether the stored file still has the hash it was archived with (a report
    being archived right now is checked in its ``.part`` file)."""
    out = {}
    for file in report.files:
        path = path_of(file)
        if not path.is_file():
            path = path.with_name(path.name + PARTIAL_SUFFIX)
        out[file.format] = path.is_file() and \
            hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256
    return out
