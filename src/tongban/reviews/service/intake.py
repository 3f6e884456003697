"""Ratings coming in: one from the public API or the rating page, a batch, a provincial export;
ratings held as repeats, the rejects files of imports, the personal data they carry.

A bulk import runs in one transaction, so memory stays flat however long the file: by default
any bad row rolls the whole import back and every bad row is reported; with ``rejects`` the
valid rows go in and each rejected row is written out with its reason. On PostgreSQL a CSV file
is checked set-based (``reviews.service.bulk``), otherwise row by row in chunks; both agree.
"""

from __future__ import annotations

import csv
import os
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import psycopg
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from tongban.core import audit, notify, privacy, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import one_of, utcnow
from tongban.core.errors import ErrorGroups, NotFound, RowError, ValidationFailed
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.core.tabular import Cell, cell_text, open_table
from tongban.core.workdays import end_of_day, local_date
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews.enums import CaseState, Channel
from tongban.reviews.models import NegativeCase, Review
from tongban.reviews.service import bulk, exchange, links, phones
from tongban.reviews.service.cases import announce_new_cases, case_deadlines
from tongban.reviews.service.checks import (
    ALIASES,
    COLUMNS,
    ERRAND_SOURCE,
    ON_SITE_TWICE,
    ONLINE_TWICE,
    OPTIONAL_COLUMNS,
    PUBLIC_SOURCE,
    TAKEN_ID,
    TWIN_ID,
    Checker,
    parse_row,
)
from tongban.reviews.service.counts import count_reviews

CHUNK = 2000
#: How a row of a file becomes review values: ``parse_row``, or a dialect's own.
Parser = Callable[[Any, dict[str, Cell], int], tuple[dict[str, Any] | None, list[RowError]]]


@dataclass
class IntakeResult:
    imported: int = 0
    skipped: int = 0
    errors: ErrorGroups = field(default_factory=ErrorGroups)
    cases_opened: int = 0
    held: int = 0  # public repeats kept out of the counts (see submit_review)
    case_ids: list[int] = field(default_factory=list)  # the cases opened, to announce
    tracking_token: str = ""  # a public rating's tracking link (shown to the rater once)

    @property
    def error_count(self) -> int:
        return self.errors.count

    def as_dict(self) -> dict[str, object]:
        return {"imported": self.imported, "skipped": self.skipped, "held": self.held,
                **self.errors.as_dict(),
                "cases_opened": self.cases_opened}


class FileIds:
    """The row of a file where each (source, source_id) was stored, for the error of a later
    row that gives the same id with other values. Kept in a temporary table, so that a file of
    millions of rows holds none of it in memory."""

    TABLE = "review_file_ids"

    def __init__(self, db: Session) -> None:
        self.db = db
        db.execute(text(f"DROP TABLE IF EXISTS {self.TABLE}"))
        db.execute(text(f"CREATE TEMP TABLE {self.TABLE} (source text, "
                        "source_id text, row_no bigint, PRIMARY KEY (source, source_id))"))

    def add(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        if rows:
            self.db.execute(text(f"INSERT INTO {self.TABLE} VALUES (:source, :source_id, :row)"),
                            [{"source": v["source"], "source_id": v["source_id"], "row": row}
                             for row, v in rows])

    def row_of(self, source: str, source_id: str) -> int | None:
        found: int | None = self.db.scalar(text(f"SELECT row_no FROM {self.TABLE} WHERE source = :source "
                                   "AND source_id = :source_id"),
                              {"source": source, "source_id": source_id})
        return found

    def drop(self) -> None:
        self.db.execute(text(f"DROP TABLE IF EXISTS {self.TABLE}"))


def _store_chunk(db: Session, chunk: list[tuple[int, dict[str, Any]]],
                 result: IntakeResult,
                 file_ids: FileIds | None = None) -> list[tuple[int, list[RowError]]]:
    """Insert a chunk; returns the rows refused by the dedup rules (with their errors).

    A follow-up rating (an exchange record's ``assessNumber`` 2, whose ``_first`` names the
    source id of the rating it follows) goes in after the others, linked to its first rating,
    which must be stored by then (earlier in the file, or before); else it is refused."""
    firsts: list[tuple[int, dict[str, Any]]] = []
    follow_ups: list[tuple[int, dict[str, Any], str]] = []
    for row, values in chunk:
        first = values.pop("_first", "")
        if first:
            follow_ups.append((row, values, first))
        else:
            firsts.append((row, values))
    refused = _store_rows(db, firsts, result, file_ids)
    if follow_ups:
        refused += _store_follow_ups(db, follow_ups, result, file_ids)
    return sorted(refused, key=lambda item: item[0])


def _store_follow_ups(db: Session, chunk: list[tuple[int, dict[str, Any], str]],
                      result: IntakeResult,
                      file_ids: FileIds | None) -> list[tuple[int, list[RowError]]]:
    """Link each follow-up to its first rating and store it; refuse those without one."""
    wanted = {(values["source"], first) for _, values, first in chunk}
    first_of: dict[tuple[str, str], int] = {}
    for source in {s for s, _ in wanted}:
        ids = [sid for s, sid in wanted if s == source]
        for sid, rid in db.execute(select(Review.source_id, Review.id).where(
                Review.source == source, one_of(db, Review.source_id, ids))):
            first_of[(source, sid)] = rid
    refused: list[tuple[int, list[RowError]]] = []
    linked: list[tuple[int, dict[str, Any]]] = []
    for row, values, first in chunk:
        first_id = first_of.get((values["source"], first))
        if first_id is None:
            refused.append((row, [RowError(row, "assessNumber", exchange.FIRST_MISSING)]))
        else:
            linked.append((row, {**values, "follow_up_of": first_id}))
    return refused + _store_rows(db, linked, result, file_ids)


def _store_rows(db: Session, chunk: list[tuple[int, dict[str, Any]]],
                result: IntakeResult,
                file_ids: FileIds | None = None) -> list[tuple[int, list[RowError]]]:
    """Insert rows, skipping known ids given again with the same values; the rows refused by
    the dedup rules. An id given again with other values is refused naming the row that
    gave it first (in this chunk, or through ``file_ids`` in this file) or, stored before
    this file, as taken."""
    by_source: dict[str, list[str]] = {}
    for _, values in chunk:
        by_source.setdefault(values["source"], []).append(values["source_id"])
    present: dict[tuple[str, str], tuple[Any, ...]] = {}
    for source, ids in by_source.items():
        for sid, *kept in db.execute(select(
                Review.source_id, Review.org_id, Review.level, Review.channel, Review.rated_at)
                .where(Review.source == source, one_of(db, Review.source_id, ids))):
            present[(source, sid)] = tuple(kept)
    keys = [v["dedup_key"] for _, v in chunk if v["dedup_key"]]
    taken = set(db.scalars(select(Review.dedup_key).where(
        one_of(db, Review.dedup_key, keys)))) if keys else set()
    refused: list[tuple[int, list[RowError]]] = []
    fresh: list[dict[str, Any]] = []
    stored: list[tuple[int, dict[str, Any]]] = []
    seen_ids: dict[tuple[str, str], tuple[int, tuple[Any, ...]]] = {}
    for row, values in chunk:
        ident = (values["source"], values["source_id"])
        earlier = present[ident] if ident in present else (
            seen_ids[ident][1] if ident in seen_ids else None)
        if earlier is not None and earlier != _identity(values):
            first = seen_ids[ident][0] if ident in seen_ids else (
                file_ids.row_of(*ident) if file_ids is not None else None)
            reason = (TWIN_ID.format(row=first, source=ident[0], source_id=ident[1])
                      if first is not None else
                      TAKEN_ID.format(source=ident[0], source_id=ident[1]))
            refused.append((row, [RowError(row, "source_id", reason)]))
            continue
        if earlier is not None:
            result.skipped += 1
            continue
        key = values["dedup_key"]
        if key and key in taken:
            rule = ON_SITE_TWICE if Channel(values["channel"]).on_site else ONLINE_TWICE
            refused.append((row, [RowError(row, "case_no", rule)]))
            continue
        if key:
            taken.add(key)
        seen_ids[ident] = (row, _identity(values))
        fresh.append(values)
        stored.append((row, values))
    if file_ids is not None:
        file_ids.add(stored)
    if fresh:
        inserted = _insert_reviews(db, fresh)
        count_reviews(db, Counter((v["period"], v["org_id"], v["level"], v["is_default"])
                                  for v in fresh if not v["voided"]))
        result.imported += len(fresh)
        result.held += sum(1 for v in fresh if v["hold"])
        opened = _open_cases(db, [r for r in inserted
                                  if r.level <= 2 and not r.voided and not r.is_default])
        result.cases_opened += len(opened)
        result.case_ids += opened
    return refused


def _identity(values: dict[str, Any]) -> tuple[Any, ...]:
    """What must agree for a row to be the same review as the stored one with its id."""
    return values["org_id"], values["level"], values["channel"], values["rated_at"]


def _insert_reviews(db: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the rows; returns (id, level, org_id, rated_at, tags, named, voided, is_default)
    of the negative ones.

    PostgreSQL takes them through COPY (a multi-row INSERT is parsed and split client-side,
    which dominated a large import), then the few negative ones are looked up for their ids.
    """
    table = cast(Table, Review.__table__)
    wanted = (table.c.id, table.c.level, table.c.org_id, table.c.rated_at, table.c.tags,
              table.c.named, table.c.voided, table.c.is_default)
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


def _open_cases(db: Session, rows: list[Any]) -> list[int]:
    """Open a 差评 case for each new level-1/2 review, with its working-day deadlines; the
    new cases' ids."""
    if not rows:
        return []
    received = {row.id: local_date(row.rated_at) for row in rows}
    dues = case_deadlines(db, received.values())
    now = utcnow()
    return list(db.scalars(insert(cast(Table, NegativeCase.__table__))
                           .returning(NegativeCase.id, sort_by_parameter_order=True), [
        {"review_id": row.id, "org_id": row.org_id, "state": CaseState.received.value,
         "category": _category(row.tags),
         "received_on": received[row.id], "callback_due": dues[received[row.id]][0],
         "rectify_due": dues[received[row.id]][1], "reopen_count": 0, "follow_up": "",
         "reply_text": "", "appeal_reason": "", "named": row.named, "created_at": now}
        for row in rows]))


def _category(tags: str) -> str:
    """A case's category: its review's first tag where that is one of ours (an exchange
    record's tags are the province's aspect codes), else 其他."""
    first = tags.split("、")[0] if tags else ""
    return first if first in get_settings().review_tag_list else "其他"


def submit_review(db: Session, *, values: dict[str, Cell], client: str,
                  phone_code: str = "") -> IntakeResult:
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
    Where SMS is configured a phone is kept only with the code texted to it
    (``phones.send_phone_code``). Every rater gets a tracking link (``tracking_token``).
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
    phone = cell_text(values.get("phone")).strip()
    checked = bool(phone) and notify.sms_ready()
    if checked:
        phones.check_phone_code(db, phone=phone, code=phone_code)
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
    stored = db.scalar(select(Review.id).where(Review.source == PUBLIC_SOURCE,
                                               Review.source_id == row["source_id"]))
    if stored is not None:
        result.tracking_token = links.issue_link(db, review_id=stored, phone_checked=checked)
    announce_new_cases(db, case_ids=result.case_ids)
    return result


def record_errand_rating(db: Session, *, errand_id: int, org: Org, level: int,
                         rated_at: datetime, item_code: str = "", case_no: str = "",
                         phone: str = "", comment: str = "") -> Review:
    """A requester's rating of a 跑团代办 errand as a 好差评 review (channel 跑团), counted like
    any other; a 差评 opens its case and tells the org's liaisons. Idempotent: the review's id
    is ``errand:<errand id>``, so a retry returns the stored review and changes nothing.
    ``comment`` is the requester's words with the rating (checked like any review's)."""
    source_id = f"errand:{errand_id}"
    known = db.scalar(select(Review).where(Review.source == ERRAND_SOURCE,
                                           Review.source_id == source_id))
    if known is not None:
        return known
    given: dict[str, Cell] = {
        "source": ERRAND_SOURCE, "source_id": source_id, "channel": Channel.errand.value,
        "org": org.code, "item_code": item_code, "case_no": case_no or source_id,
        "level": str(level), "named": "是" if phone else "否", "phone": phone,
        "rated_at": rated_at, "comment": comment}
    row, errors = parse_row(Checker(db, feeder=Channel.errand), given, 1)
    if row is None:
        raise ValidationFailed(errors=errors, summary="代办评价未能转为好差评")
    result = IntakeResult()
    refused = _store_chunk(db, [(1, row)], result)
    if refused:
        raise ValidationFailed(errors=refused[0][1], summary="代办评价未能转为好差评")
    announce_new_cases(db, case_ids=result.case_ids)
    return db.scalars(select(Review).where(Review.source == ERRAND_SOURCE,
                                           Review.source_id == source_id)).one()


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


@audit.action({"keys.rotated": "轮换加密密钥"})
def rotate_personal_data(db: Session, *, actor: Actor, batch: int = 5000,
                         progress: Callable[[int], None] | None = None) -> int:
    """Encrypt every stored phone number again with the newest data key (``tongban keys
    rotate``), and key its suffix search hash with it too (which also fills any row the
    migration could not), in batches; refuses, changing nothing, when any cannot be
    decrypted."""
    org_service.require_manager(actor, "更换数据密钥")
    done, last_id = 0, 0
    while True:
        rows = db.execute(select(Review.id, Review.phone_cipher).where(
            Review.id > last_id, Review.phone_cipher != "").order_by(Review.id).limit(batch)).all()
        if not rows:
            break
        db.execute(update(Review), [
            {"id": rid, "phone_cipher": privacy.rotate(cipher),
             "phone_suffix": privacy.phone_suffix_key(privacy.reveal(cipher))}
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


#: The held public ratings as a list: oldest first.
HELD_REVIEWS = Listing(sorts={"rated_at": ("评价时间", [Review.rated_at])}, key=Review.id,
                       search="评价内容中的文字")


def held_reviews(db: Session, *, actor: Actor, params: ListParams) -> Page[Review]:
    """Public ratings held as repeats, oldest first, for an analyst to count or discard."""
    org_service.require_manager(actor, "处理重复评价")
    stmt = select(Review).where(Review.hold == HOLD_HELD)
    if params.q:
        stmt = stmt.where(Review.comment.contains(params.q, autoescape=True))
    return paginate(db, stmt, params=params,
                    order=HELD_REVIEWS.order(params, default=[Review.id]))


def held_count(db: Session, *, actor: Actor) -> int:
    """How many public ratings wait for an analyst (0 for those who cannot decide)."""
    if not actor.can_manage:
        return 0
    return db.scalar(select(func.count()).select_from(Review)
                     .where(Review.hold == HOLD_HELD)) or 0


@audit.action({"review.counted": "计入待定评价", "review.discarded": "舍弃待定评价"})
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
            announce_new_cases(db, case_ids=_open_cases(db, [review]))
    db.flush()
    audit.record(db, actor=actor, action="review.counted" if count else "review.discarded",
                 object_type="review", object_id=review.id,
                 changes={"org": review.org.code, "level": review.level})
    return review


@audit.action({"reviews.submitted": "群众提交评价"})
def submit_batch(db: Session, *, actor: Actor, rows: list[dict[str, Cell]]) -> IntakeResult:
    """Ratings sent together by a connected system (a manager's token): all are stored, or
    none and every problem is listed; one audit entry per batch."""
    org_service.require_manager(actor, "批量提交评价")
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
    announce_new_cases(db, case_ids=result.case_ids)
    audit.record(db, actor=actor, action="reviews.submitted", object_type="review_batch",
                 object_id=",".join(sorted({values["source"] for _, values in parsed}))[:128],
                 changes={"rows": len(rows), "imported": result.imported,
                          "skipped": result.skipped, "cases": result.cases_opened})
    return result


@audit.action({"reviews.imported": "导入评价"})
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
    table = open_table(stream, filename=name, aliases={**ALIASES, **exchange.ALIASES})
    dialect = exchange.is_exchange(table.header)
    if dialect:
        missing = exchange.missing_columns(table.header)
    else:
        missing = [c for c in COLUMNS if c not in table.header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    writer = csv.writer(rejects) if rejects is not None else None
    if writer is not None:
        writer.writerow([*(exchange.FIELDS if dialect else COLUMNS), "row", "reason"])
    ctx = exchange.ExchangeChecker(db) if dialect else Checker(db)
    result = IntakeResult(errors=ErrorGroups(file=name))

    def reject(row: int, values: dict[str, Cell], errors: list[RowError]) -> None:
        if dialect:  # the dedup rules speak of the house columns
            errors = [exchange.in_exchange_terms(e) if e.column in exchange.COLUMN_OF else e
                      for e in errors]
        result.errors.extend(errors)
        if writer is not None:
            cells = (exchange.reject_cells(values) if dialect
                     else [cell_text(values.get(c)) for c in COLUMNS])
            writer.writerow([*cells, row, "；".join(f"{e.column}：{e.reason}" for e in errors)])

    savepoint = db.begin_nested()
    try:
        # The exchange dialect goes row by row on every backend (the set-based path reads the
        # house columns only).
        set_based = (not dialect and db.get_bind().dialect.name == "postgresql"
                     and table.encoding is not None and stream.seekable()
                     and get_settings().review_bulk_sql)
        counts = bulk.import_csv(db, checker=ctx, stream=stream, encoding=table.encoding or "",
                                 header=table.header, reject=reject,
                                 progress=progress) if set_based else None
        if counts is not None:
            result.imported, result.skipped = counts.imported, counts.skipped
            result.cases_opened, result.case_ids = len(counts.case_ids), counts.case_ids
        else:
            if set_based:
                table = table.rewind(stream)  # COPY could not read it: row by row, afresh
            _import_rows(db, ctx=ctx, rows=table.rows, result=result, reject=reject,
                         progress=progress, parse=exchange.parse_record if dialect else parse_row)
    except BaseException:
        savepoint.rollback()
        raise
    finished = _finish_import(db, actor=actor, savepoint=savepoint, result=result, name=name,
                              listing_only=writer is None, rejects_file=rejects_file)
    if isinstance(ctx, exchange.ExchangeChecker):  # its unmapped deptCodes, for the register
        exchange.note_unmapped_codes(db, actor=actor, checker=ctx)
    return finished


def _import_rows(db: Session, *, ctx: Checker, rows: Iterable[tuple[int, dict[str, Cell]]],
                 result: IntakeResult,
                 reject: Callable[[int, dict[str, Cell], list[RowError]], None],
                 progress: Callable[[int], None] | None, parse: Parser = parse_row) -> None:
    """The row-by-row path: every ``CHUNK`` rows, the valid ones are stored and the rejected
    ones (invalid, or refused by the dedup rules) reported in row order."""
    postgres = db.get_bind().dialect.name == "postgresql"
    chunk: list[tuple[int, dict[str, Any]]] = []
    raw_of: dict[int, dict[str, Cell]] = {}
    bad: list[tuple[int, dict[str, Cell], list[RowError]]] = []
    processed = chunks = 0

    file_ids = FileIds(db)

    def flush() -> None:
        refused = [(row, raw_of[row], errors)
                   for row, errors in _store_chunk(db, chunk, result, file_ids)]
        for row, values, errors in sorted(bad + refused, key=lambda item: item[0]):
            reject(row, values, errors)
        chunk.clear()
        raw_of.clear()
        bad.clear()

    for row, values in rows:
        parsed, errors = parse(ctx, values, row)
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
    file_ids.drop()
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
    announce_new_cases(db, case_ids=result.case_ids)
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
