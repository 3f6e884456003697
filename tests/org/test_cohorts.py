"""Cohorts: the reference cohort, creation by CLI and page, member changes audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, csrf_of, logged_in_client, make_user
from tongban.cli import app as cli
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, DomainError, PermissionDenied
from tongban.core.listing import ListParams
from tongban.core.security import Role
from tongban.org import service

runner = CliRunner()


def test_reference_cohort_holds_the_21_cities(db: Session) -> None:
    admin = actor_of(db, role=Role.admin)
    cohort = service.get_cohort(db, actor=admin, code="sichuan-cities")
    orgs = service.cohort_orgs(cohort)
    assert len(orgs) == 21
    assert "巴中市" in {o.name for o in orgs}


def test_demo_cohorts_split_the_45_evaluated_orgs(db: Session) -> None:
    admin = actor_of(db, role=Role.admin)
    sizes = {c: len(service.get_cohort(db, actor=admin, code=c).members)
             for c in ("bz-counties", "bz-dept-a", "bz-dept-b")}
    assert sizes["bz-counties"] == 7
    assert sum(sizes.values()) == 45


def test_cli_creates_a_cohort_from_names_and_codes(db: Session) -> None:
    result = runner.invoke(
        cli,
        ["org", "cohort", "create", "north-east", "--name", "川东北", "--member", "巴中",
         "--member", "511300", "--member", "达州市", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["members"] == ["511900", "511300", "511700"]
    admin = actor_of(db, role=Role.admin)
    assert len(service.get_cohort(db, actor=admin, code="north-east").members) == 3


def test_cli_reports_an_unknown_member_in_chinese(db: Session) -> None:
    result = runner.invoke(
        cli, ["org", "cohort", "create", "bad", "--name", "坏", "--member", "不存在市"]
    )
    assert result.exit_code == 1
    assert "未找到组织「不存在市」" in result.output


def test_duplicate_cohort_code_is_refused(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    with pytest.raises(Conflict):
        service.create_cohort(db, actor=analyst, code="bz-counties", name="x", members=[])


def test_member_changes_are_audited_with_added_and_removed(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    cohort = service.get_cohort(db, actor=analyst, code="bz-counties")
    counties = [o for o in service.cohort_orgs(cohort) if not o.is_zone]
    service.set_cohort_members(db, actor=analyst, cohort=cohort, members=counties,
                               reason="功能区单列")
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "cohort.members_changed")
    ).one()
    assert len(entry.changes["removed"]) == 2 and entry.changes["added"] == []
    assert entry.reason == "功能区单列"


def test_reference_cohort_cannot_be_edited(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    cohort = service.get_cohort(db, actor=analyst, code="sichuan-cities")
    with pytest.raises(DomainError):
        service.set_cohort_members(db, actor=analyst, cohort=cohort, members=[])


def test_leaders_read_but_do_not_manage_cohorts(db: Session) -> None:
    leader = actor_of(db, role=Role.leader)
    assert service.list_cohorts(db, actor=leader, params=ListParams()).items
    with pytest.raises(PermissionDenied):
        service.create_cohort(db, actor=leader, code="x-y", name="x", members=[])


def test_cohort_page_creates_and_edits_members(db: Session) -> None:
    analyst = make_user(db, role=Role.analyst)
    client = logged_in_client(db, analyst)
    token = csrf_of(client, "/cohorts")
    response = client.post(
        "/cohorts",
        data={"csrf_token": token, "code": "pilot", "name": "试点县区",
              "members": "巴州区\n511903 恩阳区"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "试点县区" in response.text and "恩阳区" in response.text
    response = client.post(
        "/cohorts/pilot/members",
        data={"csrf_token": token, "members": "巴州区\n通江县\n南江县", "reason": "扩大试点"},
        follow_redirects=True,
    )
    assert "南江县" in response.text and "恩阳区" not in response.text.split("调整成员")[0]
