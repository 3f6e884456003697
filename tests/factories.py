"""Factories for test objects, made through the public services."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.org import service as org_service
from tongban.org.models import User

PASSWORD = "Passw0rd!test"
_counter = itertools.count(1)


def make_user(db: Session, *, role: Role, org: str | None = None, username: str | None = None,
              password: str = PASSWORD) -> User:
    """A user with ``role`` in ``org`` (code or name)."""
    org_obj = org_service.resolve_org(db, ref=org) if org else None
    return org_service.create_user(
        db,
        actor=SYSTEM_ACTOR,
        username=username or f"{role.value}-{next(_counter)}",
        password=password,
        role=role,
        org=org_obj,
    )


def actor_of(db: Session, *, role: Role, org: str | None = None) -> Actor:
    return org_service.actor_for(make_user(db, role=role, org=org))


def token_for(db: Session, user: User) -> str:
    _, plain = org_service.create_api_token(db, actor=org_service.actor_for(user), name="test")
    return plain


def api_client(db: Session, user: User) -> TestClient:
    """A client that calls the API with ``user``'s bearer token."""
    from tongban.app import create_app

    client = TestClient(create_app())
    client.headers["Authorization"] = f"Bearer {token_for(db, user)}"
    return client


def logged_in_client(db: Session, user: User, password: str = PASSWORD) -> TestClient:
    """A browser-like client logged in through the login form."""
    from tongban.app import create_app

    client = TestClient(create_app())
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": user.username, "password": password, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient, path: str = "/account") -> str:
    page = client.get(path)
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def make_cohort(db: Session, *, code: str, members: list[str]) -> None:
    """A cohort of orgs given by code or name."""
    orgs = [org_service.resolve_org(db, ref=m) for m in members]
    org_service.create_cohort(db, actor=SYSTEM_ACTOR, code=code, name=code, members=orgs)


#: The data items the test schemes read from files (declared by each scheme, as the shipped
#: ones declare theirs): the default indicators' and the ones tests add most.
TEST_DATA_ITEMS = ("claimed", "not_needed", "should_claim", "bad_guides", "a", "b", "c", "d", "m",
                   "x", "y", "rate",
                   "score", "hits", "misses", "value", "total", "points")


def scheme_yaml(*, code: str = "t-scheme", version: str = "1", cohort: str = "t-cohort",
                effective_from: str = "2026-01", effective_to: str | None = None,
                indicators: str | None = None, total: float = 10,
                grading: str = "{good_top: 1, poor_bottom: 1}",
                data_items: tuple[str, ...] = TEST_DATA_ITEMS) -> str:
    """A small scheme; ``indicators`` is the YAML list under one category; ``data_items`` the
    codes it declares as coming from files."""
    body = indicators or """
      - {code: X1, name: 认领率, max_points: 6,
         rule: {type: ratio, numerator: [claimed, not_needed], denominator: should_claim}}
      - {code: X2, name: 异常指南, max_points: 4,
         rule: {type: per_event_deduction, metric: bad_guides, points_each: 0.5}}
"""
    until = f"effective_to: {effective_to}\n" if effective_to else ""
    items = "".join(f"\n  - {{code: {c}, name: {c}}}" for c in data_items)
    declared = f"data_items:{items}\n" if data_items else ""
    return f"""
code: {code}
name: 测试方案
version: "{version}"
effective_from: {effective_from}
{until}cohort: {cohort}
total_points: {total}
grading: {grading}
{declared}categories:
  - code: X
    name: 测试大类
    indicators:{body}"""


def chart_option(html: str, chart_id: str) -> Any:
    """The ECharts option a page hands to its chart ``chart_id`` (its JSON block)."""
    block = html.split(f'<script type="application/json" id="{chart_id}-data">')[1]
    return json.loads(block.split("</script>")[0])


def located(failure: ValidationFailed) -> list[tuple[int | None, str | None, str]]:
    """Every (row, column, reason) a refusal's grouped errors list, in row order."""
    found: list[tuple[int | None, str | None, str]] = []
    for group in failure.errors:
        rows: list[int | None] = []
        for item in group.rows or [None]:
            rows += list(range(item[0], item[1] + 1)) if isinstance(item, list) else [item]
        found += [(row, group.column, group.reason) for row in rows]
    return sorted(found, key=lambda error: -1 if error[0] is None else error[0])


class QueryCount:
    """The SQL statements sent while counting (savepoints and their releases aside)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(engine: Engine) -> Iterator[QueryCount]:
    """Count the statements ``engine`` sends inside the block (a page rendering, say)."""
    counted = QueryCount()

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            counted.statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", note)


def errand_world(db: Session) -> Any:
    """The demo's 跑团 zones and items (without its runners and errands) for errand tests."""
    from datetime import date

    from sqlalchemy import select

    from tongban.demo.errand import SEATS
    from tongban.errand.models import ErrandItem, ErrandZone

    if db.scalar(select(ErrandZone.id).limit(1)) is None:
        for code, (lat, lng) in SEATS.items():
            db.add(ErrandZone(org_id=org_service.resolve_org(db, ref=code).id, seat_lat=lat,
                              seat_lng=lng))
    plain = ErrandItem(item_code=f"T-{next(_counter)}", name="测试代办事项", hall="市政务服务中心",
                       window="1号窗口", sla_days=2, published_on=date(2026, 3, 1))
    skilled = ErrandItem(item_code=f"T-{next(_counter)}", name="不动产代办", qualification="不动产",
                         published_on=date(2026, 9, 1), batch=2)
    db.add_all([plain, skilled])
    db.flush()
    return plain, skilled


def make_runner(db: Session, *, org: str = "511902", at: tuple[float, float] = (31.867, 106.747),
                capacity: int = 2, on_duty: bool = True, qualifications: str = "") -> Any:
    """A runner user with its 跑手 record, on duty at ``at``."""
    from tongban.core.db import utcnow
    from tongban.errand import service as errand_service

    user = make_user(db, role=Role.runner, org=org)
    runner = errand_service.register_runner(
        db, actor=SYSTEM_ACTOR, user=user, team=org_service.resolve_org(db, ref=org),
        capacity=capacity, qualifications=qualifications)
    runner.on_duty, (runner.lat, runner.lng), runner.position_at = on_duty, at, utcnow()
    db.flush()
    return runner


def make_errand(db: Session, *, item: Any, at: tuple[float, float] = (31.868, 106.748),
                authorised: bool = True, contact: str = "王芳", phone: str = "13912345678",
                address: str = "江北大道1号") -> Any:
    """An open errand submitted by staff."""
    from tongban.errand import service as errand_service

    request = errand_service.Request(item_id=item.id, contact_name=contact, phone=phone,
                                     lat=at[0], lng=at[1], address=address,
                                     authorised=authorised)
    return errand_service.submit(db, actor=SYSTEM_ACTOR, request=request).errand


def picture(kind: str = "PNG", size: tuple[int, int] = (24, 16)) -> bytes:
    """A real image Pillow decodes whole (evidence uploads refuse what only starts like one)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, kind)
    return out.getvalue()
