"""Set-based import of a provincial 好差评 CSV export on PostgreSQL.

Checking row by row costs ~30 µs of Python a row. Here the file goes into a temporary table
through COPY as it is, and the checks of ``checks.parse_row`` run over all rows at once: in
SQL where SQL decides exactly as Python would (blank cells, lengths, the common timestamp
form), and otherwise by the ``checks.Checker`` functions themselves, once per distinct value
of a column (channels, orgs, levels, tags, 实名, phone numbers, unusual timestamps). The
duplicate rules (the same review again is skipped, its id on another review is refused;
一事一评 / 一次一评 are refused) are decided
in SQL for rows that share neither with another row of the file, and in file order in Python
for the few that do. ``tests/reviews/test_bulk_import.py`` holds both paths equal.

A file that COPY cannot read as it is (a short or long row, a blank line, a stray byte)
makes :func:`import_csv` return None, and the caller takes the row-by-row path, which
reports such rows one by one. So does a file Python's reader refuses and COPY might take: a
NUL byte, a line that does not decode as the file's start did, a cell over ``csv``'s field
limit; the row path refuses the whole file, naming the row.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from tongban.core.errors import RowError
from tongban.core.tabular import Cell
from tongban.core.workdays import local_zone
from tongban.reviews.service.cases import case_deadlines
from tongban.reviews.service.checks import (
    CLOCK_SLACK,
    COLUMNS,
    LIMITS,
    ON_SITE_TWICE,
    ONLINE_TWICE,
    PUBLIC_SOURCES,
    RESERVED_SOURCE,
    STORED_AS_IS,
    TAKEN_ID,
    TWIN_ID,
    Checker,
    too_long,
)
from tongban.reviews.service.counts import count_reviews

#: A rejected row: its number, its cells (stripped, by canonical name) and what is wrong.
Reject = Callable[[int, dict[str, Cell], list[RowError]], None]
BATCH = 5000
_ENCODINGS = {"utf-8-sig": "UTF8", "gb18030": "GB18030"}


class _NotAsIs(Exception):
    """The file holds what the row-by-row reader refuses (see the module docstring)."""


@dataclass
class BulkCounts:
    imported: int
    skipped: int
    case_ids: list[int]


@functools.cache
def _whitespace() -> str:
    """The characters Python's ``str.strip()`` removes, for ``btrim``."""
    return "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


def import_csv(db: Session, *, checker: Checker, stream: IO[bytes], encoding: str,
               header: Sequence[str], reject: Reject,
               progress: Callable[[int], None] | None = None) -> BulkCounts | None:
    """Import the CSV in ``stream`` (header already read as ``header``); None when COPY
    cannot read the file as it is. Rejected rows go to ``reject`` in row order."""
    # Compiling these one-off statements (JIT, on for costly plans) took longer than running
    # them; sorts and hashes over a whole file fit in memory instead of spilling to disk.
    db.execute(text("SET LOCAL jit = off"))
    db.execute(text("SET LOCAL work_mem = '64MB'"))
    _drop_temporaries(db)
    staged = len(header)
    db.execute(text(
        "CREATE TEMP TABLE review_stage (row_no bigint GENERATED ALWAYS AS IDENTITY "
        f"(START WITH 2), {', '.join(f'c{i} text' for i in range(staged))})"))
    savepoint = db.begin_nested()
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        stream.seek(0)
        with _raw(db).cursor() as cursor, cursor.copy(
                f"COPY review_stage ({', '.join(f'c{i}' for i in range(staged))}) FROM STDIN "
                f"(FORMAT csv, HEADER true, ENCODING '{_ENCODINGS[encoding]}')") as copy:
            lines = 0
            while block := stream.read(1 << 20):
                if b"\x00" in block:
                    raise _NotAsIs
                decoder.decode(block)  # as the row path decodes it (PostgreSQL's may differ)
                copy.write(block)
                lines += block.count(b"\n")
                if progress and lines:
                    progress(lines)
            decoder.decode(b"", final=True)
        _check_field_sizes(db, staged)
    except (psycopg.Error, UnicodeDecodeError, _NotAsIs):
        savepoint.rollback()
        _drop_temporaries(db)
        return None
    savepoint.commit()
    _normalise(db, header)
    _map_columns(db, checker)
    _check(db, checker)
    _decide_duplicates(db)
    _report(db, reject)
    counts = _insert(db, checker)
    _drop_temporaries(db)
    return counts


def _check_field_sizes(db: Session, staged: int) -> None:
    """Raise :class:`_NotAsIs` when a cell is longer than ``csv`` reads."""
    limit = csv.field_size_limit()
    longer = " OR ".join(f"(octet_length(c{i}) > :limit AND char_length(c{i}) > :limit)"
                         for i in range(staged))
    if db.scalar(text(f"SELECT EXISTS (SELECT 1 FROM review_stage WHERE {longer})"),
                 {"limit": limit}):
        raise _NotAsIs


def _raw(db: Session) -> psycopg.Connection[Any]:
    """The session's psycopg connection (asking the session for it first emits any SAVEPOINT
    it has begun but not yet sent)."""
    return cast(psycopg.Connection[Any], db.connection().connection.dbapi_connection)


def _drop_temporaries(db: Session) -> None:
    for name in ("review_stage", "review_norm", "review_checked", "review_fate", "review_due",
                 *(f"review_map_{c}" for c in _MAPPED)):
        db.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _normalise(db: Session, header: Sequence[str]) -> None:
    """One row per non-blank record: the free-text cells stripped as Python strips them, the
    cells of checked columns as they are (their maps strip), and the rating time where SQL
    reads it itself (``ts``; NULL where Python will)."""
    position = {name: i for i, name in enumerate(header)}  # a repeated name: the last wins

    def cell(name: str) -> str:
        return f"c{position[name]}" if name in position else "NULL::text"

    # btrim with the whole set costs; most cells have nothing to strip at either end.
    free = [f"CASE WHEN strpos(:ws, left({cell(c)}, 1)) > 0 "
            f"OR strpos(:ws, right({cell(c)}, 1)) > 0 THEN btrim({cell(c)}, :ws) "
            f"ELSE coalesce({cell(c)}, '') END AS {c}" for c in _FREE_TEXT]
    kept = [f"coalesce({cell(c)}, '') AS {c}" for c in COLUMNS if c not in _FREE_TEXT]
    blank = " AND ".join(f"btrim(coalesce(c{i}, ''), :ws) = ''" for i in range(len(header)))
    db.execute(text(
        f"CREATE TEMP TABLE review_norm AS SELECT {', '.join(('row_no', *COLUMNS))}, "
        f"{_SQL_TIME} AS ts "
        # OFFSET 0 keeps each subquery whole, so each cell is stripped once, not per use.
        f"FROM (SELECT *, translate(rated_at, '/T', '- ') AS t FROM ("
        f"SELECT *, {', '.join(free + kept)} FROM review_stage OFFSET 0) cells "
        f"WHERE CASE WHEN {' OR '.join(f'{c} <> {_EMPTY}' for c in _FREE_TEXT)} THEN true "
        f"ELSE NOT ({blank}) END OFFSET 0) rows"),
        {"ws": _whitespace(), "shape": _SQL_TIME_SHAPE, "zone": local_zone().key})
    db.execute(text("DROP TABLE review_stage"))


_FREE_TEXT = ("source", "source_id", "item_code", "case_no", "comment", "rated_at")
_EMPTY = "''"


# column → (map columns with their SQL types, the rows' values they are computed from)
_MAPPED: dict[str, tuple[str, str]] = {
    "channel": ("channel text, on_site boolean, error text", "channel"),
    "org": ("org_id integer, error text", "org"),
    "level": ("level integer, error text", "level"),
    "tags": ("tags text, error text", "tags"),
    "named": ("named boolean, error text", "named"),
    "phone": ("cipher text, masked text, suffix text, error text", "phone"),
    "time": ("ts timestamptz, error text", "rated_at"),
}


def _map_columns(db: Session, checker: Checker) -> None:
    """Each distinct value of a checked column through the same Python check as a row."""

    def org(value: str) -> tuple[Any, ...]:
        found = checker.org(value)
        return (None, found) if isinstance(found, str) else (found.id, None)

    def channel(value: str) -> tuple[Any, ...]:
        found, error = checker.channel(value)
        return (None, None, error) if found is None else (found.value, found.on_site, None)

    compute: dict[str, Callable[[str], tuple[Any, ...]]] = {
        "channel": channel, "org": org, "level": checker.level, "tags": checker.tags,
        "named": checker.named, "phone": checker.phone, "time": checker.rated_at}
    stripped = {"time"}  # the others' cells are kept as they are: stripped here, as a row's
    only = {"phone": "phone <> ''", "time": "ts IS NULL"}
    for name, (columns, source) in _MAPPED.items():
        db.execute(text(f"CREATE TEMP TABLE review_map_{name} (raw text PRIMARY KEY, {columns})"))
        where = f"WHERE {only[name]}" if name in only else ""
        check = compute[name] if name in stripped else _stripping(compute[name])
        _fill(db, f"SELECT DISTINCT {source} FROM review_norm {where}", f"review_map_{name}",
              check)
        db.execute(text(f"ANALYZE review_map_{name}"))


def _stripping(check: Callable[[str], tuple[Any, ...]]) -> Callable[[str], tuple[Any, ...]]:
    return lambda value: check(value.strip())


def _fill(db: Session, query: str, table: str, compute: Callable[[str], tuple[Any, ...]]) -> None:
    raw = _raw(db)
    with raw.cursor(name=f"{table}_source") as values:
        values.execute(query)
        while batch := values.fetchmany(BATCH):
            # Computed before COPY starts: a check may itself query (an org by its name).
            computed = [(value, *compute(value)) for (value,) in batch]
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for item in computed:
                    copy.write_row(item)


#: A rating time SQL reads itself (after / → - and T → space, as Python): 2026-03-01 08:00[:00]
#: with every part in range; the day also within its month (checked for days after the 28th).
_SQL_TIME_SHAPE = (r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) "
                   r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
_SQL_TIME = (
    "CASE WHEN t ~ :shape THEN CASE WHEN substr(t, 9, 2) <= '28' OR substr(t, 9, 2)::int <= "
    "(ARRAY[31, CASE WHEN substr(t, 1, 4)::int % 4 = 0 AND (substr(t, 1, 4)::int % 100 <> 0 "
    "OR substr(t, 1, 4)::int % 400 = 0) THEN 29 ELSE 28 END, "
    "31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[substr(t, 6, 2)::int] "
    "THEN t::timestamp AT TIME ZONE :zone END END"
)


def _check(db: Session, checker: Checker) -> None:
    """Every row with its checked values and, per column, what is wrong with it; ``bad``
    when anything is, else its local day and dedup key."""
    # review_norm has no statistics (gathering them cost more than this): without them the
    # planner would join the maps in nested loops.
    db.execute(text("SET LOCAL enable_nestloop = off"))
    lengths = ", ".join(f"CASE WHEN char_length(n.{c}) > {LIMITS[c]} THEN :{c}_long END "
                        f"AS {c}_long" for c in STORED_AS_IS)
    db.execute(text(f"""
        CREATE TEMP TABLE review_checked AS
        SELECT *, CASE WHEN NOT bad THEN (ts AT TIME ZONE :zone)::date END AS local_day,
               CASE WHEN bad OR case_no = '' THEN NULL
                    WHEN on_site THEN case_no || '|' || channel || '|'
                                      || to_char(ts AT TIME ZONE :zone, 'YYYY-MM-DD')
                    ELSE case_no || '|' || channel END AS dedup_key
        FROM (
            SELECT *, source = '' OR source_id = '' OR source_long IS NOT NULL
                      OR source_reserved IS NOT NULL
                      OR source_id_long IS NOT NULL OR item_code_long IS NOT NULL
                      OR case_no_long IS NOT NULL OR channel_error IS NOT NULL
                      OR org_error IS NOT NULL OR level_error IS NOT NULL
                      OR tags_error IS NOT NULL OR comment_error IS NOT NULL
                      OR named_error IS NOT NULL OR phone_error IS NOT NULL
                      OR time_error IS NOT NULL OR ts IS NULL AS bad
            FROM (
                SELECT n.row_no, n.source, n.source_id, n.item_code, n.case_no, n.comment,
                       {lengths},
                       CASE WHEN n.source = ANY(:public) THEN
                           replace(:reserved, '{{source}}', n.source) END AS source_reserved,
                       ch.channel, ch.on_site, ch.error AS channel_error,
                       o.org_id, o.error AS org_error, lv.level, lv.error AS level_error,
                       tg.tags, tg.error AS tags_error, nm.named, nm.error AS named_error,
                       coalesce(ph.cipher, '') AS phone_cipher,
                       coalesce(ph.masked, '') AS phone_masked,
                       coalesce(ph.suffix, '') AS phone_suffix, ph.error AS phone_error,
                       coalesce(n.ts, tm.ts) AS ts,
                       CASE WHEN n.ts IS NULL THEN tm.error WHEN n.ts > :latest THEN :future END
                           AS time_error,
                       CASE WHEN char_length(n.comment) > :comment_max THEN :too_long END
                           AS comment_error
                FROM review_norm n
                JOIN review_map_channel ch ON ch.raw = n.channel
                JOIN review_map_org o ON o.raw = n.org
                JOIN review_map_level lv ON lv.raw = n.level
                JOIN review_map_tags tg ON tg.raw = n.tags
                JOIN review_map_named nm ON nm.raw = n.named
                LEFT JOIN review_map_phone ph ON ph.raw = n.phone
                LEFT JOIN review_map_time tm ON tm.raw = n.rated_at AND n.ts IS NULL
            ) joined
        ) judged
    """), {"latest": checker.now + CLOCK_SLACK, "future": "评价时间晚于当前时间",
           "public": sorted(PUBLIC_SOURCES), "reserved": RESERVED_SOURCE,
           "comment_max": checker.comment_max,
           "too_long": checker.comment_error("x" * (checker.comment_max + 1)),
           "zone": local_zone().key,
           **{f"{c}_long": too_long(c, "x" * (LIMITS[c] + 1)) for c in STORED_AS_IS}})
    db.execute(text("SET LOCAL enable_nestloop = on"))
    db.execute(text("ANALYZE review_checked (row_no, bad)"))


#: A row of ``review_checked`` that goes in: valid, and neither skipped nor refused.
_ACCEPTED = "NOT c.bad AND NOT EXISTS (SELECT 1 FROM review_fate f WHERE f.row_no = c.row_no)"


def _decide_duplicates(db: Session) -> None:
    """The valid rows that do not go in (``review_fate``): skipped (the source id is known) or
    refused (the case was rated on that channel). Rows sharing a source id or a dedup key with
    another row of the file are decided in file order, as the row-by-row path does. Only those
    rows are kept, so that the few of them, not the many accepted, are what the insert joins."""
    db.execute(text("""
        CREATE TEMP TABLE review_fate AS SELECT * FROM (
        WITH valid AS MATERIALIZED (
            SELECT c.row_no, c.source, c.source_id, c.dedup_key, c.on_site,
                   EXISTS (SELECT 1 FROM review r WHERE r.source = c.source
                           AND r.source_id = c.source_id) AS known,
                   EXISTS (SELECT 1 FROM review r WHERE r.source = c.source
                           AND r.source_id = c.source_id
                           AND (r.org_id, r.level, r.channel, r.rated_at)
                               IS DISTINCT FROM (c.org_id, c.level, c.channel, c.ts)) AS clash,
                   c.dedup_key IS NOT NULL AND EXISTS (
                       SELECT 1 FROM review r WHERE r.dedup_key = c.dedup_key) AS taken
            FROM review_checked c WHERE NOT c.bad),
        same_id AS (SELECT source, source_id FROM valid WHERE NOT known
                    GROUP BY source, source_id HAVING count(*) > 1),
        same_key AS (SELECT dedup_key FROM valid WHERE NOT known AND dedup_key IS NOT NULL
                     GROUP BY dedup_key HAVING count(*) > 1)
        SELECT row_no, on_site, source, source_id, dedup_key, taken, NULL::bigint AS first_row,
               CASE WHEN clash THEN 'clash' WHEN known THEN 'skipped'
                    WHEN (source, source_id) IN (SELECT * FROM same_id)
                         OR dedup_key IN (SELECT * FROM same_key) THEN NULL
                    WHEN taken THEN 'refused' ELSE 'accepted' END AS fate
        FROM valid) judged WHERE fate IS DISTINCT FROM 'accepted'
    """))
    raw = _raw(db)
    seen: dict[tuple[str, str], tuple[int, tuple[Any, ...]]] = {}
    keys: set[str] = set()
    decided: list[tuple[int, str, int | None]] = []
    with raw.cursor(name="review_contested") as contested:
        contested.execute(
            "SELECT f.row_no, f.source, f.source_id, f.dedup_key, f.taken, c.org_id, c.level, "
            "c.channel, c.ts FROM review_fate f JOIN review_checked c ON c.row_no = f.row_no "
            "WHERE f.fate IS NULL ORDER BY f.row_no")
        for row_no, source, source_id, key, taken, *identity in contested:
            first = seen.get((source, source_id))
            if first is not None:  # the same id again: the same review, or a twin that differs
                same = first[1] == tuple(identity)
                decided.append((row_no, "skipped" if same else "twin", None if same else first[0]))
            elif key is not None and (taken or key in keys):
                decided.append((row_no, "refused", None))
            else:
                decided.append((row_no, "accepted", None))
                seen[(source, source_id)] = (row_no, tuple(identity))
                if key is not None:
                    keys.add(key)
    if decided:
        db.execute(text("CREATE TEMP TABLE review_decided (row_no bigint, fate text, "
                        "first_row bigint)"))
        with raw.cursor() as cursor, cursor.copy("COPY review_decided FROM STDIN") as copy:
            for item in decided:
                copy.write_row(item)
        db.execute(text("UPDATE review_fate f SET fate = d.fate, first_row = d.first_row "
                        "FROM review_decided d WHERE d.row_no = f.row_no"))
        db.execute(text("DROP TABLE review_decided"))
        db.execute(text("DELETE FROM review_fate WHERE fate = 'accepted'"))
    db.execute(text("CREATE INDEX ON review_fate (row_no)"))
    db.execute(text("ANALYZE review_fate (row_no, fate)"))


def _report(db: Session, reject: Reject) -> None:
    """Every rejected row, in row order, with its errors in the order ``parse_row`` finds them."""
    raw = _raw(db)
    with raw.cursor(name="review_errors") as errors:
        errors.execute(f"""
            SELECT e.row_no, e.col, e.reason, {', '.join(f'n.{c}' for c in COLUMNS)}
            FROM (
                SELECT c.row_no, x.ord, x.col, x.reason FROM review_checked c
                CROSS JOIN LATERAL (VALUES
                    (1, 'source', CASE WHEN c.source = '' THEN '缺少来源'
                                       ELSE c.source_reserved END),
                    (2, 'source_id', CASE WHEN c.source_id = '' THEN '缺少来源编号' END),
                    (3, 'source', c.source_long), (4, 'source_id', c.source_id_long),
                    (5, 'item_code', c.item_code_long), (6, 'case_no', c.case_no_long),
                    (7, 'channel', c.channel_error), (8, 'org', c.org_error),
                    (9, 'level', c.level_error), (10, 'tags', c.tags_error),
                    (11, 'comment', c.comment_error), (12, 'named', c.named_error),
                    (13, 'phone', c.phone_error), (14, 'rated_at', c.time_error)
                ) AS x(ord, col, reason)
                WHERE c.bad AND x.reason IS NOT NULL
                UNION ALL
                SELECT row_no, 15, 'case_no',
                       CASE WHEN on_site THEN %(on_site)s ELSE %(online)s END
                FROM review_fate WHERE fate = 'refused'
                UNION ALL
                SELECT row_no, 16, 'source_id',
                       replace(replace(%(taken)s, '{{source}}', source), '{{source_id}}',
                               source_id)
                FROM review_fate WHERE fate = 'clash'
                UNION ALL
                SELECT row_no, 16, 'source_id',
                       replace(replace(replace(%(twin)s, '{{source}}', source), '{{source_id}}',
                                       source_id), '{{row}}', first_row::text)
                FROM review_fate WHERE fate = 'twin'
            ) e JOIN review_norm n ON n.row_no = e.row_no
            ORDER BY e.row_no, e.ord
        """, {"on_site": ON_SITE_TWICE, "online": ONLINE_TWICE, "taken": TAKEN_ID,
              "twin": TWIN_ID})
        for row_no, found in itertools.groupby(_batched(errors), key=lambda r: r[0]):
            rows = list(found)
            reject(row_no, dict(zip(COLUMNS, rows[0][3:], strict=True)),
                   [RowError(row_no, column, reason) for _, column, reason, *_ in rows])


def _batched(cursor: Any) -> Iterable[tuple[Any, ...]]:
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def _insert(db: Session, checker: Checker) -> BulkCounts:
    """The accepted rows into ``review`` and a 差评 case for each negative one, in one go."""
    zone = local_zone().key
    days = db.scalars(text(
        f"SELECT DISTINCT c.local_day FROM review_checked c WHERE {_ACCEPTED} AND c.level <= 2"))
    db.execute(text("CREATE TEMP TABLE review_due (received date PRIMARY KEY, "
                    "callback_due date, rectify_due date)"))
    dues = [{"received": day, "callback": callback, "rectify": rectify}
            for day, (callback, rectify) in case_deadlines(db, list(days)).items()]
    if dues:
        db.execute(text("INSERT INTO review_due VALUES (:received, :callback, :rectify)"), dues)
    counted = db.execute(text(f"""
        WITH fresh AS (
            INSERT INTO review (source, source_id, channel, org_id, item_code, case_no, level,
                                tags, comment, named, phone_cipher, phone_masked, phone_suffix,
                                rated_at,
                                period, dedup_key, is_default, voided, created_at)
            SELECT c.source, c.source_id, c.channel, c.org_id, c.item_code, c.case_no, c.level,
                   c.tags, c.comment, c.named, c.phone_cipher, c.phone_masked, c.phone_suffix,
                   c.ts,
                   to_char(c.local_day, 'YYYY-MM'), c.dedup_key, false, false, :now
            FROM review_checked c WHERE {_ACCEPTED}
            RETURNING id, level, org_id, rated_at, tags, named, period),
        opened AS (
            INSERT INTO negative_case (review_id, org_id, state, category, received_on,
                                       callback_due, rectify_due, reopen_count, follow_up,
                                       reply_text, appeal_reason, named, created_at)
            SELECT fresh.id, fresh.org_id, 'received',
                   CASE WHEN fresh.tags = '' THEN '其他' ELSE split_part(fresh.tags, '、', 1) END,
                   d.received, d.callback_due, d.rectify_due, 0, '', '', '', fresh.named, :now
            FROM fresh JOIN review_due d ON d.received = (fresh.rated_at AT TIME ZONE :zone)::date
            WHERE fresh.level <= 2
            RETURNING id)
        SELECT period, org_id, level, count(*), NULL::integer[] FROM fresh
        GROUP BY period, org_id, level
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, (SELECT array_agg(id) FROM opened)
    """), {"now": checker.now, "zone": zone}).all()
    # The opened cases' ids come once, in a row of their own: in every group row they were
    # months × orgs × levels copies of the whole list (2 GB at a million rows).
    groups = [row for row in counted if row[0] is not None]
    cases = sorted(next((row[4] for row in counted if row[0] is None), None) or [])
    imported = sum(row[3] for row in groups)
    count_reviews(db, {(period, org_id, level, False): n
                       for period, org_id, level, n, _ in groups})
    skipped = db.scalar(text("SELECT count(*) FROM review_fate WHERE fate = 'skipped'")) or 0
    return BulkCounts(imported=imported, skipped=skipped, case_ids=cases)
