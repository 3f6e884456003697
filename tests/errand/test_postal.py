"""政务服务+邮政: the post-office registry, its all-or-nothing idempotent import, coverage
against the targets, the monthly metrics per county, the page and the CLI."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import errand_world, logged_in_client, make_user
from tongban.assessment.models import MetricValue
from tongban.catalog.models import ServiceItem
from tongban.cli import app
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.tabular import ImportCounts
from tongban.errand import postal
from tongban.errand.models import PostOffice
from tongban.org.service import actor_for

HEADER = "网点编码,网点名称,区县,地址,纬度,经度,升级状态,升级日期,可办部门,可办事项\n"


def _codes(db: Session, n: int = 3) -> list[str]:
    return list(db.scalars(select(ServiceItem.impl_code).order_by(ServiceItem.id).limit(n)))


def _csv(*rows: str) -> io.BytesIO:
    return io.BytesIO((HEADER + "\n".join(rows) + "\n").encode("utf-8"))


def _import(db: Session, *rows: str) -> ImportCounts:
    return postal.import_post_offices(db, actor=SYSTEM_ACTOR, source=_csv(*rows),
                                      filename="网点.csv")


def _rows(db: Session) -> list[str]:
    a, b, c = _codes(db)
    return [f"YZ001,巴州邮政营业所,511902,江北大道1号,31.86,106.74,已升级,2026-03-05,"
            f"市公安局、市人社局,{a}、{b}",
            f"YZ002,恩阳邮政支局,恩阳区,,,,已升级,2026/4/1,市人社局;市医保局,{c}",
            "YZ003,通江邮政支局,511921,,,,未升级,,,"]


def test_an_import_registers_outlets_with_their_departments_and_items(db: Session) -> None:
    errand_world(db)
    assert _import(db, *_rows(db)).as_dict() == {"added": 3, "changed": 0, "unchanged": 0}
    office = db.scalar(select(PostOffice).where(PostOffice.code == "YZ001"))
    assert office is not None and office.county.code == "511902"
    assert office.upgraded and office.upgraded_on == date(2026, 3, 5)
    assert office.department_list == sorted(["市公安局", "市人社局"])
    assert len(office.item_code_list) == 2 and (office.lat, office.lng) == (31.86, 106.74)


def test_a_second_import_of_the_same_file_changes_nothing_and_a_change_updates(
        db: Session) -> None:
    errand_world(db)
    rows = _rows(db)
    _import(db, *rows)
    assert _import(db, *rows).as_dict() == {"added": 0, "changed": 0, "unchanged": 3}
    rows[2] = "YZ003,通江邮政支局,511921,,,,已升级,2026-05-01,市民政局,"
    assert _import(db, *rows).as_dict() == {"added": 0, "changed": 1, "unchanged": 2}
    assert db.scalar(select(PostOffice.upgraded).where(PostOffice.code == "YZ003"))


def test_a_file_with_any_bad_row_imports_nothing_and_names_row_column_and_reason(
        db: Session) -> None:
    errand_world(db)
    good = _rows(db)[0]
    with pytest.raises(ValidationFailed) as refused:
        _import(db, good, "YZ009,某网点,北京市,,,,已升级,,,", "YZ010,某网点,511902,,95,,半升级,,,",
                "YZ011,某网点,511902,,,,未升级,,,NOT-A-CODE-999", good)
    lines = "\n".join(refused.value.errors.lines())
    assert "区县「北京市」不是本市的代办区域" in lines
    assert "已升级的网点须填写升级日期" in lines
    assert "升级状态须为" in lines and "纬度无效" in lines
    assert "事项目录中没有 NOT-A-CODE-999" in lines
    assert "网点编码 YZ001 在文件中重复" in lines
    assert "「区县」列第3行" in lines and "网点.csv" in refused.value.summary
    assert db.scalar(select(PostOffice.id)) is None


def test_a_file_without_a_required_column_is_refused(db: Session) -> None:
    errand_world(db)
    with pytest.raises(ValidationFailed, match="缺少"):
        postal.import_post_offices(db, actor=SYSTEM_ACTOR, filename="x.csv",
                                   source=io.BytesIO("网点编码,网点名称\nA1,x\n".encode()))


def test_only_managers_import(db: Session) -> None:
    errand_world(db)
    liaison = make_user(db, role=Role.liaison, org="511902")
    with pytest.raises(PermissionDenied):
        postal.import_post_offices(db, actor=actor_for(liaison), source=_csv(*_rows(db)),
                                   filename="网点.csv")
    assert not postal.may_import(actor_for(liaison))


def test_a_liaison_lists_only_its_countys_outlets(db: Session) -> None:
    errand_world(db)
    _import(db, *_rows(db))
    liaison = actor_for(make_user(db, role=Role.liaison, org="511903"))
    found = postal.list_post_offices(db, actor=liaison, params=ListParams())
    assert [o.code for o in found.items] == ["YZ002"]
    coverage, _ = postal.coverage(db, actor=liaison)
    assert (coverage.outlets, coverage.upgraded) == (1, 1)


def test_coverage_counts_upgraded_outlets_and_distinct_departments_and_items(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    errand_world(db)
    _import(db, *_rows(db))
    found, targets = postal.coverage(db, actor=SYSTEM_ACTOR)
    assert (found.outlets, found.upgraded, found.departments, found.items) == (3, 2, 3, 3)
    assert found.rate == pytest.approx(66.67)
    assert [(t.value, t.target, t.met) for t in targets] == [
        (2, 100, False), (pytest.approx(66.67), 90.0, False), (3, 20, False), (3, 200, False)]
    monkeypatch.setenv("TONGBAN_ERRAND_POSTAL_TARGET_UPGRADED", "2")
    from tongban.core.config import get_settings
    get_settings.cache_clear()
    assert postal.coverage(db, actor=SYSTEM_ACTOR)[1][0].met


def test_monthly_metrics_per_county_count_upgrades_by_the_months_end(db: Session) -> None:
    errand_world(db)
    _import(db, *_rows(db))
    march = postal.metrics_by_county(db, period="2026-03")
    april = postal.metrics_by_county(db, period="2026-04")
    bazhou, enyang = (db.scalar(select(PostOffice.county_org_id).where(PostOffice.code == c))
                      for c in ("YZ001", "YZ002"))
    assert march[bazhou] == {"postal_outlets": 1, "postal_outlets_upgraded": 1,
                             "postal_departments": 2, "postal_items": 2,
                             "postal_coverage_rate": 100.0}
    assert march[enyang]["postal_outlets_upgraded"] == 0
    assert april[enyang]["postal_outlets_upgraded"] == 1
    assert postal.record_metrics(db, as_of=date(2026, 4, 15)) > 0
    assert postal.record_metrics(db, as_of=date(2026, 4, 15)) == 0  # idempotent
    stored = db.scalar(select(MetricValue.value).where(
        MetricValue.period == "2026-03", MetricValue.org_id == enyang,
        MetricValue.metric == "postal_coverage_rate"))
    assert stored == 0.0


def test_the_page_shows_coverage_and_the_import_form_to_the_analyst(db: Session) -> None:
    errand_world(db)
    _import(db, *_rows(db))
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/errands/post-offices?county=511903")
    assert page.status_code == 200
    assert "恩阳邮政支局" in page.text and "巴州邮政营业所" not in page.text
    assert "66.67（2/3）" in page.text and 'data-testid="postal-import"' in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    page = liaison.get("/errands/post-offices")
    assert "巴州邮政营业所" in page.text and "恩阳邮政支局" not in page.text
    assert 'data-testid="postal-import"' not in page.text


def test_the_page_import_shows_grouped_errors(db: Session) -> None:
    errand_world(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/errands/post-offices")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/errands/post-offices/import", data={"csrf_token": csrf},
                      files={"file": ("网点.csv", _csv("YZ9,x,北京市,,,,未升级,,,").getvalue(),
                                      "text/csv")})
    assert bad.status_code == 422 and "不是本市的代办区域" in bad.text
    ok = client.post("/errands/post-offices/import", data={"csrf_token": csrf},
                     files={"file": ("网点.csv", _csv(*_rows(db)).getvalue(), "text/csv")},
                     follow_redirects=False)
    assert ok.status_code == 303


def test_the_cli_imports_and_lists_as_json(db: Session, tmp_path: Path) -> None:
    errand_world(db)
    path = tmp_path / "网点.csv"
    path.write_bytes(_csv(*_rows(db)).getvalue())
    runner = CliRunner()
    done = runner.invoke(app, ["errand", "postal", "import", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"added": 3, "changed": 0, "unchanged": 0}
    listed = runner.invoke(app, ["errand", "postal", "list", "--county", "511902", "--json"])
    body = json.loads(listed.output)
    assert body["total"] == 1 and body["items"][0]["code"] == "YZ001"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv("YZ9,x,北京市,,,,未升级,,,").getvalue())
    refused = runner.invoke(app, ["errand", "postal", "import", str(bad), "--json"])
    assert refused.exit_code == 1 and json.loads(refused.output)["added"] == 0
