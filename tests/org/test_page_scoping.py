"""Org scoping of the pages: every page route, opened by a liaison of another org, shows none
of the victim's data (403/404, or its page without them), and the rightful user still gets
the page. A new page route fails ``test_every_page_route_is_classified`` until it is here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import csrf_of, logged_in_client, make_user, picture
from tests.org.test_scoping import VICTIM_ORG, VICTIM_TOWNSHIP, victim_data
from tongban.app import create_app
from tongban.core.security import Role

#: what only the victim's own pages may show (its task, its adjustment, its org page link)
VICTIM_MARKS = ("巴州区的任务", "巴州区的扣分", f"/orgs/{VICTIM_ORG}\"", "巴州区的代办地址",
                "巴州区的数据集", "巴州区的台账备注")


@dataclass(frozen=True)
class PageProbe:
    """A page against the victim's data: what the intruder gets, and who rightly reads it."""

    path: str
    #: denied: 403/404 (422 where a form says so) · clean: 200 without the victim's marks ·
    #: public: any answer without the victim's marks
    expect: str = "denied"
    rightful: Role | None = Role.liaison  # the victim liaison; an admin for city-wide pages


def _page_probes(user: int, token: int, adjustment: int, task: int, line: int, attachment: int,
                 case: int, errand: int = 0,
                 ledger_file: int = 0) -> dict[tuple[str, str], PageProbe]:
    del token, attachment
    entry = f"/ledgers/township-powers/orgs/{VICTIM_TOWNSHIP}/items/V-001"
    t = f"/rectification/tasks/{task}"
    return {
        ("GET", "/"): PageProbe("/", "clean"),
        ("GET", "/account"): PageProbe("/account", "clean"),
        ("GET", "/admin/audit"): PageProbe("/admin/audit", rightful=Role.admin),
        ("GET", "/admin/outbox"): PageProbe("/admin/outbox", rightful=Role.admin),
        ("GET", "/admin/calendar"): PageProbe("/admin/calendar", rightful=Role.admin),
        ("GET", "/admin/users"): PageProbe("/admin/users", rightful=Role.admin),
        ("GET", "/admin/users/{user_id}"): PageProbe(f"/admin/users/{user}", rightful=Role.admin),
        ("GET", "/assessment"): PageProbe("/assessment?cohort=bz-counties&period=2026-03",
                                          "clean"),
        ("GET", "/assessment/adjustments"): PageProbe("/assessment/adjustments", "clean"),
        ("GET", "/assessment/import"): PageProbe("/assessment/import", rightful=Role.admin),
        ("GET", "/assessment/schemes"): PageProbe("/assessment/schemes", rightful=Role.admin),
        ("GET", "/assessment/schemes/diff"): PageProbe(
            "/assessment/schemes/diff?old=sc-ywtb@2026.1&new=sc-ywtb@2026.1",
            rightful=Role.admin),
        ("GET", "/assessment/schemes/{code}/{version}"): PageProbe(
            "/assessment/schemes/sc-ywtb/2026.1", rightful=Role.admin),
        ("GET", "/assessment/schemes/{code}/{version}/template.xlsx"): PageProbe(
            "/assessment/schemes/sc-ywtb/2026.1/template.xlsx", rightful=Role.admin),
        ("GET", "/assessment/{cohort}/{period}/orgs/{code}"): PageProbe(
            f"/assessment/bz-counties/2026-03/orgs/{VICTIM_ORG}"),
        ("GET", "/catalog"): PageProbe("/catalog?q=延缓入学", "clean"),
        ("GET", "/benchmark"): PageProbe("/benchmark", rightful=Role.admin),
        ("GET", "/benchmark/groups/{group_id}"): PageProbe("/benchmark/groups/1",
                                                           rightful=Role.admin),
        ("GET", "/benchmark/review"): PageProbe("/benchmark/review", rightful=Role.admin),
        ("GET", "/benchmark/suggestions"): PageProbe("/benchmark/suggestions", "clean"),
        ("GET", "/benchmark/departments"): PageProbe("/benchmark/departments",
                                                     rightful=Role.admin),
        ("GET", "/benchmark/check"): PageProbe("/benchmark/check", rightful=Role.admin),
        ("GET", "/benchmark/summary"): PageProbe("/benchmark/summary", rightful=Role.admin),
        # a department's answer: another department's suggestion is not found
        ("POST", "/benchmark/suggestions/{suggestion_id}/{action}"): PageProbe(
            "/benchmark/suggestions/1/reject", rightful=None),
        ("GET", "/cohorts"): PageProbe("/cohorts", rightful=Role.admin),
        ("GET", "/cohorts/{code}"): PageProbe("/cohorts/bz-counties", rightful=Role.admin),
        ("GET", "/healthz"): PageProbe("/healthz", "public", rightful=None),
        ("GET", "/inbox"): PageProbe("/inbox", "clean"),
        ("GET", "/login"): PageProbe("/login", "public", rightful=None),
        ("GET", "/orgs"): PageProbe("/orgs", "clean"),
        ("GET", "/orgs/-/search"): PageProbe("/orgs/-/search?q=bzq", "clean"),
        ("GET", "/orgs/{code}"): PageProbe(f"/orgs/{VICTIM_ORG}"),
        ("GET", "/orgs/{code}/tree"): PageProbe(f"/orgs/{VICTIM_ORG}/tree"),
        ("GET", "/rate"): PageProbe("/rate", "public", rightful=None),
        # a rater's own link: a guessed token is a 404 (tests/security/test_tracking.py)
        ("GET", "/track/{token}"): PageProbe("/track/x", "public", rightful=None),
        ("GET", "/rectification"): PageProbe("/rectification", "clean"),
        ("GET", "/rectification/import"): PageProbe("/rectification/import", rightful=Role.admin),
        ("GET", "/rectification/new"): PageProbe("/rectification/new", rightful=Role.admin),
        ("GET", "/rectification/risk"): PageProbe("/rectification/risk", "clean"),
        ("GET", "/rectification/tasks/{task_id}"): PageProbe(t),
        ("GET", "/reports"): PageProbe("/reports", rightful=Role.admin),
        ("GET", "/reports/preview"): PageProbe(
            "/reports/preview?kind=monthly&cohort=bz-counties&period=2026-03", rightful=Role.admin),
        ("GET", "/reports/{report_id}"): PageProbe("/reports/1", rightful=None),
        ("GET", "/reports/{report_id}/{fmt}"): PageProbe("/reports/1/docx", rightful=None),
        ("GET", "/reviews"): PageProbe("/reviews", "clean"),
        ("GET", "/reviews/cases/{case_id}"): PageProbe(f"/reviews/cases/{case}"),
        ("GET", "/reviews/codes"): PageProbe(f"/reviews/codes?org={VICTIM_ORG}"),
        ("GET", "/reviews/codes/qr.{kind}"): PageProbe(f"/reviews/codes/qr.svg?org={VICTIM_ORG}"),
        ("GET", "/reviews/dashboard"): PageProbe("/reviews/dashboard", rightful=Role.admin),
        ("GET", "/reviews/held"): PageProbe("/reviews/held", rightful=Role.admin),
        # the deptCodes are in the register of departments now: a redirect to its page
        ("GET", "/reviews/dept-codes"): PageProbe("/reviews/dept-codes", "public", rightful=None),
        ("GET", "/org/aliases"): PageProbe("/org/aliases?state=all", rightful=Role.admin),
        # writes on the victim's objects: refused before anything is read or changed
        ("POST", "/rectification/tasks/{task_id}/actions/{action}"): PageProbe(
            f"{t}/actions/start", rightful=None),
        ("POST", "/rectification/tasks/{task_id}/attachments"): PageProbe(
            f"{t}/attachments", rightful=None),
        ("POST", "/rectification/tasks/{task_id}/lines/{line_id}"): PageProbe(
            f"{t}/lines/{line}", rightful=None),
        ("POST", "/rectification/tasks/{task_id}/lines"): PageProbe(f"{t}/lines", rightful=None),
        ("POST", "/reviews/cases/{case_id}/actions/{action}"): PageProbe(
            f"/reviews/cases/{case}/actions/callback", rightful=None),
        ("POST", "/assessment/adjustments/{adjustment_id}/void"): PageProbe(
            f"/assessment/adjustments/{adjustment}/void", rightful=None),
        ("POST", "/admin/users/{user_id}"): PageProbe(f"/admin/users/{user}", rightful=None),
        ("POST", "/cohorts/{code}/members"): PageProbe("/cohorts/bz-counties/members",
                                                       rightful=None),
        ("POST", "/reviews/held/{review_id}/{decision}"): PageProbe("/reviews/held/1/discard",
                                                                     rightful=None),
        ("POST", "/org/aliases"): PageProbe("/org/aliases", rightful=None),
        ("POST", "/reviews/cases/{object_id}/supervision"): PageProbe(
            f"/reviews/cases/{case}/supervision", rightful=None),
        ("POST", "/rectification/tasks/{object_id}/supervision"): PageProbe(
            f"{t}/supervision", rightful=None),
        ("POST", "/reviews/supervision"): PageProbe("/reviews/supervision", rightful=None),
        ("POST", "/rectification/supervision"): PageProbe("/rectification/supervision",
                                                          rightful=None),
        ("POST", "/home/urge"): PageProbe("/home/urge", rightful=None),
        # a liaison's overview is its department's page (a redirect)
        ("GET", "/datasharing"): PageProbe("/datasharing", "public", rightful=Role.admin),
        ("GET", "/datasharing/departments/{code}"): PageProbe(
            f"/datasharing/departments/{VICTIM_ORG}"),
        ("GET", "/datasharing/datasets/{code}"): PageProbe("/datasharing/datasets/V-DS-1"),
        ("POST", "/datasharing/datasets/{code}/deliveries"): PageProbe(
            "/datasharing/datasets/V-DS-1/deliveries", rightful=None),
        ("GET", "/datasharing/catalog"): PageProbe("/datasharing/catalog", "clean"),
        ("GET", "/datasharing/catalog/{part}.csv"): PageProbe(
            "/datasharing/catalog/datasets.csv", "clean"),
        ("GET", "/datasharing/catalog/edit"): PageProbe("/datasharing/catalog/edit?code=V-DS-1",
                                                        rightful=Role.admin),
        ("GET", "/errand/new"): PageProbe("/errand/new", "public", rightful=None),
        # a requester's own link: a guessed token is a 404 (tests/errand/test_security.py)
        ("GET", "/errand/track/{token}"): PageProbe("/errand/track/x", "public", rightful=None),
        ("GET", "/errand/track/{token}/photos/{file_id}"): PageProbe(
            "/errand/track/x/photos/1", "public", rightful=None),
        ("POST", "/errands/console/{errand_id}/assign"): PageProbe(
            f"/errands/console/{errand}/assign", rightful=None),
        ("POST", "/errands/console/{errand_id}/cancel"): PageProbe(
            f"/errands/console/{errand}/cancel", rightful=None),
        ("GET", "/errands"): PageProbe("/errands", "clean"),
        ("GET", "/errands/runner"): PageProbe("/errands/runner", rightful=None),
        ("GET", "/errands/console"): PageProbe("/errands/console", "clean"),
        ("GET", "/errands/runner/pulse"): PageProbe("/errands/runner/pulse", rightful=None),
        ("POST", "/errands/console/mode"): PageProbe("/errands/console/mode", rightful=None),
        ("POST", "/errands/{errand_id}/grab"): PageProbe(f"/errands/{errand}/grab",
                                                         rightful=None),
        ("POST", "/errands/{errand_id}/actions/{action}"): PageProbe(
            f"/errands/{errand}/actions/cancel", rightful=None),
        ("POST", "/errands/{errand_id}/channel"): PageProbe(f"/errands/{errand}/channel",
                                                            rightful=None),
        ("GET", "/errands/post-offices"): PageProbe("/errands/post-offices", "clean"),
        ("GET", "/ledgers"): PageProbe("/ledgers", "clean"),
        ("GET", "/ledgers/supervision"): PageProbe("/ledgers/supervision", "clean"),
        ("GET", "/ledgers/memo"): PageProbe("/ledgers/memo?quarter=2026Q1", "clean"),
        ("POST", "/ledgers/supervision/remind"): PageProbe("/ledgers/supervision/remind",
                                                           rightful=None),
        ("GET", "/ledgers/evidence/{attachment_id}"): PageProbe(
            f"/ledgers/evidence/{ledger_file}"),
        ("GET", "/ledgers/{type_code}"): PageProbe("/ledgers/township-powers", "clean"),
        ("GET", "/ledgers/{type_code}/orgs/{code}"): PageProbe(
            f"/ledgers/township-powers/orgs/{VICTIM_TOWNSHIP}"),
        ("GET", "/ledgers/{type_code}/orgs/{code}/items/{item}"): PageProbe(entry),
        ("POST", "/ledgers/{type_code}/orgs/{code}/items/{item}"): PageProbe(entry,
                                                                          rightful=None),
        ("POST", "/ledgers/{type_code}/orgs/{code}/items/{item}/rectify"): PageProbe(
            f"{entry}/rectify", rightful=None),
        # files of errands: tests/errand/test_evidence.py reads a victim's photo as intruders
        ("POST", "/errands/{errand_id}/handovers/{handover_id}/photo"): PageProbe(
            f"/errands/{errand}/handovers/1/photo", rightful=None),
        ("GET", "/errands/files/{file_id}"): PageProbe("/errands/files/1", rightful=None),
        ("GET", "/errands/runners"): PageProbe("/errands/runners", "clean"),
        ("GET", "/errands/items"): PageProbe("/errands/items", "clean"),
        ("POST", "/errands/runners/{runner_id}/{action}"): PageProbe(
            "/errands/runners/1/suspend", rightful=None),
    }


#: page writes that touch no other org's object (forms of one's own account, imports and
#: creations that the services refuse by role — covered by the role tests of each domain)
UNSCOPED_WRITES = {
    "/account/contact", "/account/password", "/account/tokens", "/account/tokens/{token_id}/revoke",
    "/admin/audit/verify", "/admin/outbox/{message_id}/resend", "/admin/calendar/import", "/admin/calendar/override",
    "/admin/calendar/{day}/delete", "/admin/users", "/assessment/adjustments", "/catalog/import",
    "/benchmark/review/{member_id}/{action}", "/benchmark/departments", "/benchmark/check/tasks",
    "/benchmark/import",
    "/assessment/import", "/assessment/schemes", "/assessment/sheets/{cohort}/{period}/{action}",
    "/assessment/sheets/compute",
    "/assessment/{cohort}/{period}/orgs/{code}/whatif", "/cohorts", "/inbox/read-all",
    "/inbox/{notification_id}/open", "/login", "/logout", "/rate", "/rate/code", "/track",
    "/rectification/import",
    "/rectification/new", "/reports",
    "/errand/new", "/errand/track", "/errands/runner/duty", "/errands/runner/position",
    "/errands/post-offices/import", "/errand/track/sign", "/errand/track/withdraw", "/errands/items/publish", "/errands/items/{item_id}/{action}",
    "/datasharing/catalog/import", "/datasharing/catalog/edit", "/datasharing/cascade/retry",
    "/ledgers/{type_code}/import",
}


def _page_routes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes, prefix + route.include_context.prefix)
                continue
            path = prefix + getattr(route, "path", "")
            methods = getattr(route, "methods", None) or set()
            if methods and not path.startswith(("/api", "/static")):
                found.update((m, path) for m in methods - {"HEAD"})

    walk(list(create_app().routes), "")
    return found


def test_every_page_route_is_classified() -> None:
    routes = _page_routes()
    classified = set(_page_probes(0, 0, 0, 0, 0, 0, 0)) | {("POST", p) for p in UNSCOPED_WRITES}
    assert routes == classified


@pytest.fixture
def victim_ids(db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    return victim_data(db)


def test_another_orgs_liaison_sees_none_of_the_victims_data_on_any_page(
        db: Session, victim_ids: list[int]) -> None:
    intruder = logged_in_client(db, make_user(db, role=Role.liaison, org="511903"))
    token = csrf_of(intruder)
    failures = []
    for (method, template), probe in _page_probes(*victim_ids).items():
        if method == "GET":
            response = intruder.get(probe.path, follow_redirects=False)
        else:
            response = intruder.post(probe.path, data={"csrf_token": token, "note": "x",
                                                       "reason": "x", "resolution": "x",
                                                       "role": "liaison", "kind": "urge",
                                                       "org": VICTIM_ORG},
                                     files={"file": ("a.png", picture(), "image/png")}
                                     if template.endswith("attachments") else
                                     {"file": ("v.csv", "编号\nX\n".encode(), "text/csv")}
                                     if template.endswith("deliveries") else None,
                                     follow_redirects=False)
        text = response.text
        if probe.expect == "denied":
            ok = response.status_code in (403, 404, 422) \
                and not any(m in text for m in VICTIM_MARKS)
        elif probe.expect == "clean":
            ok = response.status_code == 200 and not any(m in text for m in VICTIM_MARKS)
        else:
            ok = response.status_code < 500 and not any(m in text for m in VICTIM_MARKS)
        if not ok:
            failures.append(f"{method} {template}: {response.status_code}")
    assert failures == [], failures


def test_the_rightful_user_gets_every_page(db: Session, victim_ids: list[int]) -> None:
    clients: dict[Role, TestClient] = {
        Role.liaison: logged_in_client(db, make_user(db, role=Role.liaison, org=VICTIM_ORG,
                                                     username="victim-2")),
        Role.admin: logged_in_client(db, make_user(db, role=Role.admin)),
    }
    failures = []
    for (method, template), probe in _page_probes(*victim_ids).items():
        if method != "GET" or probe.rightful is None:
            continue
        response = clients[probe.rightful].get(probe.path, follow_redirects=False)
        if response.status_code != 200:
            failures.append(f"{template} as {probe.rightful.value}: {response.status_code}")
    assert failures == [], failures
