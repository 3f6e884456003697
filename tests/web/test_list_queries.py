"""The main list pages send as many queries with more rows as with fewer (no N+1), and as many
as the baseline in ``query_counts.json`` says (NetBox-style: a change shows as a number).

Each page is rendered once to warm up, counted with its first rows, given ``ADDED`` more rows
through the services, and counted again. A page that needs more queries on purpose updates its
baseline: run with ``TONGBAN_UPDATE_QUERY_COUNTS=1`` and commit the file.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.factories import (
    count_queries,
    errand_world,
    logged_in_client,
    make_cohort,
    make_errand,
    make_runner,
    make_user,
    scheme_yaml,
)
from tests.reviews.test_intake import HEADER, row
from tests.security.test_public_reviews import rating
from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.catalog import service as catalog
from tongban.core import audit
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service as errand_service
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org, User
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource
from tongban.reports import service as reports
from tongban.reports.enums import ReportKind
from tongban.reviews import service as reviews

ADDED = 3
BASELINE = Path(__file__).with_name("query_counts.json")
_serial = itertools.count(1)


@dataclass(frozen=True)
class ListPage:
    """A list page as one user sees it, and how to give it ``n`` more rows."""

    user: User
    url: str
    marker: str  # appears once per row at least
    add: Callable[[int], object]


def _zone(db: Session, name: str = "查询新区") -> Org:
    return org_service.create_org(db, actor=SYSTEM_ACTOR, name=f"{name}{next(_serial)}",
                                  level=OrgLevel.county,
                                  parent=org_service.resolve_org(db, ref="巴中"))


def _cases(db: Session) -> ListPage:
    zone = _zone(db)

    def add(n: int) -> None:
        text = HEADER + "".join(row(f"q{next(_serial)}", org=zone.name, case=f"Q{next(_serial)}",
                                    level="1") for _ in range(n))
        reviews.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                               filename="r.csv")

    return ListPage(make_user(db, role=Role.liaison, org=zone.code), "/reviews",
                    'href="/reviews/cases/', add)


def _task(db: Session, org: Org) -> None:
    rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="查询任务", org=org, issued_on=date(2026, 11, 2), due_on=date(2026, 11, 30),
        lines=[rectification.LineInput("A", "事项", "问题"), rectification.LineInput("B", "事项", "问题")],
        penalty=rectification.Penalty("S03", 0.5))


def _board(db: Session) -> ListPage:
    zone = _zone(db)
    return ListPage(make_user(db, role=Role.liaison, org=zone.code), "/rectification",
                    'href="/rectification/tasks/', lambda n: [_task(db, zone) for _ in range(n)])


def _risk(db: Session) -> ListPage:
    at_risk = {row.org.id for row in rectification.risk(db, actor=SYSTEM_ACTOR)}
    scored = [org for org in org_service.cohort_orgs(org_service.get_cohort(
        db, actor=SYSTEM_ACTOR, code="bz-counties")) if org.id not in at_risk]

    def add(n: int) -> None:
        for org in scored[:n]:  # orgs on a sheet: each row projects its loss on that sheet
            _task(db, org)
        del scored[:n]

    return ListPage(make_user(db, role=Role.analyst), "/rectification/risk",
                    'data-testid="risk-row"', add)


CITIES = ["巴中", "达州", "南充", "广安", "遂宁", "内江", "宜宾", "泸州"]


def _league(db: Session) -> ListPage:
    members: list[Org] = []
    month = {"cohort_code": "t-query", "period": "2026-02"}

    def add(n: int) -> None:
        for name in CITIES[len(members):len(members) + n]:
            org = org_service.resolve_org(db, ref=name)
            members.append(org)
            assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="test", values=[
                MetricInput("2026-02", org.id, metric, value) for metric, value in
                {"claimed": 50 + len(members), "not_needed": 5, "should_claim": 100,
                 "bad_guides": 1}.items()])
        cohort = org_service.get_cohort(db, actor=SYSTEM_ACTOR, code="t-query")
        org_service.set_cohort_members(db, actor=SYSTEM_ACTOR, cohort=cohort, members=members)
        assessment.compute_sheet(db, actor=SYSTEM_ACTOR, **month)

    make_cohort(db, code="t-query", members=[])
    assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(code="t-query",
                                                                    cohort="t-query"))
    return ListPage(make_user(db, role=Role.analyst), "/assessment?cohort=t-query&period=2026-02",
                    'href="/assessment/t-query/2026-02/orgs/', add)


def _adjustments(db: Session) -> ListPage:
    def add(n: int) -> None:
        for _ in range(n):
            assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2031-05", org=_zone(db),
                                         points=-0.5, reason="查询扣分")

    return ListPage(make_user(db, role=Role.analyst), "/assessment/adjustments?period=2031-05",
                    "查询扣分", add)


def _reports(db: Session) -> ListPage:
    def add(n: int) -> None:
        for _ in range(n):
            day = date(2026, 1, 5) + timedelta(days=7 * next(_serial))
            reports.generate(db, actor=SYSTEM_ACTOR,
                             request=reports.ReportRequest(ReportKind.weekly, as_of=day))

    return ListPage(make_user(db, role=Role.analyst), "/reports", 'href="/reports/', add)


def _users(db: Session) -> ListPage:
    def add(n: int) -> None:
        for _ in range(n):
            make_user(db, role=Role.liaison, org=_zone(db).code)

    return ListPage(make_user(db, role=Role.admin), "/admin/users", 'href="/admin/users/', add)


def _orgs(db: Session) -> ListPage:
    return ListPage(make_user(db, role=Role.analyst), "/orgs?q=查询新区", "查询新区",
                    lambda n: [_zone(db) for _ in range(n)])


def _audit_log(db: Session) -> ListPage:
    def add(n: int) -> None:
        for _ in range(n):
            audit.record(db, actor=SYSTEM_ACTOR, action="probe.listed", object_type="probe",
                         object_id=next(_serial))

    return ListPage(make_user(db, role=Role.admin), "/admin/audit?action=probe.listed",
                    "<tr", add)


def _held(db: Session) -> ListPage:
    def add(n: int) -> None:
        for _ in range(n):
            client, comment = f"203.0.113.{next(_serial) % 250}", f"重复{next(_serial)}"
            for _ in range(2):
                reviews.submit_review(db, values=rating(comment=comment), client=client)

    return ListPage(make_user(db, role=Role.analyst), "/reviews/held", 'action="/reviews/held/',
                    add)


def _catalog(db: Session) -> ListPage:
    city = org_service.resolve_org(db, ref="巴中市")

    def add(n: int) -> None:
        # a department of its own each time: a file replaces the departments it names
        office = f"区查询局{next(_serial)}"
        lines = "".join(f"511Q{next(_serial):04d}-511602000000-000-1-1-00,查询事项{n},{office},1\n"
                        for _ in range(n))
        catalog.import_items(db, actor=SYSTEM_ACTOR, org=city, filename=f"q{next(_serial)}.csv",
                             source=io.BytesIO(("itemCode,name,department,taskType\n"
                                                + lines).encode()))

    return ListPage(make_user(db, role=Role.liaison, org="巴州区"), "/catalog?q=查询事项",
                    "查询事项", add)


def _errands(db: Session) -> ListPage:
    item, _ = errand_world(db)
    runner = make_runner(db)

    def add(n: int) -> None:
        for _ in range(n):
            errand = make_errand(db, item=item)
            if runner.active_count < runner.capacity:
                errand_service.grab(db, actor=SYSTEM_ACTOR, errand_id=errand.id,
                                    runner_id=runner.id)

    return ListPage(make_user(db, role=Role.liaison, org="511902"), "/errands", "<tr><td>#", add)


PAGES: dict[str, Callable[[Session], ListPage]] = {
    "errands": _errands,
    "cases": _cases, "rectification_board": _board, "risk_board": _risk, "league_table": _league,
    "adjustments": _adjustments, "reports": _reports, "users": _users, "orgs": _orgs,
    "audit_log": _audit_log, "held_reviews": _held, "catalog": _catalog,
}


def _baseline() -> dict[str, dict[str, int]]:
    return json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.is_file() else {}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_list_page_sends_as_many_queries_whatever_its_rows(
        db: Session, backend_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        name: str) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    page = PAGES[name](db)
    client = logged_in_client(db, page.user)
    page.add(1)
    assert client.get(page.url).status_code == 200  # warm-up

    def render() -> tuple[int, int]:
        with count_queries(backend_engine) as queries:
            response = client.get(page.url)
        assert response.status_code == 200, response.text
        return len(queries), response.text.count(page.marker)

    fewer, shown = render()
    page.add(ADDED)
    more, shown_more = render()
    assert shown_more >= shown + ADDED, "the added rows are not on the page"
    assert more == fewer, f"{name}: {fewer} queries with fewer rows, {more} with {ADDED} more"
    backend = db.get_bind().dialect.name
    if os.environ.get("TONGBAN_UPDATE_QUERY_COUNTS"):
        counts = _baseline()
        counts.setdefault(backend, {})[name] = more
        BASELINE.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    expected = _baseline().get(backend, {}).get(name)
    assert expected is not None, f"no baseline for {name} on {backend} in {BASELINE.name}"
    assert more == expected, (f"{name} sends {more} queries on {backend}, its baseline is "
                              f"{expected}: fix the page, or update {BASELINE.name} if it must")
