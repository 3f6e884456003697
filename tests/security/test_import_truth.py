"""Every import tells the truth (issue #22): a row that repeats an earlier row's id with other
values is an error naming both rows, never a silent skip; a repeated column or JSON key is
refused; both 好差评 paths (set-based on PostgreSQL, row by row) agree."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy.orm import Session

from tests.factories import api_client, located, make_user
from tests.reviews.test_exchange import as_csv, as_jsonl, record
from tests.reviews.test_exchange import run as run_exchange
from tests.security.import_paths import PATHS, csv_bytes
from tongban.core.config import get_settings
from tongban.core.errors import ValidationFailed
from tongban.core.security import Role
from tongban.reviews.service import intake

REVIEWS = next(p for p in PATHS if p.name == "reviews")
PATHS = pytest.mark.parametrize("bulk_sql", ["true", "false"], ids=["set-based", "row-by-row"])


def _paths(monkeypatch: pytest.MonkeyPatch, bulk_sql: str) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_BULK_SQL", bulk_sql)
    get_settings.cache_clear()


def _refused(db: Session, data: bytes, name: str = "sec.csv") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        REVIEWS.run(db, data, name)
    return caught.value


@PATHS
def test_a_row_repeating_an_id_with_another_level_names_both_rows(
        db: Session, monkeypatch: pytest.MonkeyPatch, bulk_sql: str) -> None:
    _paths(monkeypatch, bulk_sql)
    rows = REVIEWS.rows(3)
    twin = list(rows[0])
    twin[6] = "1"  # s1 again, rated 1 instead of 5
    failure = _refused(db, REVIEWS.csv([*rows, twin]))
    assert located(failure) == [(5, "source_id", intake.TWIN_ID.format(
        row=2, source="sec", source_id="s1"))]
    assert REVIEWS.stored(db) == 0


@PATHS
def test_a_row_repeating_an_id_with_the_same_values_is_the_same_review(
        db: Session, monkeypatch: pytest.MonkeyPatch, bulk_sql: str) -> None:
    _paths(monkeypatch, bulk_sql)
    rows = REVIEWS.rows(2)
    result = REVIEWS.run(db, REVIEWS.csv([*rows, list(rows[1])]), "sec.csv")
    assert (result.imported, result.skipped) == (2, 1)  # type: ignore[attr-defined]


def test_a_twin_in_a_later_chunk_names_the_row_of_an_earlier_chunk(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row path stores a file chunk by chunk: the first row is stored by the time its
    twin comes, and the error still names the file's row, not merely a taken id."""
    _paths(monkeypatch, "false")
    monkeypatch.setattr(intake, "CHUNK", 2)
    rows = REVIEWS.rows(5)
    twin = list(rows[1])
    twin[3] = "恩阳区"
    failure = _refused(db, REVIEWS.csv([*rows, twin]))
    assert located(failure) == [(7, "source_id", intake.TWIN_ID.format(
        row=3, source="sec", source_id="s2"))]
    assert REVIEWS.stored(db) == 0


def test_an_id_stored_before_the_file_with_other_values_is_called_taken(db: Session) -> None:
    REVIEWS.run(db, REVIEWS.csv(REVIEWS.rows(1)), "first.csv")
    changed = REVIEWS.rows(1)[0]
    changed[6] = "2"
    failure = _refused(db, REVIEWS.csv([changed]))
    assert located(failure) == [(2, "source_id", intake.TAKEN_ID.format(
        source="sec", source_id="s1"))]


def test_an_exchange_record_repeating_its_number_with_another_rating_names_both(
        db: Session) -> None:
    """dataSource + projectNo + assessNumber is the exchange record's id."""
    with pytest.raises(ValidationFailed) as caught:
        run_exchange(db, as_csv([record("TW1"), record("TW2"),
                                 record("TW1", satisfaction="2")]))
    ((row, column, reason),) = located(caught.value)
    assert (row, column) == (4, "projectNo") and reason.startswith("与第2行的dataSource")


def test_a_batch_repeating_an_id_with_another_level_is_refused_naming_both(
        db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    row = {"source": "sec", "source_id": "b1", "channel": "网站", "org": "巴州区",
           "case_no": "B1", "level": 5, "rated_at": "2026-02-03 10:00:00"}
    answer = client.post("/api/v1/reviews:batch", json={"reviews": [row, {**row, "level": 1}]})
    assert answer.status_code == 422, answer.text
    reasons = [e["reason"] for e in answer.json()["errors"]]
    assert reasons == [intake.TWIN_ID.format(row=1, source="sec", source_id="b1")]


def test_a_json_line_with_a_repeated_key_is_refused_naming_the_line(db: Session) -> None:
    good = json.dumps(record("JK1"), ensure_ascii=False)
    repeated = good[:-1] + ', "satisfaction": "1"}'  # the key again, with another value
    with pytest.raises(ValidationFailed) as caught:
        run_exchange(db, (good + "\n" + repeated.replace("JK1", "JK2") + "\n").encode(),
                     "x.jsonl")
    assert located(caught.value) == [(2, None, "字段「satisfaction」在该行出现了两次")]


@pytest.mark.parametrize("header", [["org", "period", "org"], ["单位", "period", "org"]],
                         ids=["same-name", "two-aliases"])
def test_a_csv_with_a_repeated_column_is_refused(db: Session, header: list[str]) -> None:
    from tongban.core.tabular import open_table

    with pytest.raises(ValidationFailed) as caught:
        open_table(io.BytesIO(csv_bytes([header, ["巴州区", "2026-02", "恩阳区"]])),
                   filename="x.csv", aliases={"单位": "org"})
    ((row, column, reason),) = located(caught.value)
    assert (row, column) == (1, None) and "第1列和第3列" in reason


def test_a_review_file_with_a_repeated_column_imports_nothing(db: Session) -> None:
    header = [*REVIEWS.header, "level"]
    rows = [[*row, "1"] for row in REVIEWS.rows(2)]
    failure = _refused(db, csv_bytes([header, *rows]))
    assert "重复的列「level」" in located(failure)[0][2]
    assert REVIEWS.stored(db) == 0


def test_an_exchange_jsonl_with_two_keys_of_one_column_is_refused(db: Session) -> None:
    data = as_jsonl([{**record("JK3"), "SATISFACTION": "1"}])
    with pytest.raises(ValidationFailed) as caught:
        run_exchange(db, data, "x.jsonl")
    assert "重复的列「satisfaction」" in located(caught.value)[0][2]


def test_a_catalog_list_never_replaces_silently(db: Session) -> None:
    """An empty file is refused with the catalog kept; a list of one department removes only
    that department's missing items, and the answer says what it removed and kept."""
    from collections import Counter

    from sqlalchemy import select

    from tongban.catalog import service as catalog
    from tongban.catalog.models import ServiceItem
    from tongban.core.security import SYSTEM_ACTOR
    from tongban.org import service as org_service

    city = org_service.resolve_org(db, ref="巴中市")
    header = "itemCode,name,department,taskType\n"
    with pytest.raises(ValidationFailed):
        catalog.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="空.csv",
                             source=io.BytesIO(header.encode()))
    before = Counter(db.scalars(select(ServiceItem.department)))
    department, count = before.most_common(1)[0]
    one = db.scalars(select(ServiceItem).where(ServiceItem.department == department)).first()
    assert one is not None
    done = catalog.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="一个部门.csv",
                                source=io.BytesIO((header + f"{one.impl_code},{one.name},"
                                                   f"{department},{one.item_type}\n").encode()))
    after = Counter(db.scalars(select(ServiceItem.department)))
    assert done.removed == count - 1 and after[department] == 1
    assert done.partial and done.kept == sum(before.values()) - count
    assert after - Counter({department: 1}) == before - Counter({department: count})
    assert f"删除 {count - 1} 项" in done.summary() and "保留" in done.summary()
