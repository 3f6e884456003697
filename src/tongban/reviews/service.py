"""好差评 operations: intake (API, rating page, bulk files), 差评 cases, metrics.

A bulk import runs in one transaction, so memory stays flat however long the file: by default
any bad row rolls the whole import back and every bad row is reported; with ``rejects`` the
valid rows go in and each rejected row is written out with its reason. On PostgreSQL a CSV file
is checked set-based (``reviews.bulk``), otherwise row by row in chunks; both agree.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlencode

import psycopg
import segno
from sqlalchemy import (
    ARRAY,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, SessionTransaction

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.core import audit, privacy, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    ErrorGroups,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)
from tongban.core.periods import check_period, first_day, month_of, next_period
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.core.tabular import Cell, cell_text, open_table
from tongban.core.workdays import end_of_day, local_date, local_today
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews import bulk
from tongban.reviews.enums import CASE_TRANSITIONS, CaseAction, CaseState, Channel, Level
from tongban.reviews.intake import (
    ALIASES,
    CLOCK_SLACK,
    COLUMNS,
    ON_SITE_TWICE,
    ONLINE_TWICE,
    OPTIONAL_COLUMNS,
    PUBLIC_SOURCE,
    TAKEN_ID,
    Checker,
    case_deadlines,
    count_reviews,
    parse_row,
    rated_at,
    too_long,
)
from tongban.reviews.models import HandledCase, NegativeCase, Review, ReviewCount

CHUNK = 2000
REPLY_TEMPLATES = {
    "服务态度": "您好，关于您反映的{org}工作人员服务态度问题，我们已核实并对当事人进行了批评教育，"
               "今后将加强窗口服务规范培训。感谢您的监督。",
    "办事效率": "您好，关于您反映的办理时间较长问题，我们已优化该事项办理流程，"
               "承诺时限已压缩。感谢您的监督。",
    "材料繁琐": "您好，关于您反映的申请材料繁琐问题，我们已对照实施规范精简材料，"
               "并通过数据共享免于提交部分证明。",
    "系统故障": "您好，关于您反映的系统故障问题，我们已联系平台运维单位修复，并将持续监测系统运行。",
    "多次跑动": "您好，关于您反映的多次跑动问题，我们已实行一次性告知并开通帮办代办服务。",
    "其他": "您好，关于您反映的问题，我们已核实并整改，具体情况如下：",
}


# ---------------------------------------------------------------- storing


@dataclass
class IntakeResult:
    imported: int = 0
    skipped: int = 0
    errors: ErrorGroups = field(default_factory=ErrorGroups)
    cases_opened: int = 0
    held: int = 0  # public repeats kept out of the counts (see submit_review)

    @property
    def error_count(self) -> int:
        return self.errors.count

    def as_dict(self) -> dict[str, object]:
        return {"imported": self.imported, "skipped": self.skipped, "held": self.held,
                **self.errors.as_dict(),
                "cases_opened": self.cases_opened}


def _one_of(db: Session, column: Any, values: list[str]) -> Any:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter instead of
    thousands (which psycopg would otherwise split and quote one by one)."""
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def _store_chunk(db: Session, chunk: list[tuple[int, dict[str, Any]]],
                 result: IntakeResult) -> list[tuple[int, list[RowError]]]:
    """Insert a chunk; returns the rows refused by the dedup rules (with their errors)."""
    by_source: dict[str, list[str]] = {}
    for _, values in chunk:
        by_source.setdefault(values["source"], []).append(values["source_id"])
    present: dict[tuple[str, str], tuple[Any, ...]] = {}
    for source, ids in by_source.items():
        for sid, *kept in db.execute(select(
                Review.source_id, Review.org_id, Review.level, Review.channel, Review.rated_at)
                .where(Review.source == source, _one_of(db, Review.source_id, ids))):
            present[(source, sid)] = tuple(kept)
    keys = [v["dedup_key"] for _, v in chunk if v["dedup_key"]]
    taken = set(db.scalars(select(Review.dedup_key).where(
        _one_of(db, Review.dedup_key, keys)))) if keys else set()
    refused: list[tuple[int, list[RowError]]] = []
    fresh: list[dict[str, Any]] = []
    seen_ids: set[tuple[str, str]] = set()
    for row, values in chunk:
        ident = (values["source"], values["source_id"])
        if ident in present and present[ident] != _identity(values):
            refused.append((row, [RowError(row, "source_id", TAKEN_ID.format(
                source=ident[0], source_id=ident[1]))]))
            continue
        if ident in present or ident in seen_ids:
            result.skipped += 1
            continue
        key = values["dedup_key"]
        if key and key in taken:
            rule = ON_SITE_TWICE if Channel(values["channel"]).on_site else ONLINE_TWICE
            refused.append((row, [RowError(row, "case_no", rule)]))
            continue
        if key:
            taken.add(key)
        seen_ids.add(ident)
        fresh.append(values)
    if fresh:
        inserted = _insert_reviews(db, fresh)
        count_reviews(db, Counter((v["period"], v["org_id"], v["level"], False) for v in fresh
                                  if not v["voided"]))
        result.imported += len(fresh)
        result.held += sum(1 for v in fresh if v["hold"])
        result.cases_opened += _open_cases(db, [r for r in inserted
                                                if r.level <= 2 and not r.voided])
    return refused


def _identity(values: dict[str, Any]) -> tuple[Any, ...]:
    """What must agree for a row to be the same review as the stored one with its id."""
    return values["org_id"], values["level"], values["channel"], values["rated_at"]



def _insert_reviews(db: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the rows; returns (id, level, org_id, rated_at, tags, named, voided) of the
    negative ones.

    PostgreSQL takes them through COPY (a multi-row INSERT is parsed and split client-side,
    which dominated a large import), then the few negative ones are looked up for their ids.
    """
    table = cast(Table, Review.__table__)
    wanted = (table.c.id, table.c.level, table.c.org_id, table.c.rated_at, table.c.tags,
              table.c.named, table.c.voided)
    if db.get_bind().dialect.name != "postgresql":
        return list(db.execute(insert(table).returning(*wanted), rows).all())  # Core, no ORM
    columns = list(rows[0])
    raw = cast(psycopg.Connection[Any], db.connection().connection.dbapi_connection)
    with raw.cursor() as cursor, cursor.copy(
            f"COPY review ({', '.join(columns)}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row([values[c] for c in columns])
    negative: dict[str, list[str]] = defaultdict(list)
    for values in rows:
        if values["level"] <= 2:
            negative[values["source"]].append(values["source_id"])
    found: list[Any] = []
    for source, ids in negative.items():
        found += db.execute(select(*wanted).where(table.c.source == source,
                                                  table.c.source_id.in_(ids))).all()
    return found


def _open_cases(db: Session, rows: list[Any]) -> int:
    """Open a 差评 case for each new level-1/2 review, with its working-day deadlines."""
    if not rows:
        return 0
    received = {row.id: local_date(row.rated_at) for row in rows}
    dues = case_deadlines(db, received.values())
    now = utcnow()
    db.execute(insert(cast(Table, NegativeCase.__table__)), [
        {"review_id": row.id, "org_id": row.org_id, "state": CaseState.received.value,
         "category": (row.tags.split("、")[0] if row.tags else "其他"),
         "received_on": received[row.id], "callback_due": dues[received[row.id]][0],
         "rectify_due": dues[received[row.id]][1], "reopen_count": 0, "follow_up": "",
         "reply_text": "", "appeal_reason": "", "named": row.named, "created_at": now}
        for row in rows])
    return len(rows)


def submit_review(db: Session, *, values: dict[str, Cell], client: str) -> IntakeResult:
    """One rating from the public API or the rating page.

    What the caller may not choose is set here: the id (in the public source no import may
    use, so nobody can claim an id the province's export will bring), the time (now: a stranger
    cannot backdate a 差评 into a month already scored or open a case already overdue) and the
    place (an org of this city only). Its 一事一评 key lives in the public namespace, so a
    stranger who rates a case number first blocks no import; a second public rating of the same
    case is kept but held. A client address sends at most ``review_rate_per_client`` a minute
    and an org takes at most ``review_rate_per_org`` (counted in this transaction: what is
    refused does not count, what is kept does). A rating
    identical to one the same client sent within ``review_repeat_minutes`` (same org, level and
    text, invisible characters aside) is held too: in no count until an analyst decides.
    """
    settings = get_settings()
    _limit(db, key=f"rate-client:{ratelimit.client_key(client)}",
           limit=settings.review_rate_per_client, what="评价提交")
    given = {**values, "source": PUBLIC_SOURCE, "source_id": uuid.uuid4().hex,
             "comment": _plain(cell_text(values.get("comment"))), "rated_at": utcnow()}
    row, errors = parse_row(Checker(db, public=True), given, 1)
    if row is None:
        raise ValidationFailed(errors=errors, summary=f"有 {len(errors)} 处错误，评价未保存")
    city = db.scalar(select(Org).where(Org.code == settings.city_code))
    org = db.get(Org, row["org_id"])
    if city is not None and org is not None and not org.path.startswith(city.path):
        raise ValidationFailed(errors=[RowError(1, "org", f"「{org.name}」不是{city.name}的单位")],
                               summary="评价未保存")
    _limit(db, key=f"rate-org:{row['org_id']}", limit=settings.review_rate_per_org,
           what="该单位的评价提交")
    row["client_key"] = ratelimit.client_key(client)
    if row["dedup_key"]:
        row["dedup_key"] = f"{PUBLIC_SOURCE}|{row['dedup_key']}"
        if db.scalar(select(Review.id).where(Review.dedup_key == row["dedup_key"])) is not None:
            row["dedup_key"], row["hold"], row["voided"] = None, HOLD_HELD, True
    if _repeats(db, row, window=timedelta(minutes=settings.review_repeat_minutes)):
        row["hold"], row["voided"] = HOLD_HELD, True
    result = IntakeResult()
    refused = _store_chunk(db, [(1, row)], result)
    if refused:
        raise ValidationFailed(errors=refused[0][1], summary="评价未保存")
    return result


def _limit(db: Session, *, key: str, limit: int, what: str) -> None:
    """One hit on a per-minute limit; 429 with Retry-After when over it."""
    hit = ratelimit.count_hit(db, key=key, window=timedelta(minutes=1))
    if hit.over(limit):
        seconds = max(1, int((hit.resets_at - utcnow()).total_seconds()) + 1)
        raise ratelimit.RateLimited(f"{what}过于频繁，请{seconds}秒后再试", retry_after=seconds)


def _plain(text: str) -> str:
    """Text without invisible characters (zero-width spaces, marks) and runs of white space."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


#: ``Review.hold`` of a held repeat, and of one an analyst counted or discarded.
HOLD_HELD, HOLD_COUNTED, HOLD_DISCARDED = "held", "counted", "discarded"


def _repeats(db: Session, row: dict[str, Any], *, window: timedelta) -> bool:
    """Whether the same client sent the same org the same level and text within ``window``."""
    return db.scalar(select(Review.id).where(
        Review.client_key == row["client_key"], Review.client_key != "",
        Review.org_id == row["org_id"], Review.level == row["level"],
        Review.comment == row["comment"], Review.source == PUBLIC_SOURCE,
        Review.created_at >= utcnow() - window).limit(1)) is not None


def rotate_personal_data(db: Session, *, actor: Actor, batch: int = 5000,
                         progress: Callable[[int], None] | None = None) -> int:
    """Encrypt every stored phone number again with the newest data key (``tongban keys
    rotate``), in batches; refuses, changing nothing, when any cannot be decrypted."""
    org_service.require_manager(actor, "更换数据密钥")
    done, last_id = 0, 0
    while True:
        rows = db.execute(select(Review.id, Review.phone_cipher).where(
            Review.id > last_id, Review.phone_cipher != "").order_by(Review.id).limit(batch)).all()
        if not rows:
            break
        db.execute(update(Review), [{"id": rid, "phone_cipher": privacy.rotate(cipher)}
                                    for rid, cipher in rows])
        done += len(rows)
        last_id = rows[-1][0]
        if progress:
            progress(len(rows))
    audit.record(db, actor=actor, action="keys.rotated", object_type="review",
                 object_id="phone_cipher", changes={"rotated": done})
    return done


def unreadable_personal_data(db: Session, *, sample: int = 50) -> int:
    """How many of the newest stored phone numbers no configured key opens (checked at start:
    a server with the wrong keys refuses to start rather than show blanks)."""
    ciphers = db.scalars(select(Review.phone_cipher).where(Review.phone_cipher != "")
                         .order_by(Review.id.desc()).limit(sample)).all()
    return sum(1 for c in ciphers if not privacy.readable(c))


def held_reviews(db: Session, *, actor: Actor, limit: int = 200) -> list[Review]:
    """Public ratings held as repeats, oldest first, for an analyst to count or discard."""
    org_service.require_manager(actor, "处理重复评价")
    return list(db.scalars(select(Review).where(Review.hold == HOLD_HELD)
                           .order_by(Review.id).limit(limit)))


def held_count(db: Session, *, actor: Actor) -> int:
    """How many public ratings wait for an analyst (0 for those who cannot decide)."""
    if not actor.can_manage:
        return 0
    return db.scalar(select(func.count()).select_from(Review)
                     .where(Review.hold == HOLD_HELD)) or 0


def resolve_held_review(db: Session, *, actor: Actor, review_id: int, count: bool) -> Review:
    """Count a held rating (it enters every count, a 差评 opens its case) or discard it."""
    org_service.require_manager(actor, "处理重复评价")
    review = db.get(Review, review_id)
    if review is None or review.hold != HOLD_HELD:
        raise NotFound("未找到待确认的重复评价")
    review.hold = HOLD_COUNTED if count else HOLD_DISCARDED
    if count:
        review.voided = False
        count_reviews(db, {(review.period, review.org_id, review.level, False): 1})
        db.flush()
        if review.level <= 2:
            _open_cases(db, [review])
    db.flush()
    audit.record(db, actor=actor, action="review.counted" if count else "review.discarded",
                 object_type="review", object_id=review.id,
                 changes={"org": review.org.code, "level": review.level})
    return review


def submit_batch(db: Session, *, rows: list[dict[str, Cell]]) -> IntakeResult:
    """Ratings sent together: all are stored, or none and every problem is listed."""
    ctx = Checker(db)
    result = IntakeResult()
    parsed: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for number, values in enumerate(rows, start=1):
        row, row_errors = parse_row(ctx, values, number)
        errors.extend(row_errors)
        if row is not None:
            parsed.append((number, row))
    savepoint = db.begin_nested()
    if not errors:
        for _, refused in _store_chunk(db, parsed, result):
            errors.extend(refused)
    if errors:
        savepoint.rollback()
        raise ValidationFailed(errors=errors, summary=f"有 {len(errors)} 处错误，未保存任何评价")
    savepoint.commit()
    return result


def import_reviews(
    db: Session,
    *,
    actor: Actor,
    source: Path | IO[bytes],
    filename: str | None = None,
    rejects: IO[str] | None = None,
    rejects_file: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> IntakeResult:
    """Stream a provincial export into the database in chunks (see the module docstring).

    Rejected rows reach ``reject`` in row order on both paths, so both list the same errors;
    a file that cannot be read to its end rolls back whatever was stored, even with
    ``rejects``."""
    org_service.require_manager(actor, "导入好差评数据")
    stream = source.open("rb") if isinstance(source, Path) else source
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    table = open_table(stream, filename=name, aliases=ALIASES)
    missing = [c for c in COLUMNS if c not in table.header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    writer = csv.writer(rejects) if rejects is not None else None
    if writer is not None:
        writer.writerow([*COLUMNS, "row", "reason"])
    ctx = Checker(db)
    result = IntakeResult(errors=ErrorGroups(file=name))

    def reject(row: int, values: dict[str, Cell], errors: list[RowError]) -> None:
        result.errors.extend(errors)
        if writer is not None:
            writer.writerow([cell_text(values.get(c)) for c in COLUMNS]
                            + [row, "；".join(f"{e.column}：{e.reason}" for e in errors)])

    savepoint = db.begin_nested()
    try:
        set_based = (db.get_bind().dialect.name == "postgresql" and table.encoding is not None
                     and stream.seekable() and get_settings().review_bulk_sql)
        counts = bulk.import_csv(db, checker=ctx, stream=stream, encoding=table.encoding or "",
                                 header=table.header, reject=reject,
                                 progress=progress) if set_based else None
        if counts is not None:
            result.imported, result.skipped = counts.imported, counts.skipped
            result.cases_opened = counts.cases_opened
        else:
            if set_based:
                table = table.rewind(stream)  # COPY could not read it: row by row, afresh
            _import_rows(db, ctx=ctx, rows=table.rows, result=result, reject=reject,
                         progress=progress)
    except BaseException:
        savepoint.rollback()
        raise
    return _finish_import(db, actor=actor, savepoint=savepoint, result=result, name=name,
                          listing_only=writer is None, rejects_file=rejects_file)


def _import_rows(db: Session, *, ctx: Checker, rows: Iterable[tuple[int, dict[str, Cell]]],
                 result: IntakeResult,
                 reject: Callable[[int, dict[str, Cell], list[RowError]], None],
                 progress: Callable[[int], None] | None) -> None:
    """The row-by-row path: every ``CHUNK`` rows, the valid ones are stored and the rejected
    ones (invalid, or refused by the dedup rules) reported in row order."""
    postgres = db.get_bind().dialect.name == "postgresql"
    chunk: list[tuple[int, dict[str, Any]]] = []
    raw_of: dict[int, dict[str, Cell]] = {}
    bad: list[tuple[int, dict[str, Cell], list[RowError]]] = []
    processed = chunks = 0

    def flush() -> None:
        refused = [(row, raw_of[row], errors) for row, errors in _store_chunk(db, chunk, result)]
        for row, values, errors in sorted(bad + refused, key=lambda item: item[0]):
            reject(row, values, errors)
        chunk.clear()
        raw_of.clear()
        bad.clear()

    for row, values in rows:
        parsed, errors = parse_row(ctx, values, row)
        if parsed is None:
            bad.append((row, values, errors))
        else:
            chunk.append((row, parsed))
            raw_of[row] = values
        processed += 1
        if len(chunk) + len(bad) >= CHUNK:
            flush()
            chunks += 1
            if postgres and chunks % 10 == 0:
                # The table grows inside one transaction; fresh statistics keep the planner on
                # the unique indexes instead of scanning the whole table for every chunk.
                db.execute(text("ANALYZE review"))
            if progress:
                progress(processed)
    flush()
    if progress:
        progress(processed)


def _finish_import(db: Session, *, actor: Actor, savepoint: SessionTransaction,
                   result: IntakeResult, name: str, listing_only: bool,
                   rejects_file: Path | None = None) -> IntakeResult:
    """All or nothing: any error rolls the import back unless the rejects are written out."""
    if result.errors and listing_only:
        savepoint.rollback()
        raise ValidationFailed(errors=result.errors,
                               summary=f"{name} 有 {result.error_count} 处错误，未导入任何评价")
    savepoint.commit()
    audit.record(db, actor=actor, action="reviews.imported", object_type="review_import",
                 object_id=name[:128],
                 changes={"imported": result.imported, "skipped": result.skipped,
                          "rejected": result.error_count, "cases": result.cases_opened,
                          "rejects_file": str(rejects_file.resolve()) if rejects_file else None})
    return result


def open_rejects(path: Path) -> IO[str]:
    """The rejects file of an import, readable by its owner only (0600): it keeps the rows as
    they came, phone numbers and all, so that they can be fixed and imported again. ``jobs
    run`` removes it after ``review_rejects_retention_days``."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    return os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")


def remove_old_rejects(db: Session, *, as_of: date) -> int:
    """Delete the rejects files of imports older than the retention period; how many."""
    days = get_settings().review_rejects_retention_days
    cutoff = end_of_day(as_of - timedelta(days=days))
    removed = 0
    for changes in db.scalars(select(audit.AuditEntry.changes).where(
            audit.AuditEntry.action == "reviews.imported", audit.AuditEntry.at <= cutoff,
            audit.AuditEntry.at > cutoff - timedelta(days=365))):
        name = (changes or {}).get("rejects_file")
        if not name:
            continue
        path = Path(name)
        if path.is_file() and path.stat().st_mtime <= cutoff.timestamp():
            path.unlink()
            removed += 1
    return removed


# ---------------------------------------------------------------- rating codes

#: Channels a printed or sent link can rate through (a 12345 call has no link to follow).
LINK_CHANNELS = tuple(c for c in Channel if c is not Channel.hotline)


@dataclass(frozen=True)
class RatingCode:
    """The link to the rating page that a QR code on a window, a self-service terminal, a
    receipt or a text message carries: the org, and optionally the service item and the case."""

    org: Org
    item_code: str
    case_no: str
    channel: Channel

    @property
    def query(self) -> str:
        """The query string naming the org, item, case and channel (as ``/rate`` reads it)."""
        return urlencode({k: v for k, v in {"org": self.org.code, "item": self.item_code,
                                            "case": self.case_no,
                                            "channel": self.channel.value}.items() if v})

    @property
    def link(self) -> str:
        return f"{get_settings().public_url.rstrip('/')}/rate?{self.query}"

    def svg(self, *, scale: int = 6) -> str:
        """The QR code as an SVG document (quiet zone included), for pages and printing."""
        out = io.BytesIO()
        segno.make_qr(self.link, error="m").save(out, kind="svg", scale=scale, xmldecl=False,
                                                  title=f"{self.org.name} 好差评评价码")
        return out.getvalue().decode()

    def png(self, *, scale: int = 10) -> bytes:
        out = io.BytesIO()
        segno.make_qr(self.link, error="m").save(out, kind="png", scale=scale)
        return out.getvalue()


def rating_code(db: Session, *, actor: Actor, org: Org, item_code: str = "", case_no: str = "",
                channel: Channel = Channel.window) -> RatingCode:
    """The rating link (and QR code) of one of the actor's orgs; a liaison makes its own."""
    _require_reviews_role(actor)
    org_service.ensure_visible(db, actor=actor, org=org)
    item_code, case_no = item_code.strip(), case_no.strip()
    problems = [problem for name, value in (("item_code", item_code), ("case_no", case_no))
                if (problem := too_long(name, value))]
    if channel not in LINK_CHANNELS:
        problems.append(f"渠道「{channel.label}」不通过链接评价")
    if problems:
        raise DomainError("；".join(problems))
    return RatingCode(org=org, item_code=item_code, case_no=case_no, channel=channel)


# ---------------------------------------------------------------- cases


def _visible_case(db: Session, actor: Actor, case_: NegativeCase) -> bool:
    return org_service.can_see(db, actor=actor, org=case_.org)


def _require_reviews_role(actor: Actor) -> None:
    """Runners run errands; 好差评 is the business of the other roles."""
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能使用好差评功能")


def get_case(db: Session, *, actor: Actor, case_id: int) -> NegativeCase:
    _require_reviews_role(actor)
    found = db.get(NegativeCase, case_id)
    if found is None or not _visible_case(db, actor, found):
        raise NotFound(f"未找到差评工单 #{case_id}")
    return found


def is_callback_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    if case_.called_back_at is not None:
        return local_date(case_.called_back_at) > case_.callback_due
    return case_.state != CaseState.closed.value and as_of > case_.callback_due


def is_rectify_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    if case_.state == CaseState.appealed.value or case_.review.voided:
        return False
    if case_.replied_at is not None:
        return local_date(case_.replied_at) > case_.rectify_due
    return case_.state != CaseState.closed.value and as_of > case_.rectify_due


def is_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    open_ = case_.state != CaseState.closed.value
    return open_ and (is_callback_overdue(case_, as_of=as_of)
                      or is_rectify_overdue(case_, as_of=as_of))


def next_due(case_: NegativeCase) -> date:
    return case_.callback_due if case_.state == CaseState.received.value else case_.rectify_due


def _cases_query(db: Session, *, actor: Actor, org: Org | None, state: CaseState | None,
                 period: str | None, item_code: str | None) -> Select[NegativeCase]:
    _require_reviews_role(actor)
    stmt = select(NegativeCase).where(
        NegativeCase.org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if org is not None:
        org_service.ensure_visible(db, actor=actor, org=org)
        stmt = stmt.join(Org, Org.id == NegativeCase.org_id).where(Org.path.startswith(org.path))
    if state is not None:
        stmt = stmt.where(NegativeCase.state == state.value)
    if period or item_code:
        stmt = stmt.join(Review, Review.id == NegativeCase.review_id)
    if period:
        stmt = stmt.where(Review.period == check_period(period))
    if item_code:
        stmt = stmt.where(Review.item_code == item_code)
    return stmt


def _inbox_order(cases: list[NegativeCase], as_of: date) -> list[NegativeCase]:
    return sorted(cases, key=lambda c: (c.state == CaseState.closed.value,
                                        not is_overdue(c, as_of=as_of), next_due(c), c.id))


def list_cases(db: Session, *, actor: Actor, org: Org | None = None,
               state: CaseState | None = None, as_of: date | None = None,
               period: str | None = None, item_code: str | None = None) -> list[NegativeCase]:
    """Cases the actor may see (of reviews rated in ``period``, of the service item
    ``item_code``, if given): overdue first, then by the next due day, closed ones last."""
    stmt = _cases_query(db, actor=actor, org=org, state=state, period=period, item_code=item_code)
    return _inbox_order(list(db.scalars(stmt)), as_of or local_today())


@dataclass(frozen=True)
class CasePage:
    """One page of the case inbox and where it sits among all pages."""

    cases: list[NegativeCase]
    total: int
    page: int
    pages: int


def page_cases(db: Session, *, actor: Actor, org: Org | None = None,
               state: CaseState | None = None, as_of: date | None = None,
               period: str | None = None, item_code: str | None = None, page: int = 1,
               page_size: int = 50) -> CasePage:
    """One page of ``list_cases``' order. Open cases (a few weeks' worth) are ordered here;
    closed ones, which pile up, come last by their reply due day, paged by the database."""
    stmt = _cases_query(db, actor=actor, org=org, state=state, period=period, item_code=item_code)
    closed = NegativeCase.state == CaseState.closed.value
    open_cases = _inbox_order(list(db.scalars(stmt.where(~closed))), as_of or local_today())
    closed_total = db.scalar(select(func.count()).select_from(
        stmt.where(closed).with_only_columns(NegativeCase.id).subquery())) or 0
    total = len(open_cases) + closed_total
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    start = (page - 1) * page_size
    shown = open_cases[start:start + page_size]
    if len(shown) < page_size and closed_total:
        shown += db.scalars(stmt.where(closed).order_by(NegativeCase.rectify_due, NegativeCase.id)
                            .offset(max(0, start - len(open_cases)))
                            .limit(page_size - len(shown)))
    return CasePage(cases=shown, total=total, page=page, pages=pages)


def act(db: Session, *, actor: Actor, case_: NegativeCase, action: CaseAction,
        note: str = "") -> NegativeCase:
    """Move a case along its workflow; every step is audited with its actor and note."""
    allowed_from, target, who = CASE_TRANSITIONS[action]
    current = CaseState(case_.state)
    if current not in allowed_from:
        raise Conflict(f"工单 #{case_.id} 当前为「{current.label}」，不能「{action.label}」")
    if who == "manager":
        org_service.require_manager(actor, "裁定申诉")
    elif actor.role not in (Role.liaison, Role.admin, Role.analyst) \
            or not _visible_case(db, actor, case_):
        raise PermissionDenied("只有责任单位联络员或考核管理员可以办理该工单")
    note = note.strip()
    now = utcnow()
    if action in (CaseAction.callback, CaseAction.reply, CaseAction.appeal,
                  CaseAction.reject_appeal, CaseAction.uphold) and not note:
        raise DomainError(f"「{action.label}」须填写说明")
    if action is CaseAction.callback:
        case_.called_back_at = now
    elif action is CaseAction.appeal:
        case_.appeal_reason = note
    elif action is CaseAction.reply:
        case_.reply_text, case_.replied_at = note, now
    elif action is CaseAction.satisfied:
        case_.follow_up, case_.closed_at = "satisfied", now
    elif action is CaseAction.unsatisfied:
        case_.follow_up = "unsatisfied"
        if case_.reopen_count >= 1:
            target = CaseState.closed
            case_.closed_at = now
        else:
            case_.reopen_count += 1
            case_.replied_at = None
    elif action is CaseAction.uphold:
        case_.appeal_upheld, case_.closed_at = True, now
        review = case_.review
        review.voided = True
        count_reviews(db, {(review.period, review.org_id, review.level, review.is_default): -1})
    elif action is CaseAction.reject_appeal:
        case_.appeal_upheld = False
    case_.state = target.value
    case_.called_back_on_time = (case_.called_back_at is not None
                                 and local_date(case_.called_back_at) <= case_.callback_due)
    case_.replied_on_time = (case_.replied_at is not None
                             and local_date(case_.replied_at) <= case_.rectify_due)
    db.flush()
    audit.record(db, actor=actor, action=f"review_case.{action.value}",
                 object_type="negative_case", object_id=case_.id,
                 changes={"state": [current.value, target.value]}, reason=note)
    return case_


def reply_template(case_: NegativeCase) -> str:
    template = REPLY_TEMPLATES.get(case_.category, REPLY_TEMPLATES["其他"])
    return template.format(org=case_.org.name)


def phone_for(db: Session, *, actor: Actor, case_: NegativeCase) -> str:
    """The reviewer's phone: in full only to the liaisons of the org handling the case."""
    review = case_.review
    if actor.role is Role.liaison and actor.org_id == case_.org_id:
        return privacy.reveal(review.phone_cipher) or review.phone_masked
    return review.phone_masked


# ---------------------------------------------------------------- metrics


def _rate(numerator: float, denominator: float) -> dict[str, float | None]:
    return {"value": round(numerator / denominator, 4) if denominator else None,
            "numerator": numerator, "denominator": denominator}


def metrics(db: Session, *, actor: Actor, org: Org, period: str,
            as_of: date | None = None) -> dict[str, Any]:
    """The month's review metrics of an org, each rate with its parts."""
    _require_reviews_role(actor)
    org_service.ensure_visible(db, actor=actor, org=org)
    check_period(period)
    return metrics_by_org(db, period=period, as_of=as_of or local_today(),
                          org_ids=[org.id])[org.id]


@dataclass
class _Counts:
    """What one org's metrics are computed from."""

    by_level: dict[int, int] = field(default_factory=dict)
    defaults: int = 0
    due: int = 0
    ontime: int = 0
    named_due: int = 0
    named_called: int = 0
    upheld: int = 0
    cases_handled: float = 0.0


def metrics_by_org(db: Session, *, period: str, as_of: date,
                   org_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Every org's metrics for ``period`` (or only ``org_ids``'): ratings by org and level
    from the monthly counts (``ReviewCount``), the month's 差评 cases as plain rows."""
    counts: dict[int, _Counts] = defaultdict(_Counts)
    if org_ids is not None:
        counts.update({org_id: _Counts() for org_id in org_ids})  # asked for: even with none
    counted = [ReviewCount.period == period]
    if org_ids is not None:
        counted.append(ReviewCount.org_id.in_(org_ids))
    for org_id, level, is_default, n in db.execute(
            select(ReviewCount.org_id, ReviewCount.level, ReviewCount.is_default,
                   ReviewCount.reviews).where(*counted)):
        if is_default:
            counts[org_id].defaults += n
        else:
            counts[org_id].by_level[level] = counts[org_id].by_level.get(level, 0) + n
    # The month's cases by the day they were received (the local day of their rating, so the
    # review's period): the month's few thousand, not a join over its millions of reviews.
    month = [NegativeCase.received_on >= first_day(period),
             NegativeCase.received_on < first_day(next_period(period))]
    if org_ids is not None:
        month.append(NegativeCase.org_id.in_(org_ids))
    counted_case = NegativeCase.appeal_upheld.is_not(True)  # an upheld appeal voids the review
    named = counted_case & NegativeCase.named
    for org_id, upheld, due, ontime, named_due, named_called in db.execute(
            select(NegativeCase.org_id,
                   func.count().filter(NegativeCase.appeal_upheld.is_(True)),
                   func.count().filter(counted_case & (
                       (NegativeCase.rectify_due < as_of) | NegativeCase.replied_at.is_not(None))),
                   func.count().filter(counted_case & NegativeCase.replied_on_time),
                   func.count().filter(named & (
                       (NegativeCase.callback_due < as_of)
                       | NegativeCase.called_back_at.is_not(None))),
                   func.count().filter(named & NegativeCase.called_back_on_time))
            .where(*month).group_by(NegativeCase.org_id)):
        c = counts[org_id]
        c.upheld, c.due, c.ontime, c.named_due, c.named_called = (
            upheld, due, ontime, named_due, named_called)
    for org_id, values in assessment.metric_values(db, period=period, org_ids=list(counts),
                                                   metrics=["cases_handled"]).items():
        counts[org_id].cases_handled = values.get("cases_handled", 0.0)
    return {org_id: _metrics_of(period, c) for org_id, c in counts.items()}


def _metrics_of(period: str, c: _Counts) -> dict[str, Any]:
    by_level = c.by_level
    total = sum(by_level.values())
    good = by_level.get(4, 0) + by_level.get(5, 0)
    bad = by_level.get(1, 0) + by_level.get(2, 0)
    level_sum = sum(level * n for level, n in by_level.items())
    score_sum = sum(Level(level).score * n for level, n in by_level.items())
    return {
        "period": period,
        "reviews": total,
        "by_level": {str(level): by_level.get(level, 0) for level in range(1, 6)},
        "good_rate": _rate(good, total),
        "bad_rate": _rate(bad, total),
        "satisfaction": {"value": round((level_sum / total - 1) / 4, 4) if total else None,
                         "numerator": round(level_sum / total - 1, 4) if total else 0,
                         "denominator": 4, "reviews": total},
        "score": {"value": round(score_sum / total, 2) if total else None,
                  "numerator": score_sum, "denominator": total},
        "review_rate": _rate(total, c.cases_handled),
        "ontime_rectification_rate": _rate(c.ontime, c.due),
        "named_callback_rate": _rate(c.named_called, c.named_due),
        "appeals_upheld": c.upheld,
        "default_ratings": c.defaults,
    }


def metrics_as_scored(values: Mapping[str, float]) -> dict[str, Any] | None:
    """The review metrics of an org as a score sheet froze them (its metric values: what
    :func:`record_metrics` wrote, or what was imported), in the shape of :func:`metrics`;
    None when the sheet holds none. Reports of a scored period read these, never the live
    reviews, so a late import changes no published figure."""
    if "reviews" not in values and "default_ratings" not in values:
        return None
    total = values.get("reviews", 0.0)
    satisfaction = values.get("satisfaction_index")
    return {
        "reviews": total,
        "good_rate": _rate(values.get("good_reviews", 0.0), total),
        "bad_rate": _rate(values.get("bad_reviews", 0.0), total),
        "satisfaction": {"value": satisfaction, "reviews": total},
        "review_rate": _rate(total, values.get("cases_handled", 0.0)),
        "ontime_rectification_rate": _rate(values.get("ontime_rectified", 0.0),
                                           values.get("bad_cases_due", 0.0)),
        "named_callback_rate": _rate(values.get("named_called_back", 0.0),
                                     values.get("named_bad_due", 0.0)),
        "appeals_upheld": values.get("appeals_upheld", 0.0),
        "default_ratings": values.get("default_ratings", 0.0),
    }


def record_metrics(db: Session, *, period: str, as_of: date) -> int:
    """Write every org's review metrics for ``period`` as assessment metric values."""
    values: list[MetricInput] = []
    for org_id, m in metrics_by_org(db, period=period, as_of=as_of).items():
        numbers = {
            "reviews": m["reviews"], "good_reviews": m["good_rate"]["numerator"],
            "bad_reviews": m["bad_rate"]["numerator"],
            "ontime_rectified": m["ontime_rectification_rate"]["numerator"],
            "bad_cases_due": m["ontime_rectification_rate"]["denominator"],
            "named_bad_due": m["named_callback_rate"]["denominator"],
            "named_called_back": m["named_callback_rate"]["numerator"],
            "appeals_upheld": m["appeals_upheld"], "default_ratings": m["default_ratings"],
            **{f"level_{k}": v for k, v in m["by_level"].items()},
        }
        if m["satisfaction"]["value"] is not None:
            numbers["satisfaction_index"] = m["satisfaction"]["value"]
            numbers["review_score"] = m["score"]["value"]
        values += [MetricInput(period, org_id, name, float(v)) for name, v in numbers.items()]
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values,
                                           source="reviews")


def record_cases_handled(db: Session, *, actor: Actor, rows: Iterable[tuple[int, dict[str, Cell]]],
                         filename: str) -> int:
    """``period,org,cases_handled`` rows (the denominator of 主动评价率) as metric values."""
    from tongban.assessment import importers

    return importers.import_metric_column(db, actor=actor, rows=rows, metric="cases_handled",
                                          filename=filename)


# ---------------------------------------------------------------- handled cases, default rating

HANDLED_ALIASES = {"单位": "org", "办理单位": "org", "办件编号": "case_no", "事项编码": "item_code",
                   "办结时间": "completed_at", "渠道": "channel", "申办渠道": "channel"}


@dataclass
class HandledImport:
    imported: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"imported": self.imported, "skipped": self.skipped, "errors": []}


def import_handled_cases(db: Session, *, actor: Actor, rows: Iterable[tuple[int, dict[str, Cell]]],
                         filename: str) -> HandledImport:
    """Case records ``org,case_no,completed_at[,item_code,channel]``, all or nothing; a case
    already recorded for the org is skipped, so importing the same export twice adds nothing."""
    org_service.require_manager(actor, "导入办件明细")
    ctx = Checker(db)
    errors = ErrorGroups(file=filename)
    parsed: dict[tuple[int, str], dict[str, Any]] = {}
    for row, values in rows:
        org_ref, case_no = cell_text(values.get("org")), cell_text(values.get("case_no"))
        org = ctx.org(org_ref) if org_ref else "缺少办理单位"
        if isinstance(org, str):
            errors.append(RowError(row, "org", org, filename))
        if not case_no:
            errors.append(RowError(row, "case_no", "缺少办件编号", filename))
        channel_text = cell_text(values.get("channel")) or "网站"
        channel, _ = ctx.channel(channel_text)
        if channel is None:
            errors.append(RowError(row, "channel", f"未知的申办渠道「{channel_text}」", filename))
        completed = rated_at(values.get("completed_at"))
        if completed is None:
            errors.append(RowError(row, "completed_at", f"办结时间「{cell_text(values.get('completed_at'))}」"
                                                        "应为 YYYY-MM-DD HH:MM[:SS]", filename))
        elif completed > ctx.now + CLOCK_SLACK:
            errors.append(RowError(row, "completed_at", "办结时间晚于当前时间", filename))
        if isinstance(org, str) or not case_no or channel is None or completed is None:
            continue
        if (org.id, case_no) in parsed:
            errors.append(RowError(row, "case_no", f"办件编号 {case_no} 在文件中重复", filename))
            continue
        parsed[(org.id, case_no)] = {
            "org_id": org.id, "case_no": case_no, "item_code": cell_text(values.get("item_code")),
            "channel": channel.value, "completed_at": completed, "source": f"import:{filename}"[:200],
            "created_at": ctx.now}
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{filename} 有 {errors.count} 处错误，未导入任何办件")
    known = {(org_id, case_no) for org_id, case_no in db.execute(
        select(HandledCase.org_id, HandledCase.case_no).where(
            _one_of(db, HandledCase.case_no, [k[1] for k in parsed])))} if parsed else set()
    fresh = [v for k, v in parsed.items() if k not in known]
    if fresh:
        db.execute(insert(cast(Table, HandledCase.__table__)), fresh)
    result = HandledImport(imported=len(fresh), skipped=len(parsed) - len(fresh))
    audit.record(db, actor=actor, action="handled_cases.imported", object_type="handled_case",
                 object_id=filename[:128], changes=result.as_dict())
    return result


def apply_default_ratings(db: Session, *, as_of: date) -> int:
    """When the policy is on: a level-5 rating, marked as a default, for every case finished
    ``review_default_rating_days`` days before ``as_of`` (or earlier) that nobody rated.

    Rated means any real rating of the org with the same case number. A case gets its default
    once; the metrics count defaults apart and leave them out of every rate.
    """
    days = get_settings().review_default_rating_days
    if days <= 0:
        return 0
    deadline = end_of_day(as_of - timedelta(days=days))
    # An anti-join, not NOT EXISTS: review has no index on the case number (every import
    # would pay for one), and in this form SQLite builds one for the query where NOT EXISTS
    # scanned every review once per case; PostgreSQL hashes either form.
    rating = and_(Review.org_id == HandledCase.org_id, Review.case_no == HandledCase.case_no,
                  Review.is_default.is_(False))
    unrated = list(db.scalars(select(HandledCase).outerjoin(Review, rating).where(
        HandledCase.default_review_id.is_(None), HandledCase.completed_at <= deadline,
        Review.id.is_(None))))
    now = utcnow()
    given = []
    for handled in unrated:
        local_day = local_date(handled.completed_at) + timedelta(days=days)
        given.append(Review(
            source="default", source_id=f"handled:{handled.id}", channel=handled.channel,
            org_id=handled.org_id, item_code=handled.item_code, case_no=handled.case_no, level=5,
            tags="", comment=f"办结后{days}日内未评价，按非常满意计（默认评价）", named=False,
            phone_cipher="", phone_masked="",
            rated_at=end_of_day(local_day) - timedelta(seconds=1),  # the last second of that day
            period=month_of(local_day), dedup_key=None, is_default=True, voided=False,
            created_at=now))
    db.add_all(given)
    db.flush()  # one flush for all: the ids link each case to its default
    count_reviews(db, Counter((r.period, r.org_id, r.level, True) for r in given))
    for handled, review in zip(unrated, given, strict=True):
        handled.default_review_id = review.id
    if unrated:
        audit.record(db, actor=SYSTEM_ACTOR, action="reviews.defaulted", object_type="review",
                     object_id=f"{as_of}", changes={"defaults": len(unrated), "days": days})
    return len(unrated)


def visible_reviews(db: Session, *, actor: Actor, org: Org | None = None,
                    period: str | None = None, limit: int = 100) -> list[Review]:
    _require_reviews_role(actor)
    stmt = select(Review).where(Review.org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if org is not None:
        stmt = stmt.where(Review.org_id == org.id)
    if period:
        stmt = stmt.where(Review.period == period)
    return list(db.scalars(stmt.order_by(Review.rated_at.desc()).limit(limit)))


def counts_between(db: Session, *, actor: Actor, start: date,
                   end: date) -> dict[int, tuple[int, int]]:
    """Per org the actor sees: reviews rated on local days ``start``…``end`` and how many were
    差评 (voided ones and default ratings left out)."""
    rows = db.execute(select(Review.org_id, func.count(),
                             func.sum(case((Review.level <= 2, 1), else_=0))).where(
        Review.org_id.in_(org_service.visible_org_ids(db, actor=actor)),
        Review.voided.is_(False), Review.is_default.is_(False),
        Review.rated_at > end_of_day(start - timedelta(days=1)),
        Review.rated_at <= end_of_day(end)).group_by(Review.org_id)).all()
    return {org_id: (int(n), int(bad or 0)) for org_id, n, bad in rows}


def dashboard(db: Session, *, actor: Actor, items: int = 10) -> dict[str, Any]:
    """Counts for the analyst dashboard: levels per month, 差评率 per org × month, tags, the
    ``items`` service items with the most 差评; default ratings only as their own count per
    month."""
    org_service.require_citywide(actor, "查看全市好差评分析")
    # Counts from the monthly counts (a few rows per org and month; a count an upheld appeal
    # took to 0 stays as a row, and is left out here).
    real = ReviewCount.is_default.is_(False)
    reviews = func.sum(ReviewCount.reviews)
    per_month = db.execute(select(ReviewCount.period, ReviewCount.level, reviews).where(real)
                           .group_by(ReviewCount.period, ReviewCount.level).having(reviews > 0)
                           .order_by(ReviewCount.period)).all()
    per_org = db.execute(select(ReviewCount.org_id, ReviewCount.period, reviews,
                                func.sum(case((ReviewCount.level <= 2, ReviewCount.reviews),
                                              else_=0))).where(real)
                         .group_by(ReviewCount.org_id, ReviewCount.period)
                         .having(reviews > 0)).all()
    # Tags (of the 差评) and items (差评 and all ratings) from one pass over the ratings.
    bad = func.sum(case((Review.level <= 2, 1), else_=0))
    tags: Counter[str] = Counter()
    by_item: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item_code, tag_text, n_bad, n in db.execute(
            select(Review.item_code, Review.tags, bad, func.count())
            .where(Review.voided.is_(False), Review.is_default.is_(False))
            .group_by(Review.item_code, Review.tags)):
        for tag in filter(None, tag_text.split("、")) if n_bad else ():
            tags[tag] += n_bad
        if item_code:
            by_item[item_code][0] += n_bad
            by_item[item_code][1] += n
    worst_items = sorted(((code, b, n) for code, (b, n) in by_item.items() if b),
                         key=lambda row: (-row[1], row[2], row[0]))[:items]
    defaults = db.execute(select(ReviewCount.period, reviews)
                          .where(ReviewCount.is_default.is_(True)).group_by(ReviewCount.period)
                          .having(reviews > 0).order_by(ReviewCount.period)).all()
    return {"per_month": per_month, "per_org": per_org, "tags": tags.most_common(),
            "items": worst_items, "defaults": defaults}


