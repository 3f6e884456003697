"""Org scoping: every API route, called by a liaison of another org, yields 403/404, never data.

The route table below must name every route under /api/v1; a new route fails
``test_every_api_route_is_classified`` until its scoping expectation is written down here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import api_client, make_user
from tongban.app import create_app
from tongban.core.security import Role
from tongban.org import service

VICTIM_ORG = "511902"  # 巴州区; the intruder is a liaison of 恩阳区 (511903)


@dataclass(frozen=True)
class Probe:
    """How to call a route against the victim's data, and what must come back."""

    path: str
    body: Any = None
    expect: str = "denied"  # denied: 403/404 · no_victim_data: 200 without victim codes · own · public


def _probes(victim_user_id: int, victim_token_id: int) -> dict[tuple[str, str], Probe]:
    return {
        ("GET", "/api/v1/orgs"): Probe("/api/v1/orgs?limit=500", expect="no_victim_data"),
        ("GET", "/api/v1/orgs/{code}"): Probe(f"/api/v1/orgs/{VICTIM_ORG}"),
        ("GET", "/api/v1/orgs/{code}/children"): Probe(f"/api/v1/orgs/{VICTIM_ORG}/children"),
        ("POST", "/api/v1/orgs"): Probe(
            "/api/v1/orgs", {"name": "巴州区新局", "level": "department", "parent": "巴中市"}
        ),
        ("GET", "/api/v1/cohorts"): Probe("/api/v1/cohorts"),
        ("GET", "/api/v1/cohorts/{code}"): Probe("/api/v1/cohorts/bz-counties"),
        ("POST", "/api/v1/cohorts"): Probe(
            "/api/v1/cohorts", {"code": "mine", "name": "x", "members": [VICTIM_ORG]}
        ),
        ("PUT", "/api/v1/cohorts/{code}/members"): Probe(
            "/api/v1/cohorts/bz-counties/members", {"members": []}
        ),
        ("GET", "/api/v1/users"): Probe("/api/v1/users"),
        ("POST", "/api/v1/users"): Probe(
            "/api/v1/users",
            {"username": "evil", "password": "longpassword", "role": "liaison",
             "org": VICTIM_ORG},
        ),
        ("GET", "/api/v1/users/{user_id}"): Probe(f"/api/v1/users/{victim_user_id}"),
        ("PATCH", "/api/v1/users/{user_id}"): Probe(
            f"/api/v1/users/{victim_user_id}", {"is_active": False}
        ),
        ("GET", "/api/v1/me"): Probe("/api/v1/me", expect="own"),
        ("GET", "/api/v1/me/tokens"): Probe("/api/v1/me/tokens", expect="own"),
        ("POST", "/api/v1/me/tokens"): Probe("/api/v1/me/tokens", {"name": "mine"}, "own"),
        ("DELETE", "/api/v1/me/tokens/{token_id}"): Probe(f"/api/v1/me/tokens/{victim_token_id}"),
        ("POST", "/api/v1/auth/token"): Probe(
            "/api/v1/auth/token", {"username": "liaison", "password": "wrong"}, "public"
        ),
        ("GET", "/api/v1/calendar/add-workdays"): Probe(
            "/api/v1/calendar/add-workdays?start=2026-09-28&n=15", expect="public"
        ),
        ("GET", "/api/v1/calendar/days/{day}"): Probe(
            "/api/v1/calendar/days/2026-10-10", expect="public"
        ),
        ("GET", "/api/v1/calendar/overrides"): Probe("/api/v1/calendar/overrides",
                                                     expect="public"),
        ("PUT", "/api/v1/calendar/overrides/{day}"): Probe(
            "/api/v1/calendar/overrides/2026-12-01", {"kind": "holiday"}
        ),
        ("DELETE", "/api/v1/calendar/overrides/{day}"): Probe(
            "/api/v1/calendar/overrides/2026-12-01"
        ),
        ("GET", "/api/v1/audit"): Probe("/api/v1/audit"),
        ("GET", "/api/v1/audit/verify"): Probe("/api/v1/audit/verify"),
    }


def _api_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }


def test_every_api_route_is_classified() -> None:
    assert _api_routes() == set(_probes(0, 0))


@pytest.fixture
def intruder_and_victim(db: Session) -> tuple[TestClient, int, int]:
    victim = make_user(db, role=Role.liaison, org=VICTIM_ORG)
    token, _ = service.create_api_token(db, actor=service.actor_for(victim), name="victim")
    intruder = make_user(db, role=Role.liaison, org="511903")
    return api_client(db, intruder), victim.id, token.id


def test_liaison_of_another_org_gets_no_data_from_any_route(
    db: Session, intruder_and_victim: tuple[TestClient, int, int]
) -> None:
    client, victim_user_id, victim_token_id = intruder_and_victim
    failures = []
    for (method, template), probe in _probes(victim_user_id, victim_token_id).items():
        response = client.request(method, probe.path, json=probe.body)
        text = response.text
        if probe.expect == "denied":
            ok = response.status_code in (403, 404)
        elif probe.expect == "no_victim_data":
            ok = response.status_code == 200 and VICTIM_ORG not in text
        elif probe.expect == "own":
            ok = response.status_code in (200, 201) and VICTIM_ORG not in text
        else:  # public reference data or a credential exchange, never org data
            ok = response.status_code < 500 and VICTIM_ORG not in text
        if not ok:
            failures.append(f"{method} {template}: {response.status_code} {text[:200]}")
    assert failures == []
