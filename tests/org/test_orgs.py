"""Org tree: reference divisions, name resolution, pinyin search, zones and departments."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import actor_of
from tongban.core.errors import DomainError
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service
from tongban.org.enums import DeptClass, OrgLevel
from tongban.org.models import Org


def _count(db: Session, level: OrgLevel, *, coded: bool = True) -> int:
    stmt = select(func.count()).select_from(Org).where(Org.level == level.value)
    if coded:
        stmt = stmt.where(Org.division_code.is_not(None))
    return db.scalar(stmt) or 0


#: 巴中市's region: Sichuan, its 21 cities, 巴中's 5 counties and their 139 townships
BAZHONG_TREE = (1, 21, 5, 139)


def test_the_reference_tree_is_the_province_and_the_citys_own_counties(db: Session) -> None:
    assert (_count(db, OrgLevel.province), _count(db, OrgLevel.city), _count(db, OrgLevel.county),
            _count(db, OrgLevel.township)) == BAZHONG_TREE
    assert {o.name for o in service.children(
        db, actor=SYSTEM_ACTOR, org=service.resolve_org(db, ref="巴中市"))} >= {
        "巴州区", "恩阳区", "通江县", "南江县", "平昌县"}


def test_loading_reference_data_again_changes_nothing(db: Session) -> None:
    result = service.load_reference_divisions(db)
    assert (result.created, result.updated) == (0, 0)
    assert result.unchanged == sum(BAZHONG_TREE)


def test_city_code_is_the_six_digit_division_code(db: Session) -> None:
    bazhong = service.resolve_org(db, ref="巴中市")
    assert bazhong.code == "511900"
    assert bazhong.parent is not None and bazhong.parent.name == "四川省"


@pytest.mark.parametrize("ref", ["巴中", "巴中市", "511900"])
def test_org_resolves_by_short_name_full_name_or_code(db: Session, ref: str) -> None:
    assert service.resolve_org(db, ref=ref).code == "511900"


def test_autonomous_prefecture_short_name_drops_the_ethnic_suffix(db: Session) -> None:
    assert service.resolve_org(db, ref="阿坝").name == "阿坝藏族羌族自治州"
    assert service.resolve_org(db, ref="凉山").name == "凉山彝族自治州"


@pytest.mark.parametrize(("ref", "name"), [
    ("阿坝州", "阿坝藏族羌族自治州"), ("甘孜州", "甘孜藏族自治州"), ("凉山州", "凉山彝族自治州"),
    ("经开区", "巴中经济开发区"), ("巴中经开区", "巴中经济开发区")])
def test_names_resolve_as_people_write_them(db: Session, ref: str, name: str) -> None:
    assert service.resolve_org(db, ref=ref).name == name


def test_a_written_short_form_does_not_reach_a_place_of_another_kind(db: Session) -> None:
    with pytest.raises(service.OrgNotResolved):
        service.resolve_org(db, ref="巴中州")  # 巴中 is a city, not an autonomous prefecture


def test_ambiguous_name_lists_its_candidates(db: Session) -> None:
    with pytest.raises(service.OrgNotResolved) as excinfo:
        service.resolve_org(db, ref="兴隆镇")
    assert len(excinfo.value.candidates) == 2
    assert "恩阳区" in excinfo.value.message and "通江县" in excinfo.value.message


def test_parent_path_disambiguates(db: Session) -> None:
    assert service.resolve_org(db, ref="通江/兴隆镇").parent.name == "通江县"  # type: ignore[union-attr]


def test_unknown_name_is_an_error_with_suggestions(db: Session) -> None:
    with pytest.raises(service.OrgNotResolved) as excinfo:
        service.resolve_org(db, ref="巴中县")
    assert "未找到组织「巴中县」" in excinfo.value.message
    assert "巴中市" in excinfo.value.message


def test_pinyin_initials_find_bazhong(db: Session) -> None:
    found = service.search_orgs(db, actor=SYSTEM_ACTOR, level=OrgLevel.city,
                                params=ListParams(q="bz"))
    assert [o.name for o in found.items] == ["巴中市"]
    found = service.search_orgs(db, actor=SYSTEM_ACTOR, params=ListParams(q="bazhong"))
    assert "巴中市" in [o.name for o in found.items]


def test_zones_without_division_codes_sit_under_the_city(db: Session) -> None:
    zone = service.resolve_org(db, ref="巴中经开区")
    assert zone.is_zone
    assert zone.level == OrgLevel.county.value
    assert zone.code.startswith("511900-Z")
    assert zone.parent is not None and zone.parent.code == "511900"


def test_departments_carry_their_class(db: Session) -> None:
    transport = service.resolve_org(db, ref="市交通运输局")
    archives = service.resolve_org(db, ref="市档案馆")
    assert (transport.dept_class, archives.dept_class) == ("A", "B")
    assert transport.level == OrgLevel.department.value


def test_new_department_gets_the_next_code_and_is_audited(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    city = service.resolve_org(db, ref="广安")
    first = service.create_org(db, actor=analyst, name="市大数据中心", level=OrgLevel.department,
                               parent=city, dept_class=DeptClass.B)
    second = service.create_org(db, actor=analyst, name="市行政审批局",
                                level=OrgLevel.department, parent=city)
    assert (first.code, second.code) == ("511600-D01", "511600-D02")
    from tongban.core.audit import AuditEntry

    entry = db.scalar(select(AuditEntry).where(AuditEntry.object_id == "511600-D01"))
    assert entry is not None and entry.action == "org.created"


def test_departments_hang_only_under_a_city(db: Session) -> None:
    county = service.resolve_org(db, ref="巴州区")
    with pytest.raises(DomainError):
        service.create_org(db, actor=SYSTEM_ACTOR, name="区某局", level=OrgLevel.department,
                           parent=county)


def test_liaison_sees_only_its_subtree(db: Session) -> None:
    liaison = actor_of(db, role=Role.liaison, org="巴州区")
    found = service.search_orgs(db, actor=liaison, params=ListParams(page_size=500))
    rows = found.items
    assert found.total == len(rows) > 1
    bazhou = service.resolve_org(db, ref="巴州区")
    assert all(o.path.startswith(bazhou.path) for o in rows)
    with pytest.raises(service.OrgNotResolved):
        service.resolve_org(db, ref="恩阳区", actor=liaison)
