"""The set-based import (PostgreSQL, CSV) gives what the row-by-row import gives, row for row.

Every check of ``checks.parse_row`` and every duplicate rule is exercised by one file, imported
once through each path from the same database state; the results, the errors, the rejects
file, the stored reviews and the opened cases must be the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR
from tongban.reviews import service
from tongban.reviews.models import NegativeCase, Review, ReviewCount
from tongban.reviews.service import bulk

HEADER = ["来源", "来源编号", "评价渠道", "评价对象", "事项编码", "办件编号", "评价等级", "问题标签",
          "评价内容", "是否实名", "联系电话", "评价时间", "备注"]
BASE = [  # already in the database before the file under test
    ["p", "old-1", "网站", "巴州区", "", "K-old", "5", "", "", "否", "", "2026-02-01 09:00", ""],
    ["p", "old-2", "窗口", "巴州区", "", "K-site", "4", "", "", "否", "", "2026-02-02 09:00", ""],
]


def ok(sid: str, **changes: str) -> list[str]:
    cells = {"source": "p", "source_id": sid, "channel": "网站", "org": "巴州区", "item": "511A01",
             "case": f"K-{sid}", "level": "5", "tags": "", "comment": "", "named": "否",
             "phone": "", "rated": "2026-03-02 09:00:00", "note": ""} | changes
    return list(cells.values())


ROWS = [
    ok("1"),
    ok("2", channel="APP", org="巴中市", level="非常满意", tags="办事效率;材料繁琐", named="是",
       phone="138 0013 8000", rated="2026/03/02T10:15"),
    ok("3", source=" p ", source_id="\u30003 ", channel=" app ", org=" 巴州区", level=" 2 ",
       tags="服务态度、 多次跑动", comment=" 态度差，电话13800138000 ", rated=" 2026-03-03 08:00 "),
    ok("", source=""),
    ok("5", channel="传真", org="火星市", level="6", tags="乱收费", named="也许", phone="12ab",
       rated="昨天"),
    ok("6", comment="很" * 501),
    ok("7", rated="2030-01-01 00:00:00"),
    ok("8a", rated="2026-03-04T08:00:00+08:00"),
    ok("8b", rated="2026-03-04 00:00:00Z"),
    ok("8c", rated="2026-03-05"),
    ok("9a", rated="2026-02-30 10:00"),
    ok("9b", rated="2026-13-01 10:00"),
    ok("9c", rated="2026-03-01 24:00"),
    ok("9d", rated="2026-03-01 23:60"),
    ok("10a", rated="2024-02-29 10:00"),
    ok("10b", rated="2025-02-29 10:00"),
    ok("11", level="５"),
    ok("12", level="1", tags="等待时间长", named="实名", phone="+8613800138000"),
    ok("13", level="不满意", named="Y", rated="2026-09-30 16:00:00"),
    ok("14", phone="1380013800012345"),
    ok("15", channel="12345", named="TRUE"),
    ok("16", channel="短信", named="匿名", case=""),
    ok("17", case=""),
    ok("x" * 65, source="s" * 33, item="i" * 101, case="k" * 65),   # longer than stored
    ok("26", case="k" * 64, item="i" * 100),                           # as long as stored
    ["", "", "", "", "", "", "", "", "", "", "", "", ""],          # blank: skipped silently
    [" ", "\u3000", "", "", "", "", "", "", "", "", "", "", "\t"],  # blank too
    ok("1"),                                   # the same source id again: skipped
    ok("18", case="K-1"),                      # 一事一评: case K-1 rated online on 网站
    ok("19", case="K-1", channel="APP"),       # another channel: fine
    ok("old-1", case="K-old", rated="2026-02-01 09:00"),   # a stored review again: skipped
    ok("old-2", case="K-o2"),                  # a stored review's id on another: refused
    ok("20", case="K-old"),                    # its case is rated already: refused
    ok("21", channel="窗口", case="K-site", rated="2026-02-02 15:00"),   # 一次一评: same visit
    ok("22", channel="窗口", case="K-site", rated="2026-02-03 15:00"),   # a later visit
    ok("23", case="K-old", note="x"),          # refused, and then the same id again:
    ok("23", case="K-23"),                     # ... evaluated afresh, accepted
    ok("24", case="K-24"),
    ok("24", case="K-24"),                     # duplicate of an accepted row: skipped
    ok("25", case="K-24"),                     # its case was taken by row 24: refused
]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def outcome(db: Session, data: bytes, *, with_rejects: bool) -> dict[str, Any]:
    """Import ``data`` in a savepoint, record everything it did, then undo it."""
    rejects = io.StringIO() if with_rejects else None
    savepoint = db.begin_nested()
    try:
        try:
            result: Any = service.import_reviews(
                db, actor=SYSTEM_ACTOR, source=io.BytesIO(data), filename="评价.csv",
                rejects=rejects).as_dict()
        except ValidationFailed as exc:
            result = {"refused": exc.summary, **exc.errors.as_dict()}
        reviews = [
            (r.source, r.source_id, r.channel, r.org_id, r.item_code, r.case_no, r.level, r.tags,
             r.comment, r.named, privacy.reveal(r.phone_cipher), r.phone_masked,
             r.rated_at.isoformat(), r.period, r.dedup_key, r.is_default, r.voided)
            for r in db.scalars(select(Review).where(Review.source == "p")
                                .order_by(Review.source_id, Review.id))]
        cases = [
            (review.source_id, c.org_id, c.state, c.category, c.received_on, c.callback_due,
             c.rectify_due, c.named)
            for c, review in db.execute(select(NegativeCase, Review).join(Review)
                                        .where(Review.source == "p")
                                        .order_by(Review.source_id))]
        counts = sorted(db.execute(select(ReviewCount.period, ReviewCount.org_id,
                                          ReviewCount.level, ReviewCount.reviews)
                                   .where(ReviewCount.reviews != 0)).all())
    finally:
        savepoint.rollback()
    lines = rejects.getvalue().splitlines() if rejects else []
    return {"result": result, "rejects": lines[:1] + sorted(lines[1:]), "reviews": reviews,
            "cases": cases, "counts": counts}


@pytest.fixture
def postgres(db: Session) -> Session:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the set-based import runs on PostgreSQL")
    service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(csv_bytes(BASE)),
                           filename="base.csv")
    return db


@pytest.fixture
def bulk_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """What each set-based import returned (None: it handed the file to the row path)."""
    calls: list[object] = []
    real = bulk.import_csv

    def spy(*args: Any, **kwargs: Any) -> object:
        calls.append(counts := real(*args, **kwargs))
        return counts

    monkeypatch.setattr(bulk, "import_csv", spy)
    yield calls


def row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_BULK_SQL", "false")
    get_settings.cache_clear()


@pytest.mark.parametrize("with_rejects", [True, False], ids=["skip-invalid", "all-or-nothing"])
def test_set_based_import_matches_row_by_row_import(
        postgres: Session, bulk_calls: list[object], monkeypatch: pytest.MonkeyPatch,
        with_rejects: bool) -> None:
    data = csv_bytes(ROWS)
    fast = outcome(postgres, data, with_rejects=with_rejects)
    assert bulk_calls and bulk_calls[-1] is not None, "the set-based path must have run"
    row_by_row(monkeypatch)
    slow = outcome(postgres, data, with_rejects=with_rejects)
    assert len(bulk_calls) == 1, "the row-by-row path must have run"
    assert fast == slow
    if with_rejects:  # the file exercises what it is meant to
        assert fast["result"]["imported"] >= 15 and fast["result"]["skipped"] == 3
        assert {e["column"] for e in fast["result"]["errors"]} == {
            "source", "source_id", "channel", "org", "level", "tags", "comment", "named",
            "phone", "rated_at", "case_no", "item_code"}
        assert fast["cases"]


def test_a_file_copy_cannot_read_goes_row_by_row_with_the_same_result(
        postgres: Session, bulk_calls: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    many = [ok(f"n{n}") for n in range(3000)]  # more than the reader buffers at once
    data = csv_bytes([ok("1"), ok("2")[:5], *many])  # row 3 is short
    fast = outcome(postgres, data, with_rejects=True)
    assert bulk_calls == [None]
    row_by_row(monkeypatch)
    assert outcome(postgres, data, with_rejects=True) == fast
    assert fast["result"]["imported"] == 3001 and fast["result"]["errors"][0]["rows"] == [3]


def test_gb18030_files_go_through_the_set_based_path(
        postgres: Session, bulk_calls: list[object]) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, ok("g1", org="巴中市", level="满意")])
    result = service.import_reviews(db := postgres, actor=SYSTEM_ACTOR,
                                    source=io.BytesIO(out.getvalue().encode("gb18030")),
                                    filename="评价.csv")
    assert bulk_calls[-1] is not None and result.imported == 1
    review = db.scalars(select(Review).where(Review.source_id == "g1")).one()
    assert (review.org.name, review.level) == ("巴中市", 4)


def test_the_opened_cases_are_read_once_however_many_groups_the_file_has(
        postgres: Session, bulk_calls: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    """12 months × 3 orgs × 5 levels: the insert answers one row per group and the ids of the
    cases it opened once, not once per group (which was months × orgs × levels copies)."""
    orgs = ["巴州区", "恩阳区", "通江县"]
    rows = [ok(f"g{m}-{o}-{lv}", org=org, level=str(lv), case=f"G{m}-{o}-{lv}",
               rated=f"2025-{m:02d}-10 10:00:00")
            for m in range(1, 13) for o, org in enumerate(orgs) for lv in range(1, 6)]
    read: list[int] = []
    execute = postgres.execute

    def counting(statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = execute(statement, *args, **kwargs)
        if "FROM opened" in str(statement):
            found = result.all()
            read.append(sum(len(row[4] or []) for row in found) + len(found))
            return _Rows(found)
        return result

    monkeypatch.setattr(postgres, "execute", counting)
    result = service.import_reviews(postgres, actor=SYSTEM_ACTOR,
                                    source=io.BytesIO(csv_bytes(rows)), filename="多月.csv")
    assert bulk_calls[-1] is not None and result.imported == 180
    assert result.cases_opened == 72  # levels 1 and 2 of 36 groups
    assert read == [72 + 180 + 1]  # the ids once, a row per group and the row that holds them


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def all(self) -> list[Any]:
        return self.rows
