"""A liaison's league table opens on the cohort that ranks its org, with its row in it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tongban.core.security import Role
from tongban.org import service as org_service
from tongban.org.models import Cohort, CohortMember


@pytest.mark.parametrize("org", ["巴州区", "市交通运输局", "通江县"])
def test_a_liaisons_league_table_opens_on_its_own_cohort_with_its_row(db: Session,
                                                                      org: str) -> None:
    own = org_service.resolve_org(db, ref=org)
    cohorts = set(db.scalars(select(Cohort.code).join(CohortMember)
                             .where(CohortMember.org_id == own.id)))
    client = logged_in_client(db, make_user(db, role=Role.liaison, org=org))
    page = client.get("/assessment").text
    [selected] = re.findall(r'<option value="([^"]+)" selected>', page.split('name="cohort"')[1]
                            .split("</select>")[0])
    assert selected in cohorts
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert own.short_name in rows or own.name in rows
    assert "暂无" not in rows
