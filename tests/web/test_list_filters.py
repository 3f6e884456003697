"""The six lists (cases, tasks, league table, adjustments, audit log, users): search, filters,
the phone-suffix search by keyed hash, and XLSX exports equal to what is filtered."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import actor_of, api_client, logged_in_client, make_user
from tests.rectification.test_tasks import make_task
from tests.reviews.test_cases import make_case
from tongban.assessment import service as assessment
from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.listing import ListParams, ListRefused
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.reviews import service as reviews
from tongban.reviews.enums import CaseState
from tongban.reviews.models import Review


def rows_of(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# ---------------------------------------------------------------- phone suffix


def test_intake_stores_the_suffix_as_a_keyed_hash_not_the_digits(db: Session) -> None:
    """Catches: the suffix stored in clear, or not stored at intake."""
    case_ = make_case(db, named="是", phone="13812345678")
    stored = case_.review.phone_suffix
    assert stored == privacy.phone_suffix_key("13812345678") and "5678" not in stored
    assert len(stored) == 32


def test_a_phone_suffix_search_finds_its_case_and_not_another_suffix(db: Session) -> None:
    """Catches: a suffix search that matches any number, or that does not match by hash."""
    mine = make_case(db, "1", named="是", phone="13812345678")
    other = make_case(db, "2", named="是", phone="13912349999")
    for q in ("尾号 5678", "尾号5678", "5678"):  # the demo city's cases may share a suffix
        found = [c.id for c in reviews.list_cases(db, actor=SYSTEM_ACTOR,
                                                  params=ListParams(q=q, page_size=500)).items]
        assert mine.id in found and other.id not in found, q
    found = [c.id for c in reviews.list_cases(db, actor=SYSTEM_ACTOR,
                                              params=ListParams(q="尾号 9999", page_size=500)).items]
    assert other.id in found and mine.id not in found


def test_the_suffix_search_never_decrypts(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: a search that decrypts every row to compare its last digits."""
    mine = make_case(db, "1", named="是", phone="13812345678")

    def refuse(token: str) -> str:
        raise AssertionError("decrypted while searching")

    monkeypatch.setattr(privacy, "reveal", refuse)
    found = reviews.list_cases(db, actor=SYSTEM_ACTOR, params=ListParams(q="尾号 5678",
                                                                         page_size=500))
    assert mine.id in [c.id for c in found.items]


def test_a_case_is_found_by_its_number_and_its_case_no(db: Session) -> None:
    """Catches: #id or the review's 办件编号 not searched."""
    first = make_case(db, "1")
    make_case(db, "2")
    for q in (f"#{first.id}", "K1"):
        found = reviews.list_cases(db, actor=SYSTEM_ACTOR, params=ListParams(q=q))
        assert first.id in [c.id for c in found.items] and found.total == 1, q
    # a bare number is the case's number too, and any comment holding those digits
    found = reviews.list_cases(db, actor=SYSTEM_ACTOR,
                               params=ListParams(q=str(first.id), page_size=500))
    assert first.id in [c.id for c in found.items]
    assert all(c.id == first.id or str(first.id) in (c.review.comment or "")
               or str(first.id) in (c.review.case_no, c.review.source_id) for c in found.items)


def test_key_rotation_rekeys_the_suffix_and_old_keys_still_match_until_then(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: suffix hashes left under a retired key (unsearchable after rotation)."""
    case_ = make_case(db, named="是", phone="13812345678")
    before = case_.review.phone_suffix
    newest = privacy.new_data_key()
    monkeypatch.setenv("TONGBAN_DATA_KEYS", f"{newest},{privacy.data_keys()[0].decode()}")
    get_settings.cache_clear()
    try:
        def hits() -> list[int]:
            return [c.id for c in reviews.list_cases(
                db, actor=SYSTEM_ACTOR, params=ListParams(q="5678", page_size=500)).items]

        assert case_.id in hits()  # matched under the older key
        reviews.rotate_personal_data(db, actor=SYSTEM_ACTOR)
        db.refresh(case_.review)
        assert case_.review.phone_suffix not in ("", before)
        assert case_.id in hits()
    finally:
        monkeypatch.delenv("TONGBAN_DATA_KEYS")
        get_settings.cache_clear()


def test_the_migration_backfill_fills_existing_rows(db: Session) -> None:
    """Catches: existing reviews left without a suffix after the upgrade."""
    from importlib import import_module

    migration = import_module("tongban.migrations.versions.0015_phone_suffix")
    case_ = make_case(db, named="是", phone="13812345678")
    db.execute(update(Review).values(phone_suffix=""))
    assert migration.fill_phone_suffixes(db.connection()) >= 1
    assert db.scalar(select(Review.phone_suffix).where(Review.id == case_.review_id)) \
        == privacy.phone_suffix_key("13812345678")


# ---------------------------------------------------------------- filters


def test_cases_filter_by_unit_date_and_overdue(db: Session) -> None:
    """Catches: the unit, date range or overdue filter ignored."""
    early = make_case(db, "1", rated="2026-02-03 10:00:00")
    late = make_case(db, "2", rated="2026-03-10 10:00:00", org="恩阳区")
    def ids(**filters: object) -> list[int]:
        params = filters.pop("params", ListParams(page_size=500))
        return [c.id for c in reviews.list_cases(db, actor=SYSTEM_ACTOR, params=params,
                                                 **filters).items]  # type: ignore[arg-type]

    by_unit = ids(org=org_service.resolve_org(db, ref="恩阳区"))
    assert late.id in by_unit and early.id not in by_unit
    dated = ids(params=ListParams(since=date(2026, 2, 1), until=date(2026, 2, 28), page_size=500))
    assert early.id in dated and late.id not in dated
    overdue = ids(as_of=date(2026, 2, 10), overdue_only=True)
    assert early.id in overdue and late.id not in overdue  # the March case is not due yet


def test_the_api_filters_cases_and_refuses_another_orgs_unit_to_a_liaison(db: Session) -> None:
    """Catches: API filters dropped; a liaison reading another org through ``org``."""
    make_case(db, "1", named="是", phone="13812345678")
    make_case(db, "2", org="恩阳区", named="是", phone="13800005678")
    liaison = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    answer = liaison.get("/api/v1/reviews/cases", params={"q": "尾号 5678"}).json()
    assert answer["total"] == 1 and answer["items"][0]["org_name"] == "巴州区"
    refused = liaison.get("/api/v1/reviews/cases", params={"org": "恩阳区"})
    assert refused.status_code in (403, 404)
    admin = api_client(db, make_user(db, role=Role.admin))
    theirs = admin.get("/api/v1/reviews/cases", params={"org": "恩阳区", "q": "尾号 5678"}).json()
    assert [c["org_name"] for c in theirs["items"]] == ["恩阳区"]
    assert admin.get("/api/v1/reviews/cases", params={"overdue": "true"}).status_code == 200


def test_tasks_filter_by_unit_overdue_and_due_dates(db: Session) -> None:
    """Catches: the tasks list ignoring org, overdue or the due-date range."""
    from tongban.rectification import service as rectification

    late = make_task(db, due_on=date(2026, 2, 10))
    other = make_task(db, org="恩阳区", due_on=date(2026, 4, 10))
    overdue = rectification.list_tasks(db, actor=SYSTEM_ACTOR, as_of=date(2026, 3, 1),
                                       overdue_only=True, params=ListParams())
    assert late.id in [t.id for t in overdue.items] and other.id not in [t.id for t in overdue.items]
    admin = api_client(db, make_user(db, role=Role.admin))
    by_unit = admin.get("/api/v1/rectification/tasks", params={"org": "恩阳区", "q": "测试任务"})
    assert [t["id"] for t in by_unit.json()["items"]] == [other.id]
    dated = admin.get("/api/v1/rectification/tasks", params={
        "since": "2026-04-01", "until": "2026-04-30", "q": "测试任务"})
    assert [t["id"] for t in dated.json()["items"]] == [other.id]


def test_users_filter_by_role_and_org(db: Session) -> None:
    """Catches: role or org filter ignored on the users list."""
    make_user(db, role=Role.liaison, org="恩阳区", username="ey-liaison")
    admin = api_client(db, make_user(db, role=Role.admin))
    found = admin.get("/api/v1/users", params={"role": "liaison", "org": "恩阳区"}).json()
    assert "ey-liaison" in [u["username"] for u in found["items"]]
    assert all(u["role"] == "liaison" for u in found["items"])


def test_adjustments_filter_by_period_range(db: Session) -> None:
    """Catches: since/until ignored by the adjustments list."""
    org = org_service.resolve_org(db, ref="巴州区")
    for period in ("2026-01", "2026-03"):
        assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period=period, org=org, points=-1,
                                     reason=f"测试{period}")
    found = assessment.list_adjustments(db, actor=SYSTEM_ACTOR, org=org, params=ListParams(
        q="测试", since=date(2026, 3, 1), until=date(2026, 3, 31)))
    assert [a.period for a in found.items] == ["2026-03"]


# ---------------------------------------------------------------- exports


def test_the_case_export_holds_every_filtered_row_not_one_page(db: Session) -> None:
    """Catches: an export of the current page only, or of unfiltered rows."""
    for sid in range(1, 5):
        make_case(db, str(sid), comment=f"导出测试{sid}")
    make_case(db, "9", org="恩阳区", comment="导出测试9")
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    answer = admin.get("/reviews", params={"org": "巴州区", "q": "导出测试", "page_size": 2,
                                           "format": "xlsx"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = rows_of(answer.content)
    assert rows[0][:3] == ["工单号", "单位", "评价"]
    assert len(rows) - 1 == 4 and {r[1] for r in rows[1:]} == {"巴州区"}
    state = rows[0].index("状态")
    assert rows[1][2] == "非常不满意" and rows[1][state] == CaseState.received.label  # not codes


def test_every_list_page_exports_what_it_shows(db: Session) -> None:
    """Catches: a list page without its export, or an export whose rows differ from the list."""
    make_task(db)
    make_case(db, "1")
    assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-03",
                                 org=org_service.resolve_org(db, ref="巴州区"), points=-1,
                                 reason="导出")
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    pages = {
        "/reviews": ("工单号", reviews.list_cases(db, actor=SYSTEM_ACTOR,
                                                params=ListParams()).total),
        "/rectification": ("编号", None), "/assessment/adjustments": ("编号", None),
        "/admin/audit": ("编号", None), "/admin/users": ("用户名", None),
        "/assessment": ("名次", None),
    }
    for path, (header, total) in pages.items():
        page = admin.get(path)
        assert 'data-testid="export"' in page.text, path
        answer = admin.get(path, params={"format": "xlsx"})
        assert answer.status_code == 200, path
        rows = rows_of(answer.content)
        assert rows[0][0] == header, path
        if total is not None:
            assert len(rows) - 1 == total, path
    users = rows_of(admin.get("/admin/users", params={"format": "xlsx", "role": "admin"}).content)
    assert {r[2] for r in users[1:]} == {"系统管理员"}


def test_an_export_over_the_cap_is_refused_in_chinese(db: Session,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches: an unbounded export."""
    make_case(db, "1")
    make_case(db, "2")
    monkeypatch.setenv("TONGBAN_EXPORT_ROWS_MAX", "1")
    get_settings.cache_clear()
    try:
        with pytest.raises(ListRefused, match="超过导出上限 1 行"):
            reviews.list_cases(db, actor=SYSTEM_ACTOR, params=ListParams().for_export())
        admin = logged_in_client(db, make_user(db, role=Role.admin))
        answer = admin.get("/admin/users", params={"format": "xlsx"})
        assert answer.status_code == 422 and "超过导出上限" in answer.text
    finally:
        monkeypatch.delenv("TONGBAN_EXPORT_ROWS_MAX")
        get_settings.cache_clear()


def test_the_league_table_filters_by_grade_and_name(db: Session) -> None:
    """Catches: league-table q or grade filter ignored (page, API and export)."""
    admin = api_client(db, make_user(db, role=Role.admin))
    whole = admin.get("/api/v1/assessment/sheets/bz-counties/2026-03/rank").json()
    assert whole["total"] > 1
    one = admin.get("/api/v1/assessment/sheets/bz-counties/2026-03/rank",
                    params={"q": "巴州"}).json()
    assert [r["org_name"] for r in one["items"]] == ["巴州区"]
    grade = whole["items"][0]["grade"]
    graded = admin.get("/api/v1/assessment/sheets/bz-counties/2026-03/rank",
                       params={"grade": grade}).json()
    assert graded["total"] == sum(1 for r in whole["items"] if r["grade"] == grade)
    page = logged_in_client(db, make_user(db, role=Role.admin))
    rows = rows_of(page.get("/assessment", params={"cohort": "bz-counties", "period": "2026-03",
                                                   "q": "巴州", "format": "xlsx"}).content)
    assert [r[2] for r in rows[1:]] == ["巴州区"]


def test_a_liaison_filtering_another_orgs_unit_on_a_page_is_refused(db: Session) -> None:
    """Catches: the page's unit filter bypassing the service's scope."""
    make_case(db, "1", org="恩阳区")
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    for path in ("/reviews", "/rectification"):
        answer = liaison.get(path, params={"org": "恩阳区", "format": "xlsx"})
        assert answer.status_code in (403, 404), path
    assert actor_of(db, role=Role.liaison, org="巴州区").org_id is not None
