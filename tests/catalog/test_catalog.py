"""The service-item catalog: importing a place's list (all or nothing, idempotent), reading
items, naming codes."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, located
from tongban.catalog import service
from tongban.catalog.enums import ItemType
from tongban.catalog.models import ServiceItem
from tongban.cli import app as cli
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.demo.catalog import load_catalog_demo
from tongban.org import service as org_service

HEADER = "department,main_item,name,areaCode,itemCode,taskType,deptCode,link\n"
CODE = "511A0138000000-511602000000-000-115113010833722043-1-00"


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO((HEADER + "".join(f"{line}\n" for line in lines)).encode())


def test_the_demo_city_holds_the_districts_real_list(db: Session) -> None:
    items = db.scalars(select(ServiceItem)).all()
    assert len(items) == 1135
    assert Counter(i.item_type for i in items)[ItemType.licensing.value] == 536
    item = next(i for i in items if i.impl_code == CODE)
    assert (item.base_code, item.name, item.department) == (
        "511A0138000000", "适龄儿童、少年因身体状况需要延缓入学或者休学审批", "区教科体局")
    assert ItemType(item.item_type).label == "行政许可" and item.main_item == ""
    odd = next(i for i in items if i.impl_code.startswith("G-000007-001-"))
    assert odd.base_code == "G-000007-001"  # a base code with hyphens of its own
    assert item.org.code == "511900"


def test_importing_the_same_list_again_changes_nothing(db: Session) -> None:
    again = load_catalog_demo(db)
    assert again.as_dict() == {"added": 0, "changed": 0, "unchanged": 1135, "removed": 0}
    assert not again.partial


def test_a_changed_item_is_updated_and_a_new_one_added(db: Session) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    before = Counter(db.scalars(select(ServiceItem.department)))
    named = before["区教科体局"] + before["区民政局"]
    result = service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="新清单.csv",
                                  source=csv_file(
        f"区教科体局,未分类,适龄儿童少年延缓入学审批,511602000000,{CODE},1,083372204,",
        "区民政局,,新设事项,511602000000,511B0001-511602000000-000-1-1-00,行政确认,1,"))
    # the file is the whole list of the two departments it names: their other items go
    assert result.as_dict() == {"added": 1, "changed": 1, "unchanged": 0,
                                "removed": named - 1}
    assert result.partial and result.departments == ["区教科体局", "区民政局"]
    assert result.kept == 1135 - named  # every other department's items stay
    assert service.item_names(db, codes=[CODE, "511B0001", "none"]) == {
        CODE: "适龄儿童少年延缓入学审批", "511B0001": "新设事项"}
    assert "只替换这些部门的事项" in result.summary() and "删除" in result.summary()


def test_a_dry_run_says_what_would_change_and_writes_nothing(db: Session) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    count = db.scalar(select(func.count()).select_from(ServiceItem))
    preview = service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="新清单.csv",
                                   dry_run=True, source=csv_file(
        f"区教科体局,未分类,适龄儿童少年延缓入学审批,511602000000,{CODE},1,083372204,"))
    assert preview.dry_run and preview.changed == 1 and preview.removed > 0
    assert preview.names["changed"] == ["适龄儿童少年延缓入学审批"]
    assert len(preview.names["removed"]) == min(10, preview.removed)
    assert "将" in preview.summary() and "预览，尚未写入" in preview.summary()
    assert db.scalar(select(func.count()).select_from(ServiceItem)) == count
    assert service.item_names(db, codes=[CODE])[CODE] != "适龄儿童少年延缓入学审批"


def test_an_empty_list_is_refused_and_the_catalog_kept(db: Session) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    with pytest.raises(ValidationFailed) as refused:
        service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="空.csv",
                             source=csv_file())
    assert "没有事项" in str(refused.value)
    assert db.scalar(select(func.count()).select_from(ServiceItem)) == 1135


@pytest.mark.parametrize(("line", "column", "reason"), [
    (f"部门,,名称,511602000000,{CODE},99,1,", "item_type", "未知的事项类型"),
    (f"部门,,,511602000000,{CODE},1,1,", "name", "缺少事项名称"),
    ("部门,,名称,511602000000,<script>,1,1,", "impl_code", "实施编码"),
    (f"部门,,名称,511602000000,{CODE},1,1,javascript:alert(1)", "link", "http"),
    (f"部门,,名称,5116,{CODE},1,1,", "area_code", "6或12位数字"),
])
def test_a_bad_row_refuses_the_whole_list(db: Session, line: str, column: str,
                                          reason: str) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    fine = "区民政局,,新设事项,511602000000,511B0001-511602000000-000-1-1-00,1,1,"
    with pytest.raises(ValidationFailed) as refused:
        service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="清单.csv",
                             source=csv_file(fine, line))
    [(row, col, message)] = located(refused.value)
    assert (row, col) == (3, column) and reason in message
    assert service.item_names(db, codes=["511B0001"]) == {}


def test_a_code_twice_in_one_file_is_refused(db: Session) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    line = "区民政局,,新设事项,511602000000,511B0001-511602000000-000-1-1-00,1,1,"
    with pytest.raises(ValidationFailed) as refused:
        service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="清单.csv",
                             source=csv_file(line, line))
    [(row, column, reason)] = located(refused.value)
    assert (row, column) == (3, "impl_code") and "重复" in reason


def test_only_managers_import_a_list(db: Session) -> None:
    city = org_service.resolve_org(db, ref="巴中市")
    for role in (Role.leader, Role.liaison):
        with pytest.raises(PermissionDenied):
            service.import_items(db, actor=actor_of(db, role=role, org="巴州区"), org=city,
                                 source=csv_file(), filename="清单.csv")


def test_search_finds_items_by_name_and_code_and_filters(db: Session) -> None:
    found = service.search_items(db, actor=SYSTEM_ACTOR, params=ListParams(q="延缓入学"))
    assert [i.impl_code for i in found.items] == [CODE] and found.total == 1
    by_code = service.search_items(db, actor=SYSTEM_ACTOR, params=ListParams(q="511A0138"))
    assert CODE in [i.impl_code for i in by_code.items]
    licences = service.search_items(db, actor=SYSTEM_ACTOR, department="区行政审批局",
                                    item_type=ItemType.licensing, params=ListParams(page_size=5))
    assert licences.total > 5 and len(licences.items) == 5
    assert all(i.department == "区行政审批局" and i.item_type == "1" for i in licences.items)
    percent = service.search_items(db, actor=SYSTEM_ACTOR,
                                   params=ListParams(q="%"))  # a character, no wildcard
    assert [i.name for i in percent.items] == ["一次性工亡补助金（含生活困难，预支50%确认）、丧葬补助金申领"]


def test_cli_imports_and_lists(db: Session, tmp_path: object) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["catalog", "list", "--q", "延缓入学", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["items"][0]["item_type"] == "行政许可"
    path = tmp_path / "清单.csv"  # type: ignore[operator]
    path.write_text(HEADER + "部门,,名称,511602000000,<bad>,1,1,\n", encoding="utf-8")
    refused = runner.invoke(cli, ["catalog", "import", str(path), "--org", "巴中市", "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["errors"][0]["column"] == "impl_code"


def test_the_catalog_and_the_benchmark_snapshots_read_codes_and_types_alike(db: Session) -> None:
    """One base-code rule and one type table for every item list: the same rows through both
    importers give the same 基本编码 and 事项类型, with or without an area code column."""
    from tests.benchmark.test_benchmark import ITEMS, load
    from tongban.benchmark import service as benchmark
    from tongban.benchmark.models import AlignmentMember, SnapshotItem

    rows = [("G-000007-001-511900000000-000-1-00", "01"), ("511B0002-511900000000-1", "行政确认"),
            ("511B0003", "20")]
    city = org_service.resolve_org(db, ref="巴中市")
    service.import_items(db, actor=SYSTEM_ACTOR, org=city, filename="目录.csv", source=csv_file(
        *(f"部门,,同规则事项{n},,{code},{kind},," for n, (code, kind) in enumerate(rows))))
    load(db, "巴中", ITEMS + "".join(f"{code},同规则事项{n},部门,{kind},1,1,1\n"
                                     for n, (code, kind) in enumerate(rows)))
    catalog = {i.impl_code: (i.base_code, i.item_type) for i in db.scalars(
        select(ServiceItem).where(ServiceItem.name.startswith("同规则事项")))}
    benchmark.align(db, actor=SYSTEM_ACTOR)
    aligned = {m.item_key: m.code for m in db.scalars(
        select(AlignmentMember).where(AlignmentMember.name.startswith("同规则事项")))}
    snapshot = {i.impl_code: (aligned[i.impl_code], i.item_type) for i in db.scalars(
        select(SnapshotItem).where(SnapshotItem.name.startswith("同规则事项")))}
    assert catalog == snapshot == {
        rows[0][0]: ("G-000007-001", "1"), rows[1][0]: ("511B0002", "7"),
        rows[2][0]: ("511B0003", "20")}
