"""Benchmark: stream a provincial 好差评 export into the database, then compute the month's
metrics for every org.

    .venv/bin/python bench/reviews/bench_import.py --rows 200000
    .venv/bin/python bench/reviews/bench_import.py --rows 200000 --postgres URL

Prints rows/s, the peak resident memory of the process, on PostgreSQL the import against the
floor of a bare COPY of the same file(s) into an unindexed table, the time of ``record_metrics`` for a
month and, as its baseline, a bare GROUP BY over the same rows in the same database and in
DuckDB (installed by ``pip install -e '.[bench]'``; without it that figure prints as nan).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

os.environ.setdefault("TONGBAN_ENV", "test")
# 60 counties to score: the whole province's tree, as a provincial deployment holds it
os.environ.setdefault("TONGBAN_REFERENCE_SCOPE", "province")

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.core import db as core_db
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews import service as reviews
from tongban.reviews.models import HandledCase, Review
from tongban.reviews.service import checks

CHANNELS = ["窗口", "网站", "APP", "小程序", "自助终端", "12345", "短信"]
ITEMS = [f"511A{k:04d}000000" for k in range(400)]  # a county's catalog of rated items


def write_csv(path: Path, rows: range, total: int, org_codes: list[str]) -> None:
    """Ratings number ``rows`` of an export of ``total`` (the same ratings however split)."""
    rng = random.Random(3 + rows.start)
    start = datetime(2026, 3, 1, 8, 0)
    # One rating every 12 s (100,000 fill a month); more are packed closer so that all of
    # them fall before 2026-11 (rated in the future, they would be refused).
    step = min(12.0, (datetime(2026, 11, 1) - start).total_seconds() / max(total, 1))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(checks.COLUMNS)
        for n in rows:
            level = rng.choices([5, 4, 3, 2, 1], weights=[80, 12, 5, 2, 1])[0]
            rated = start + timedelta(seconds=n * step)
            writer.writerow(["bench", f"b{n:09d}", rng.choice(CHANNELS), rng.choice(org_codes),
                             ITEMS[n * 7919 % len(ITEMS)], f"CASE{n:09d}", level,
                             "办事效率" if level <= 2 else "", "", "否", "",
                             rated.strftime("%Y-%m-%d %H:%M:%S")])


def run(url: str, rows: int, files: int, handled: int = 0) -> dict[str, float]:
    engine = core_db.make_engine(url)
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        org_service.load_reference_divisions(db)
        db.commit()
        codes = list(db.scalars(select(Org.code).where(Org.level == "county").limit(60)))
    imported = cases = 0
    elapsed = copy_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(files):  # one file after another, as monthly exports arrive
            path = Path(tmp) / f"reviews-{k}.csv"
            write_csv(path, range(k * rows // files, (k + 1) * rows // files), rows, codes)
            if engine.dialect.name == "postgresql":
                copy_s += _copy_floor(engine, path)
            with Session(engine) as db:
                start = time.perf_counter()
                result = reviews.import_reviews(db, actor=SYSTEM_ACTOR, source=path)
                db.commit()
                elapsed += time.perf_counter() - start
            imported, cases = imported + result.imported, cases + result.cases_opened
            path.unlink()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with Session(engine) as db:
            periods = list(db.scalars(select(text("DISTINCT period")).select_from(
                text("review"))))
            as_of = date(2026, 12, 31)
            t_metrics = min(timed(lambda: [reviews.metrics_by_org(db, period=p, as_of=as_of)
                                           for p in periods]) for _ in range(3))
            t_record = timed(lambda: [reviews.record_metrics(db, period=p, as_of=as_of)
                                      for p in periods])
            t0 = time.perf_counter()
            db.execute(text("SELECT period, org_id, level, count(*) FROM review "
                            "WHERE voided = false GROUP BY period, org_id, level")).all()
            t_group = time.perf_counter() - t0
            duck = _duckdb_group_by(db)
            t_dashboard = min(timed(lambda: reviews.dashboard(db, actor=SYSTEM_ACTOR))
                              for _ in range(2))
            t_defaults = _default_ratings(db, handled) if handled else float("nan")
    engine.dispose()
    return {"imported": imported, "cases": cases, "seconds": elapsed, "copy_s": copy_s,
            "rows_per_s": imported / elapsed, "peak_mb": peak_mb,
            "metrics_s": t_metrics, "record_s": t_record, "group_by_s": t_group,
            "duckdb_s": duck, "dashboard_s": t_dashboard, "defaults_s": t_defaults,
            "periods": len(periods)}


def _copy_floor(engine: Any, path: Path) -> float:
    """The floor of an import on PostgreSQL: a bare COPY of the same file into an unindexed
    table of text columns, nothing checked (the table is dropped afterwards)."""
    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    columns = ", ".join(f'"c{n}" text' for n in range(len(header)))
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS copy_floor ({columns})")
            raw.commit()
            start = time.perf_counter()
            with cur.copy("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                    path.open("rb") as data:
                while chunk := data.read(1 << 20):
                    copy.write(chunk)
            raw.commit()
            elapsed = time.perf_counter() - start
            cur.execute("DROP TABLE copy_floor")
            raw.commit()
    finally:
        raw.close()
    return elapsed


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _default_ratings(db: Session, handled: int) -> float:
    """``jobs run``'s default ratings over ``handled`` finished cases, half of them rated."""
    os.environ["TONGBAN_REVIEW_DEFAULT_RATING_DAYS"] = "7"
    get_settings.cache_clear()
    rated = db.execute(select(Review.org_id, Review.case_no).limit(handled // 2)).all()
    done = datetime(2026, 10, 1, tzinfo=UTC)
    db.execute(insert(HandledCase), [
        {"org_id": org_id, "case_no": case_no, "completed_at": done, "channel": "website",
         "item_code": "", "source": "bench", "created_at": done}
        for org_id, case_no in [*rated, *((rated[k % len(rated)][0], f"NEW{k:09d}")
                                          for k in range(handled - len(rated)))]])
    db.commit()
    if db.bind is not None and db.bind.dialect.name == "postgresql":
        db.execute(text("ANALYZE handled_case"))
    elapsed = timed(lambda: reviews.apply_default_ratings(db, as_of=date(2026, 11, 30)))
    db.rollback()
    return elapsed


def _duckdb_group_by(db: Session) -> float:
    """The same GROUP BY in DuckDB over the same rows (``pip install -e '.[bench]'``)."""
    try:
        import duckdb
    except ImportError:
        return float("nan")
    rows = db.execute(text("SELECT period, org_id, level, voided FROM review"),
                      execution_options={"stream_results": True, "yield_per": 100_000})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "review.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows((p, o, lv, int(bool(v))) for p, o, lv, v in rows)
        con = duckdb.connect()
        con.execute(f"CREATE TABLE review AS SELECT column0 AS period, column1 AS org_id, "
                    f"column2 AS level, column3 = 1 AS voided FROM read_csv('{path}', "
                    f"header = false, columns = {{'column0': 'VARCHAR', 'column1': 'INTEGER', "
                    f"'column2': 'INTEGER', 'column3': 'INTEGER'}})")
    t0 = time.perf_counter()
    con.execute("SELECT period, org_id, level, count(*) FROM review WHERE NOT voided "
                "GROUP BY period, org_id, level").fetchall()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=1,
                        help="split the rows into this many files, imported one after another")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server")
    parser.add_argument("--handled", type=int, default=0,
                        help="also time the default ratings over this many finished cases")
    args = parser.parse_args()
    with core_db.scratch_database(args.postgres) as url:
        result = run(url, args.rows, args.files, args.handled)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}: imported {int(result['imported']):,} reviews from {args.files} file(s) "
          f"({int(result['cases']):,} 差评 cases) in {result['seconds']:.1f} s = "
          f"{result['rows_per_s']:,.0f} rows/s; peak RSS {result['peak_mb']:.0f} MB")
    if result["copy_s"]:
        print(f"  bare COPY of the same file(s) into an unindexed table: {result['copy_s']:.1f} s;"
              f" the import is {result['seconds'] / result['copy_s']:.1f} × that floor")
    print(f"  metrics of every org for {int(result['periods'])} months: "
          f"{result['metrics_s'] * 1000:.0f} ms ({result['metrics_s'] / result['duckdb_s']:.1f} × "
          f"DuckDB); bare GROUP BY in the database {result['group_by_s'] * 1000:.0f} ms; "
          f"DuckDB {result['duckdb_s'] * 1000:.0f} ms")
    print(f"  record_metrics (computed and written as metric values): "
          f"{result['record_s'] * 1000:.0f} ms")
    print(f"  analyst dashboard (levels, 差评率 per org and month, tags, worst items): "
          f"{result['dashboard_s'] * 1000:.0f} ms")
    if args.handled:
        print(f"  default ratings over {args.handled:,} finished cases (half rated): "
              f"{result['defaults_s'] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
