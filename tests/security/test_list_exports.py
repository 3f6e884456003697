"""List exports (``?format=xlsx``): another org's liaison gets none of the victim's rows,
user text is text never a formula, and a phone number never leaves in clear."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tests.reviews.test_cases import make_case
from tests.security.test_export_formulas import PAYLOADS
from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource


def make_task(db: Session, *, title: str, org: str = "巴州区") -> None:
    rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他", title=title,
        org=org_service.resolve_org(db, ref=org), issued_on=date(2026, 2, 5),
        due_on=date(2026, 2, 25), lines=[])


def cells(content: bytes) -> list:  # type: ignore[type-arg]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [cell for row in sheet.iter_rows() for cell in row]


def test_another_orgs_liaison_exports_none_of_the_victims_rows(db: Session) -> None:
    """Catches: an export that skips the service's org scope."""
    make_case(db, "1", org="恩阳区", comment="受害单位的差评")
    make_task(db, org="恩阳区", title="受害单位的任务")
    intruder = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    for path in ("/reviews", "/rectification", "/assessment/adjustments"):
        answer = intruder.get(path, params={"format": "xlsx"})
        assert answer.status_code == 200, path
        texts = [str(c.value) for c in cells(answer.content) if c.value is not None]
        assert not any("受害单位" in t or t == "恩阳区" for t in texts), path
    for path in ("/admin/audit", "/admin/users"):
        assert intruder.get(path, params={"format": "xlsx"}).status_code == 403, path


def test_user_text_in_every_export_is_text_never_a_formula(db: Session) -> None:
    """Catches: an exported cell written as a live formula."""
    for n, payload in enumerate(["+1+1", "-2+3", "@SUM(A1)", "=1+1"]):  # a CSV cell's own
        make_case(db, str(n), comment=payload)
    for payload in PAYLOADS:
        make_task(db, title=payload)
        assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-03",
                                     org=org_service.resolve_org(db, ref="巴州区"),
                                     points=-0.1, reason=payload)
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    for path in ("/reviews", "/rectification", "/assessment/adjustments", "/admin/audit"):
        exported = cells(admin.get(path, params={"format": "xlsx", "page_size": 1}).content)
        assert not [c.coordinate for c in exported if c.data_type == "f"], path
        risky = [c for c in exported if isinstance(c.value, str)
                 and c.value.startswith(("=", "+", "-", "@"))]
        assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky), path


def test_a_phone_number_never_leaves_in_clear(db: Session) -> None:
    """Catches: the phone column or a phone typed in a comment exported unmasked."""
    make_case(db, "1", named="是", phone="13812345678", comment="请回电13812345678")
    own = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    for client in (own, admin):  # even the liaison who may see the number on the case page
        texts = [str(c.value) for c in cells(client.get("/reviews", params={
            "format": "xlsx", "q": "尾号 5678"}).content) if c.value is not None]
        assert "138****5678" in texts
        assert not any("13812345678" in t for t in texts)
