"""Any city in China: the region is a setting; a database is created with its province's cities
and the city's own counties and townships, keeps that tree, and refuses another province."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from tests.factories import scheme_yaml
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.core import db as core_db
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service
from tongban.org.enums import OrgLevel
from tongban.org.models import Cohort, Org


def region_of(monkeypatch: pytest.MonkeyPatch, city: str, scope: str = "city") -> None:
    monkeypatch.setenv("TONGBAN_CITY_CODE", city)
    monkeypatch.setenv("TONGBAN_REFERENCE_SCOPE", scope)
    get_settings.cache_clear()


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Engine]:
    """A new database of its own (the session's demo database is Sichuan's)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'region.db'}")
    core_db.upgrade_schema(engine)
    yield engine
    engine.dispose()


def _count(db: Session, level: OrgLevel) -> int:
    return db.scalar(select(func.count()).select_from(Org).where(Org.level == level.value)) or 0


def test_a_guangdong_city_gets_its_province_and_imports_a_sheet_for_its_21_cities(
        empty_db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    region_of(monkeypatch, "440100")  # 广州市
    with Session(empty_db) as db:
        service.load_reference_divisions(db)
        assert (_count(db, OrgLevel.province), _count(db, OrgLevel.city)) == (1, 21)
        counties = db.scalars(select(Org).where(Org.level == OrgLevel.county.value)).all()
        assert counties and all(o.code.startswith("4401") for o in counties)
        assert _count(db, OrgLevel.township) > 100
        [cohort] = db.scalars(select(Cohort).where(Cohort.is_reference.is_(True))).all()
        assert (cohort.code, cohort.name) == ("guangdong-cities", "广东省的21个市(州)")
        assert service.resolve_org(db, ref="深圳").code == "440300"
        assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
            code="gd-ywtb", cohort="guangdong-cities", grading="{good_top: 3}", indicators="""
      - {code: G1, name: 事项管理, max_points: 5, rule: {type: given}}
      - {code: G2, name: 办事指南, max_points: 5, rule: {type: given}}
"""))
        cities = db.scalars(select(Org).where(Org.level == OrgLevel.city.value)
                           .order_by(Org.code)).all()
        sheet = "单位,事项管理,办事指南\n" + "".join(
            f"{c.short_name},{5 - i * 0.1:.1f},{4 + i * 0.05:.2f}\n" for i, c in enumerate(cities))
        report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(sheet.encode()),
                                       filename="广东省2026年3月通报.csv",
                                       cohort_code="guangdong-cities", period="2026-03")
        assert (report.rows, report.metric_values_changed) == (21, 42)
        scored = assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="guangdong-cities",
                                          period="2026-03")
        assert len(scored.lines) == 21
        db.rollback()


def test_a_database_keeps_its_province(empty_db: Engine,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    region_of(monkeypatch, "440100")
    with Session(empty_db) as db:
        service.load_reference_divisions(db)
        db.commit()
    region_of(monkeypatch, "511900")
    with Session(empty_db) as db, pytest.raises(DomainError) as refused:
        service.load_reference_divisions(db)
    assert "数据库已按广东省建立组织机构，不能改为四川省" in refused.value.message
    region_of(monkeypatch, "440300")  # another city of the same province: its counties join
    with Session(empty_db) as db:
        loaded = service.load_reference_divisions(db)
        assert loaded.created > 0 and service.resolve_org(db, ref="福田区").code == "440304"


def test_a_provincial_deployment_holds_every_county(empty_db: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    region_of(monkeypatch, "511900", scope="province")
    with Session(empty_db) as db:
        service.load_reference_divisions(db)
        assert (_count(db, OrgLevel.county), _count(db, OrgLevel.township)) == (183, 3111)
        assert db.scalar(select(Cohort.code).where(Cohort.is_reference.is_(True))) == \
            "sichuan-cities"
        assert service.resolve_org(db, ref="木里县").name == "木里藏族自治县"


@pytest.mark.parametrize("code", ["511902", "5119", "abcdef", "990000"])
def test_a_city_code_that_names_no_city_is_refused_in_plain_words(
        monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    region_of(monkeypatch, code)
    with pytest.raises(DomainError, match="不是地级行政区划代码"):
        service.region()
