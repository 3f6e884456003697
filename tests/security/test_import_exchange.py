"""Attacks through the 好差评 exchange dialect: JSON lines that are too long or no objects,
formulas and markup in the record's text, the rater's certificate on any output."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import located, logged_in_client, make_user
from tests.reviews.test_exchange import CERT, as_csv, as_jsonl, record, run, stored
from tests.security.test_list_exports import cells
from tongban.core.errors import ValidationFailed
from tongban.core.security import Role
from tongban.core.tabular import JSON_LINE_MAX
from tongban.reviews.models import NegativeCase

SVG = "'\"><svg onload=alert(1)>"


def test_an_oversized_json_line_is_refused_naming_it(db: Session) -> None:
    data = as_jsonl([record("J1")]) + json.dumps(
        record("J2", writingEvaluation="长" * JSON_LINE_MAX)).encode() + b"\n"
    with pytest.raises(ValidationFailed) as caught:
        run(db, data, "x.jsonl")
    assert located(caught.value) == [(2, None, "该行超过 256 KiB 的上限")]
    assert stored_count(db) == 0


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"42", b"{bad json", b'{"a": {"b": 1}}'])
def test_a_line_that_is_no_flat_object_is_refused_naming_it(db: Session, line: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_jsonl([record("J3")]) + line + b"\n", "x.jsonl")
    assert [row for row, _, _ in located(caught.value)] == [2]
    assert stored_count(db) == 0  # all or nothing: the good first line is not kept


def stored_count(db: Session) -> int:
    from tongban.reviews.models import Review
    return len(db.scalars(select(Review.id).where(Review.source == "exchange:510")).all())


def test_a_formula_in_writing_evaluation_is_exported_as_text(db: Session) -> None:
    run(db, as_csv([record("X1", satisfaction="1", writingEvaluation="=HYPERLINK(\"http://x\")")]))
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    exported = admin.get("/reviews?format=xlsx&q=X1")
    assert exported.status_code == 200
    found = [c for c in cells(exported.content) if str(c.value).startswith("=HYPERLINK")]
    assert found and all(c.data_type == "s" for c in found)


def test_markup_in_eval_detail_is_escaped_on_the_case_page(db: Session) -> None:
    run(db, as_jsonl([record("X2", satisfaction="1", evalDetail=SVG, writingEvaluation=SVG)]),
        "x.jsonl")
    case_id = db.scalars(select(NegativeCase.id).where(
        NegativeCase.review_id == stored(db, "X2").id)).one()
    page = logged_in_client(db, make_user(db, role=Role.admin)).get(f"/reviews/cases/{case_id}")
    assert page.status_code == 200
    assert "<svg" not in page.text and "&lt;svg onload=alert(1)&gt;" in page.text


def test_the_certificate_is_in_no_output(db: Session) -> None:
    rejects = io.StringIO()
    run(db, as_csv([record("X3", satisfaction="1"), record("X4", pf="x")]), rejects=rejects)
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    listed = admin.get("/api/v1/reviews?period=2026-02&page_size=500")
    assert listed.status_code == 200 and "X3" in listed.text
    outputs = [rejects.getvalue(), listed.text,
               admin.get("/reviews?format=xlsx").content.decode("latin-1"),
               admin.get("/admin/audit").text]
    case_id = db.scalars(select(NegativeCase.id).where(
        NegativeCase.review_id == stored(db, "X3").id)).one()
    outputs.append(admin.get(f"/reviews/cases/{case_id}").text)
    for output in outputs:
        assert CERT not in output and CERT[-8:] not in output
