"""Cohorts and schemes by their Chinese names where people read them: the scheme list and
page, an org's sheet page, the league's heading, the import history and the CLI."""

from __future__ import annotations

import io
import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import logged_in_client, make_user
from tongban.assessment import importers
from tongban.cli import app as cli
from tongban.core.security import SYSTEM_ACTOR, Role

COUNTIES = "巴中市县区类"
SCHEME = "巴中市政务服务能力提升与好差评考核"


def _row_of(html: str, marker: str) -> str:
    return html.split(marker)[1].split("</tr>")[0]


def test_the_scheme_list_and_page_name_their_cohorts(db: Session) -> None:
    page = logged_in_client(db, make_user(db, role=Role.analyst))
    row = _row_of(page.get("/assessment/schemes").text, 'href="/assessment/schemes/bz-hcp/2026.2"')
    assert f"{COUNTIES}、巴中市市级A类部门、巴中市市级B类部门" in row and "bz-counties" not in row
    detail = page.get("/assessment/schemes/bz-hcp/2026.2").text
    assert f"分组 {COUNTIES}、" in detail and "分组 bz-counties" not in detail


def test_an_orgs_sheet_page_and_the_league_name_the_scheme_not_its_code(db: Session) -> None:
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    org = page.get("/assessment/bz-counties/2026-03/orgs/511902").text
    head = org.split("<h1>")[1].split("</p>")[0]
    assert COUNTIES in head and SCHEME in head and "bz-hcp@" not in head.split('title="')[0]
    league = page.get("/assessment", params={"cohort": "bz-counties", "period": "2026-03"}).text
    sub = league.split("<h1>")[1].split("</p>")[0]
    assert f"{SCHEME}（2026.2版）" in sub and "（bz-hcp@" not in sub


def test_the_import_history_names_the_cohort(db: Session) -> None:
    importers.import_file(db, actor=SYSTEM_ACTOR, filename="分组名称.csv", cohort_code="bz-counties",
                          period="2026-05", source=io.BytesIO(
                              "period,org,metric,value\n2026-05,巴州区,claimed,1\n".encode()))
    html = logged_in_client(db, make_user(db, role=Role.analyst)).get("/assessment/import").text
    row = _row_of(html, "<td>分组名称.csv</td>")
    assert f"<td>{COUNTIES}</td>" in row and "bz-counties" not in row


def test_the_cli_names_cohorts_and_states_in_its_tables(db: Session) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["assess", "scheme", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert COUNTIES in listed.output and "bz-counties" not in listed.output
    as_json = runner.invoke(cli, ["assess", "scheme", "list", "--json"])
    assert "bz-counties" in json.loads(as_json.output)["items"][0]["cohorts"]  # codes for machines
    ranked = runner.invoke(cli, ["assess", "rank", "--cohort", "bz-counties", "--period", "2026-03"],
                           env={"COLUMNS": "200"})
    assert ranked.exit_code == 0, ranked.output
    assert "（已发布）" in ranked.output or "（草稿）" in ranked.output
    assert "published）" not in ranked.output and "draft）" not in ranked.output
