"""The register of departments: a credit code or a department name mapped once, on any side
(好差评, 对标 or the register's page), is known to every feeder; one page lists what every
source met unmapped; only analysts and admins map; an existing database keeps its mappings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.benchmark.test_benchmark import ITEMS, city, load
from tests.conftest import reachable_postgres
from tests.factories import actor_of, api_client, csrf_of, logged_in_client, make_user
from tests.reviews.test_exchange import DEPT, OTHER_DEPT, as_csv, record, run, stored
from tongban.benchmark import service as benchmark
from tongban.benchmark.models import Suggestion
from tongban.core import db as core_db
from tongban.core.audit import AuditEntry
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service
from tongban.org.enums import AliasKind
from tongban.org.models import Org, OrgAlias
from tongban.reviews import service as reviews

TRANSPORT = "市交通运输局"
OLD_NAME = "交通局（旧称）"


def transport(db: Session) -> Org:
    return service.resolve_org(db, ref=TRANSPORT)


def suggest_under_old_name(db: Session) -> Org:
    """巴中's list names 市交通运输局 by an old name; 广元 does better: suggestions for 巴中."""
    load(db, "巴中", ITEMS + "R1-511900000000-1,登记册事项,交通局（旧称）,1,10,4,2\n")
    load(db, "广元", ITEMS + "R1-510800000000-1,登记册事项,市交通运输局,1,5,2,0\n")
    benchmark.align(db, actor=SYSTEM_ACTOR)
    home = city(db, "巴中")
    benchmark.suggest(db, actor=SYSTEM_ACTOR, city=home)
    return home


def unmapped(db: Session) -> list[tuple[str, str, str]]:
    page = service.list_aliases(db, actor=actor_of(db, role=Role.analyst),
                                params=ListParams(), mapped=False)
    return [(a.kind, a.value, a.source) for a in page.items]


def test_a_code_mapped_on_the_register_page_routes_exchange_records(db: Session) -> None:
    admin = logged_in_client(db, make_user(db, role=Role.analyst))
    answer = admin.post("/org/aliases", data={"csrf_token": csrf_of(admin), "kind": "code",
                                              "value": DEPT.lower(), "org": TRANSPORT},
                        follow_redirects=False)
    assert answer.status_code == 303
    run(db, as_csv([record("REG1", deptCode=DEPT, areaCode="511900000000")]))
    assert stored(db, "REG1").org.name == TRANSPORT
    assert reviews.dept_codes(db, actor=SYSTEM_ACTOR, params=ListParams()).items[0].value == DEPT


def test_a_name_mapped_for_benchmark_is_known_to_the_register_and_other_feeders(
        db: Session) -> None:
    home = suggest_under_old_name(db)
    benchmark.map_department(db, actor=actor_of(db, role=Role.analyst), city=home,
                             name=OLD_NAME, department=transport(db))
    assert service.resolve_name(db, city=home, name=OLD_NAME) == transport(db)
    assert benchmark.department_org_ids(db, city=home)[OLD_NAME] == transport(db).id
    # another city's sources read their own names: 广元's 交通局（旧称） is not 巴中's
    assert service.resolve_name(db, city=city(db, "广元"), name=OLD_NAME) is None
    page = logged_in_client(db, make_user(db, role=Role.admin)).get(
        "/org/aliases", params={"state": "mapped", "kind": "name"})
    assert page.status_code == 200 and OLD_NAME in page.text and TRANSPORT in page.text


def test_unresolved_benchmark_names_wait_on_the_register_page_until_mapped(
        db: Session) -> None:
    home = suggest_under_old_name(db)
    assert ("name", OLD_NAME, "对标") in unmapped(db)
    seen = db.scalars(select(OrgAlias).where(OrgAlias.value == OLD_NAME)).one()
    assert seen.city_id == home.id and seen.org_id is None
    admin = logged_in_client(db, make_user(db, role=Role.analyst))
    listed = admin.get("/org/aliases")
    assert OLD_NAME in listed.text and 'data-testid="map-alias"' in listed.text
    answer = admin.post("/org/aliases", data={"csrf_token": csrf_of(admin),
                                              "alias_id": str(seen.id), "org": TRANSPORT},
                        follow_redirects=False)
    assert answer.status_code == 303
    rows = db.scalars(select(Suggestion).where(Suggestion.department == OLD_NAME)).all()
    assert rows and {r.dept_org_id for r in rows} == {transport(db).id}
    assert benchmark.unmapped_departments(db, actor=SYSTEM_ACTOR, city=home) == []
    assert ("name", OLD_NAME, "对标") not in unmapped(db)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "org.alias_mapped",
                                                AuditEntry.object_id == str(seen.id))).one()
    assert entry.object_type == "org_alias" and entry.changes["moved"] == len(rows)


def test_an_exchange_import_keeps_the_codes_it_could_not_map_for_the_register(
        db: Session) -> None:
    rejects = io.StringIO()
    result = run(db, as_csv([record("U1", deptCode=OTHER_DEPT, areaCode="511900000000"),
                             record("U2")]), rejects=rejects)
    assert (result.imported, result.error_count) == (1, 1)
    assert ("code", OTHER_DEPT, "好差评") in unmapped(db)
    run(db, as_csv([record("U3", deptCode=OTHER_DEPT, areaCode="511900000000")]),
        rejects=io.StringIO())  # met again: still one row
    assert unmapped(db).count(("code", OTHER_DEPT, "好差评")) == 1
    reviews.map_dept_code(db, actor=SYSTEM_ACTOR, code=OTHER_DEPT, org=transport(db))
    assert ("code", OTHER_DEPT, "好差评") not in unmapped(db)
    assert service.resolve_code(db, code=OTHER_DEPT.lower()) == transport(db)


def test_only_analysts_and_admins_map_or_list_aliases(db: Session) -> None:
    for role in (Role.leader, Role.liaison):
        actor = actor_of(db, role=role, org=TRANSPORT if role is Role.liaison else None)
        with pytest.raises(PermissionDenied):
            service.map_alias(db, actor=actor, kind=AliasKind.code, value=DEPT,
                              org=transport(db))
        with pytest.raises(PermissionDenied):
            service.list_aliases(db, actor=actor, params=ListParams())
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org=TRANSPORT))
    assert liaison.get("/org/aliases").status_code == 403
    refused = liaison.post("/org/aliases", data={"csrf_token": csrf_of(liaison), "kind": "code",
                                                 "value": DEPT, "org": TRANSPORT})
    assert refused.status_code == 403
    assert db.scalar(select(OrgAlias).where(OrgAlias.value == DEPT)) is None


def test_a_name_maps_only_to_an_org_of_its_city_and_a_code_must_be_valid(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    with pytest.raises(DomainError, match="不是广元"):
        service.map_alias(db, actor=analyst, kind=AliasKind.dept_name, value="交通局",
                          org=transport(db), city=city(db, "广元"))
    with pytest.raises(ValidationFailed):
        service.map_alias(db, actor=analyst, kind=AliasKind.code, value="123",
                          org=transport(db))
    page = logged_in_client(db, make_user(db, role=Role.analyst))
    refused = page.post("/org/aliases", data={"csrf_token": csrf_of(page), "kind": "code",
                                              "value": "123", "org": TRANSPORT})
    assert refused.status_code == 422 and "统一社会信用代码" in refused.text


def test_names_sources_wrote_are_escaped_on_the_register_page(db: Session) -> None:
    evil = "<script>alert(1)</script>"
    service.note_unmapped(db, actor=SYSTEM_ACTOR, kind=AliasKind.dept_name, values=[evil],
                          source="对标", city=city(db, "巴中"))
    html = logged_in_client(db, make_user(db, role=Role.admin)).get("/org/aliases").text
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_old_dept_code_page_points_to_the_register(db: Session) -> None:
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    answer = admin.get("/reviews/dept-codes", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/org/aliases")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_moves_both_old_mapping_tables_into_the_register(tmp_path: Path,
                                                                   backend: str) -> None:
    if backend == "sqlite":
        _upgrade_with_old_mappings(f"sqlite:///{tmp_path / 'before.db'}")
        return
    with core_db.scratch_database(reachable_postgres()) as url:
        _upgrade_with_old_mappings(url)


def _upgrade_with_old_mappings(url: str) -> None:
    engine = core_db.make_engine(url)
    with engine.begin() as connection:
        command.upgrade(core_db.alembic_config(connection), "0028")
        for org_id, code, name, level, parent in (
                (1, "511900", "巴中市", "city", None),
                (2, "511900-D01", "市交通运输局", "department", 1)):
            connection.execute(text(
                "INSERT INTO org (id, code, name, short_name, level, parent_id, path, pinyin, "
                "initials, is_active, created_at) VALUES (:id, :code, :name, :name, :level, "
                ":parent, '/', '', '', true, '2026-01-01 00:00:00')"),
                {"id": org_id, "code": code, "name": name, "level": level, "parent": parent})
        connection.execute(text(
            "INSERT INTO dept_code_map (code, org_id, created_by, created_at) VALUES "
            "(:code, 2, 'analyst', '2026-02-01 00:00:00')"), {"code": DEPT})
        connection.execute(text(
            "INSERT INTO benchmark_department_map (org_id, name, dept_org_id, mapped_by, "
            "updated_at) VALUES (1, '交通局（旧称）', 2, 'analyst', '2026-02-02 00:00:00')"))
        connection.execute(text(
            "INSERT INTO benchmark_group (id, key, name, base_code, created_at) VALUES "
            "(1, 'g', '事项', 'R1', '2026-02-01 00:00:00')"))
        for n, (department, dept_org) in enumerate([("交通局（旧称）", 2), ("无人认领局", None),
                                                    ("无人认领局", None)]):
            connection.execute(text(
                "INSERT INTO benchmark_suggestion (org_id, group_id, kind, material, item_name, "
                "department, dept_org_id, detail, cities, state, created_at, updated_at) "
                "VALUES (1, 1, 'procedure', :m, '事项', :d, :o, '', '', 'pending', "
                "'2026-02-03 00:00:00', '2026-02-03 00:00:00')"),
                {"m": str(n), "d": department, "o": dept_org})
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        rows = {(a.kind, a.value, a.city_id, a.org_id, a.mapped_by)
                for a in db.scalars(select(OrgAlias))}
        assert rows == {("code", DEPT, None, 2, "analyst"),
                        ("name", "交通局（旧称）", 1, 2, "analyst"),
                        ("name", "无人认领局", 1, None, "")}
        assert service.resolve_code(db, code=DEPT) is not None
    engine.dispose()


def test_every_import_that_names_an_org_resolves_its_mapped_aliases(db: Session) -> None:
    home = city(db, "巴中")
    with pytest.raises(service.OrgNotResolved):
        service.resolve_org(db, ref=OLD_NAME)
    analyst = actor_of(db, role=Role.analyst)
    service.map_alias(db, actor=analyst, kind=AliasKind.dept_name, value=OLD_NAME,
                      org=transport(db), city=home)
    service.map_alias(db, actor=analyst, kind=AliasKind.code, value=DEPT, org=transport(db))
    assert service.resolve_org(db, ref=OLD_NAME) == transport(db)
    assert service.resolve_org(db, ref=f"巴中市/{OLD_NAME}") == transport(db)
    assert service.resolve_org(db, ref=DEPT.lower()) == transport(db)
    with pytest.raises(service.OrgNotResolved):  # 广元's sources never wrote it
        service.resolve_org(db, ref=f"广元市/{OLD_NAME}")
    # scoped as any name: a liaison of another org does not reach it by its alias
    with pytest.raises(service.OrgNotResolved):
        service.resolve_org(db, ref=OLD_NAME, actor=actor_of(db, role=Role.liaison, org="巴州区"))


def test_the_api_lists_unmapped_aliases_and_maps_one_and_the_old_dept_code_api_still_answers(
        db: Session) -> None:
    home = suggest_under_old_name(db)
    client = api_client(db, make_user(db, role=Role.analyst))
    waiting = client.get("/api/v1/org-aliases", params={"mapped": "false", "kind": "name"})
    assert waiting.status_code == 200
    assert {"kind": "name", "value": OLD_NAME, "city_code": home.code, "org_code": None} \
        .items() <= next(a for a in waiting.json()["items"] if a["value"] == OLD_NAME).items()
    mapped = client.put("/api/v1/org-aliases", json={"kind": "name", "value": OLD_NAME,
                                                     "org": TRANSPORT})
    assert mapped.status_code == 200 and mapped.json()["org_code"] == transport(db).code
    assert {r.dept_org_id for r in db.scalars(select(Suggestion).where(
        Suggestion.department == OLD_NAME))} == {transport(db).id}
    coded = client.put("/api/v1/reviews/dept-codes", json={"code": DEPT, "org": TRANSPORT})
    assert coded.status_code == 200 and coded.json()["code"] == DEPT
    listed = client.get("/api/v1/reviews/dept-codes", params={"sort": "code"}).json()["items"]
    assert [(c["code"], c["org_name"]) for c in listed] == [(DEPT, TRANSPORT)]
    liaison = api_client(db, make_user(db, role=Role.liaison, org=TRANSPORT))
    assert liaison.get("/api/v1/org-aliases").status_code == 403
