"""Schemathesis against the OpenAPI document: every API operation, as an analyst and as a
liaison, on SQLite and PostgreSQL, with zero 5xx and zero responses outside the schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from tests.factories import make_user, token_for
from tongban.app import create_app
from tongban.core.security import Role

app = create_app()
schema = schemathesis.openapi.from_dict(app.openapi())  # no start-up: the tests' database
schema.app = app
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance)


@pytest.fixture(params=[Role.analyst, Role.liaison], ids=["analyst", "liaison"])
def bearer(request: pytest.FixtureRequest, db: Session) -> dict[str, str]:
    role: Role = request.param
    user = make_user(db, role=role, org="巴州区" if role is Role.liaison else None)
    return {"Authorization": f"Bearer {token_for(db, user)}"}


@schema.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema_and_never_fails(case: Any, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=bearer, checks=CHECKS)
