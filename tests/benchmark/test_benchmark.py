"""对标: catalog import (all or nothing, idempotent, snapshots, diff), alignment, frontier and
DTF on a hand-computed case, suggestions, the CLI contract, scoping and pages."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, api_client, located, logged_in_client, make_user
from tongban.benchmark import service
from tongban.benchmark.alignment import actions_of, normalise_name
from tongban.benchmark.enums import Dimension, MemberStatus, ReviewAction
from tongban.benchmark.importer import SnapshotImport
from tongban.benchmark.models import AlignmentMember, CatalogSnapshot, SnapshotItem, Suggestion
from tongban.catalog.codes import base_code_of
from tongban.cli import app as cli
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org.models import Org

DAY = date(2026, 12, 1)
ITEMS = "实施编码,事项名称,实施部门,事项类型,承诺办结时限,办理环节数,跑动次数\n"
MATERIALS = "事项,材料名称,材料形式,份数,是否必需\n"


def city(db: Session, ref: str) -> Org:
    return service.resolve_city(db, ref=ref)


def load(db: Session, ref: str, items: str, materials: str | None = None,
         day: date = DAY) -> SnapshotImport:
    return service.import_catalog(
        db, actor=SYSTEM_ACTOR, city=city(db, ref), source=io.BytesIO(items.encode()),
        filename=f"{ref}.csv", as_of=day,
        materials=io.BytesIO(materials.encode()) if materials is not None else None,
        materials_filename=f"{ref}材料.csv")


# ------------------------------------------------------------------------------ import


def test_import_reads_chinese_headers_instant_items_and_procedure_steps(db: Session) -> None:
    items = ("基本编码,事项名称,实施部门,事项类型,法定办结时限,承诺办结时限,办理流程,跑动次数,收费\n"
             "T-1,测试许可,市交通运输局,01,20个工作日,即办件,申请→受理→决定,0,否\n")
    done = load(db, "阿坝州", items, MATERIALS + "测试许可,申请表（原件）,原件,1,容缺\n")
    assert done.new and (done.items, done.materials) == (1, 1)
    item = db.scalars(select(SnapshotItem).where(
        SnapshotItem.snapshot_id == done.snapshot.id)).one()
    assert (item.promised_days, item.legal_days, item.steps, item.item_type) == (0.0, 20.0, 3, "1")
    assert item.materials[0].requirement == "tolerated"


def test_a_names_only_catalog_imports_and_an_xlsx_reads_its_materials_sheet(db: Session) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["事项名称"])
    sheet.append(["只有名称的事项"])
    extra = book.create_sheet("材料")
    extra.append(["事项", "材料名称", "是否必需"])
    extra.append(["只有名称的事项", "申请书", "是"])
    stream = io.BytesIO()
    book.save(stream)
    done = service.import_catalog(db, actor=SYSTEM_ACTOR, city=city(db, "广元"),
                                  source=io.BytesIO(stream.getvalue()), filename="广元.xlsx")
    assert (done.items, done.materials) == (1, 1)


def test_unrecognised_headers_are_refused_listing_the_expected_ones(db: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load(db, "广元", "事项名称,时限\n某事项,5\n")
    (row, column, reason), = located(refused.value)
    assert (row, column) == (1, "时限") and "承诺办结时限" in reason and "基本编码" in reason


def test_every_row_error_names_file_row_column_and_reason_and_nothing_is_imported(
        db: Session) -> None:
    before = db.scalar(select(func.count()).select_from(CatalogSnapshot))
    with pytest.raises(ValidationFailed) as refused:
        load(db, "广元", ITEMS + "G1-510800000000-1,事项甲,局,99,五天,0,1\n,,局,1,3,2,-1\n",
             MATERIALS + "不存在的事项,申请表,原件,1,也许\n")
    found = {(row, column) for row, column, _ in located(refused.value)}
    assert found == {(2, "事项类型"), (2, "承诺办结时限"), (2, "办理环节数"), (3, "事项名称"),
                     (3, "跑动次数"), (2, "事项"), (2, "是否必需")}
    files = {g.file for g in refused.value.errors}
    assert files == {"广元.csv", "广元材料.csv"}
    assert db.scalar(select(func.count()).select_from(CatalogSnapshot)) == before


def test_the_same_content_changes_nothing_and_a_change_makes_a_new_snapshot(db: Session) -> None:
    text = ITEMS + "A1-510800000000-1,事项甲,局,1,5,3,1\n"
    first = load(db, "广元", text, day=DAY)
    again = load(db, "广元", text, day=date(2026, 12, 2))
    assert again.snapshot.id == first.snapshot.id and not again.new
    changed = load(db, "广元", text.replace(",5,3,1", ",3,3,1") + "A2-510800000000-1,事项乙,局,1,5,3,1\n",
                   day=date(2026, 12, 3))
    assert changed.new and changed.snapshot.id != first.snapshot.id
    diff = service.diff_snapshots(db, city=city(db, "广元"))
    assert [a["name"] for a in diff["added"]] == ["事项乙"]
    assert diff["changed"] == [{"key": "A1-510800000000-1", "name": "事项甲",
                                "fields": {"promised_days": [5.0, 3.0]}}]
    assert (diff["from"]["id"], diff["to"]["id"]) == (first.snapshot.id, changed.snapshot.id)


def test_only_cities_of_the_province_and_only_managers_import(db: Session) -> None:
    with pytest.raises(DomainError, match="不是本省的市"):
        service.resolve_city(db, ref="巴州区")
    with pytest.raises(PermissionDenied):
        service.import_catalog(db, actor=actor_of(db, role=Role.leader), city=city(db, "巴中"),
                               source=io.BytesIO(b"x"), filename="a.csv")


# ------------------------------------------------------------------------------ alignment


def test_base_codes_come_from_implementation_codes() -> None:
    assert base_code_of("511A0138000000-511602000000-000-115113010833722043-1-00") == \
        "511A0138000000"
    assert base_code_of("G-000007-001-511602000000-000-1-00") == "G-000007-001"
    assert base_code_of("511B0001") == "511B0001"


def test_names_normalise_width_brackets_markers_fillers_and_endings() -> None:
    assert normalise_name("燃气经营许可证核发（市级/县级）") == normalise_name("燃气经营许可证 核发")
    assert normalise_name("市本级食品的经营许可") == "食品经营"
    assert normalise_name("燃气经营许可证变更") != normalise_name("燃气经营许可证核发")
    assert actions_of("燃气经营许可证注销") == {"注销"} and actions_of("燃气经营许可证核发") == set()


def _group_of(db: Session, ref: str, key: str) -> int:
    org = city(db, ref)
    return db.scalars(select(AlignmentMember.group_id).where(
        AlignmentMember.org_id == org.id, AlignmentMember.item_key == key)).one()


def test_alignment_by_code_then_by_name_keeping_different_business_items_apart(
        db: Session) -> None:
    load(db, "巴中", ITEMS + "Z9-511900000000-1,燃气经营许可证核发,局,1,5,3,1\n"
                            "Z9-511900000000-2,燃气经营许可证变更,局,1,5,3,1\n"
                            "Z8-511900000000-1,城镇污水排入排水管网许可,局,1,5,3,1\n")
    load(db, "广元", ITEMS + "Z9-510800000000-1,燃气经营许可证核发(市级),局,1,5,3,1\n"
                            "Z8-510800000000-1,排水许可证核发,局,1,5,3,1\n"
                            ",燃气经营许可证注销,局,1,5,3,1\n")
    load(db, "南充", ITEMS + ",燃气经营许可证变更,局,1,5,3,1\n"
                            ",城镇污水排入排水管网许可（县级）,局,1,5,3,1\n")
    service.align(db, actor=SYSTEM_ACTOR)
    issue = _group_of(db, "巴中", "Z9-511900000000-1")
    change = _group_of(db, "巴中", "Z9-511900000000-2")
    assert issue != change  # one base code, two business items
    assert _group_of(db, "广元", "Z9-510800000000-1") == issue
    assert _group_of(db, "南充", "name:燃气经营许可证变更") == change
    assert _group_of(db, "广元", "name:燃气经营许可证注销") not in (issue, change)
    sewage = _group_of(db, "巴中", "Z8-511900000000-1")
    assert _group_of(db, "广元", "Z8-510800000000-1") != sewage  # same code, another name
    assert _group_of(db, "南充", "name:城镇污水排入排水管网许可（县级）") == sewage


def test_review_decisions_persist_across_reimports(db: Session) -> None:
    load(db, "巴中", ITEMS + "Y1-511900000000-1,建设工程消防设计审查,市住建局,1,5,3,1\n")
    load(db, "广元", ITEMS + ",建设工程消防设计技术审查服务,局,1,5,3,1\n")
    service.align(db, actor=SYSTEM_ACTOR)
    member = db.scalars(select(AlignmentMember).where(
        AlignmentMember.item_key == "name:建设工程消防设计技术审查服务")).one()
    assert member.status == MemberStatus.review.value
    home_group = _group_of(db, "巴中", "Y1-511900000000-1")
    assert member.group_id == home_group
    service.review_member(db, actor=actor_of(db, role=Role.analyst), member=member,
                          action=ReviewAction.split_off)
    split_group = member.group_id
    assert split_group != home_group
    load(db, "广元", ITEMS + ",建设工程消防设计技术审查服务,局,1,4,3,1\n", day=date(2026, 12, 5))
    service.align(db, actor=SYSTEM_ACTOR)
    db.refresh(member)
    assert (member.group_id, member.status) == (split_group, MemberStatus.confirmed.value)
    with pytest.raises(PermissionDenied):
        service.review_member(db, actor=actor_of(db, role=Role.leader), member=member,
                              action=ReviewAction.confirm)


# ------------------------------------------------------------------------------ frontier


def hand_case(db: Session) -> int:
    """三市同一事项: 巴中 10天/4环节/2次/3份; 广元 5/2/0/1 (+1 容缺); 南充 即办/3/1/未报材料."""
    load(db, "巴中", ITEMS + "H1-511900000000-1,对标测试事项,市交通运输局,1,10,4,2\n",
         MATERIALS + "H1-511900000000-1,申请表,原件,1,是\n"
                     "H1-511900000000-1,居民身份证（复印件）,复印件,1,是\n"
                     "H1-511900000000-1,营业执照,原件,1,是\n")
    load(db, "广元", ITEMS + "H1-510800000000-1,对标测试事项,市交通运输局,1,5,2,0\n",
         MATERIALS + "H1-510800000000-1,申请表（原件）,原件,1,是\n"
                     "H1-510800000000-1,营业执照,原件,1,容缺\n")
    load(db, "南充", ITEMS + "H1-511300000000-1,对标测试事项,市交通运输局,1,即办,3,1\n")
    service.align(db, actor=SYSTEM_ACTOR)
    return _group_of(db, "巴中", "H1-511900000000-1")


def test_dtf_and_frontier_match_a_hand_computation(db: Session) -> None:
    group_id = hand_case(db)
    frontier = next(f for f in service.compute(db).groups if f.group.id == group_id)
    dtf = {o.org.short_name: frontier.dtf[o.org.id] for o in frontier.offers}
    # 巴中 worst everywhere: 0; 广元 (50+100+100+100)/4; 南充 (100+50+50)/3, materials unreported
    assert dtf == {"巴中": 0.0, "广元": 87.5, "南充": 66.67}
    days = frontier.bounds[Dimension.promised_days]
    assert (days.best, days.worst, days.best_cities) == (0.0, 10.0, ["南充市"])
    materials = frontier.bounds[Dimension.materials]
    assert (materials.best, materials.worst, materials.best_cities) == (1.0, 3.0, ["广元市"])
    rows = service.frontier_of(db, actor=SYSTEM_ACTOR, city=city(db, "广元"))
    row = next(r for r in rows if r["group"] == group_id)
    assert row["dimensions"]["steps"] == {"ours": 2.0, "best": 2.0, "worst": 4.0,
                                          "best_cities": ["广元市"]}


def test_suggestions_of_each_kind_with_keys_stable_across_reruns(db: Session) -> None:
    group_id = hand_case(db)
    home = city(db, "巴中")
    service.suggest(db, actor=SYSTEM_ACTOR, city=home)
    found = {(s.kind, s.material): s for s in db.scalars(select(Suggestion).where(
        Suggestion.group_id == group_id))}
    assert set(found) == {("procedure", ""), ("time_limit", ""),
                          ("materials", "居民身份证"), ("materials", "营业执照"),
                          ("exempt", "居民身份证"), ("exempt", "营业执照")}
    assert "广元市2个环节" in found[("procedure", "")].detail
    assert "南充市即办" in found[("time_limit", "")].detail
    assert found[("materials", "营业执照")].cities == "广元市"
    ids = {k: s.id for k, s in found.items()}
    again = service.suggest(db, actor=SYSTEM_ACTOR, city=home)
    assert (again.added, again.updated) == (0, 0)
    assert {(s.kind, s.material): s.id for s in db.scalars(select(Suggestion).where(
        Suggestion.group_id == group_id))} == ids
    transport = db.scalar(select(Org.id).where(Org.name == "市交通运输局"))
    assert found[("procedure", "")].dept_org_id == transport


# ------------------------------------------------------------------------------ CLI


def test_cli_import_align_frontier_suggest_diff_follow_the_contract(
        db: Session, tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "items.csv"
    good.write_text(ITEMS + "K1-510800000000-1,'\"><svg onload=alert(1)>,局,1,5,3,1\n",
                    encoding="utf-8")
    done = runner.invoke(cli, ["benchmark", "import", str(good), "--city", "广元",
                               "--as-of", "2026-12-01", "--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert set(body) == {"city", "snapshot", "items", "materials", "errors"}
    assert (body["items"], body["snapshot"]["new"], body["snapshot"]["date"]) == \
        (1, True, "2026-12-01")
    bad = tmp_path / "bad.csv"
    bad.write_text(ITEMS + "K1,,局,1,5,3,1\n", encoding="utf-8")
    refused = runner.invoke(cli, ["benchmark", "import", str(bad), "--city", "广元", "--json"])
    assert refused.exit_code == 1
    errors = json.loads(refused.stdout)["errors"]
    assert errors[0]["file"] == "bad.csv" and errors[0]["column"] == "事项名称"
    assert runner.invoke(cli, ["benchmark", "import", str(good), "--city", "巴州区"]).exit_code == 2
    assert runner.invoke(cli, ["benchmark", "import", str(good), "--city", "广元",
                               "--as-of", "1.12."]).exit_code == 2
    aligned = json.loads(runner.invoke(cli, ["benchmark", "align", "--json"]).stdout)
    assert set(aligned) == {"groups", "aligned", "review"} and isinstance(aligned["aligned"], int)
    assert set(aligned["groups"][0]["members"][0]) >= {"city", "name", "code", "confidence",
                                                       "status"}
    frontier = json.loads(runner.invoke(cli, ["benchmark", "frontier", "--city", "巴中",
                                              "--json"]).stdout)
    assert set(frontier["items"][0]) == {"group", "name", "dtf", "dimensions"}
    out = tmp_path / "s.xlsx"
    suggested = runner.invoke(cli, ["benchmark", "suggest", "--city", "巴中", "--out", str(out),
                                    "--json"])
    assert suggested.exit_code == 0, suggested.output
    body = json.loads(suggested.stdout)
    assert set(body) == {"counts", "dtf", "rank", "by_department", "items"}
    assert set(body["counts"]) == {"procedure", "time_limit", "materials", "exempt"}
    assert all(isinstance(v, int) for v in body["counts"].values()) and body["counts"]["exempt"]
    assert load_workbook(out).worksheets[0].cell(1, 1).value == "实施部门"
    diff = json.loads(runner.invoke(cli, ["benchmark", "diff", "--city", "广元", "--json"]).stdout)
    assert [a["name"] for a in diff["added"]] == ["'\"><svg onload=alert(1)>"]
    assert runner.invoke(cli, ["benchmark", "review", "1"]).exit_code == 2


def test_exported_suggestions_keep_formulas_as_text(db: Session) -> None:
    from tongban.benchmark.exports import suggestions_xlsx

    raw = suggestions_xlsx([{"department": "=局", "item": "=HYPERLINK(\"x\")", "kind": "材料",
                             "material": "@SUM(A1)", "detail": "+1", "cities": "-1"}])
    sheet = load_workbook(io.BytesIO(raw)).worksheets[0]
    assert sheet.cell(2, 2).value == "=HYPERLINK(\"x\")" and sheet.cell(2, 2).data_type == "s"


# ------------------------------------------------------------------------------ scoping, pages


def test_liaisons_see_their_departments_suggestions_and_no_league(db: Session) -> None:
    hand_case(db)
    service.suggest(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"))
    transport = api_client(db, make_user(db, role=Role.liaison, org="市交通运输局"))
    body = transport.get("/api/v1/benchmark/suggestions?page_size=500").json()
    assert body["total"] > 0 and {s["department"] for s in body["items"]} == {"市交通运输局"}
    county = api_client(db, make_user(db, role=Role.liaison, org="511902"))
    assert county.get("/api/v1/benchmark/suggestions").json()["total"] == 0
    assert county.get("/api/v1/benchmark/league").status_code == 403
    leader = api_client(db, make_user(db, role=Role.leader))
    league = leader.get("/api/v1/benchmark/league").json()
    assert league["total"] >= 3 and league["items"][0]["rank"] == 1


def test_pages_render_and_escape_item_names(db: Session) -> None:
    evil = "'\"><svg onload=alert(1)>"
    load(db, "巴中", ITEMS + f"E1-511900000000-1,{evil}许可,局,1,5,3,1\n",
         MATERIALS + f"E1-511900000000-1,{evil},原件,1,是\n")
    load(db, "广元", ITEMS + f"E1-510800000000-1,{evil}许可,局,1,3,2,1\n")
    service.align(db, actor=SYSTEM_ACTOR)
    service.suggest(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"))
    group_id = _group_of(db, "巴中", "E1-511900000000-1")
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    for path in ("/benchmark", f"/benchmark/groups/{group_id}", "/benchmark/review",
                 "/benchmark/suggestions?q=svg"):
        page = analyst.get(path)
        assert page.status_code == 200, path
        assert "<svg onload" not in page.text, path
    group_page = analyst.get(f"/benchmark/groups/{group_id}").text
    assert "&lt;svg onload=alert(1)&gt;" in group_page and 'data-testid="frontier-best"' in group_page
    assert "chart-league" in analyst.get("/benchmark").text


def test_jieba_words_keep_a_substituted_word_from_aligning_and_find_reordered_names(
        db: Session) -> None:
    load(db, "巴中", ITEMS + ",食品经营许可证核发,市市场监管局,1,5,3,1\n"
                            ",个体工商户设立登记,市市场监管局,1,5,3,1\n")
    load(db, "广元", ITEMS + ",药品经营许可证核发,市市场监管局,1,5,3,1\n"
                            ",设立登记个体工商户,市市场监管局,1,5,3,1\n")
    service.align(db, actor=SYSTEM_ACTOR)
    drugs = db.scalars(select(AlignmentMember).where(
        AlignmentMember.item_key == "name:药品经营许可证核发")).one()
    # characters alone (0.86 + type and department) would align food with drugs
    assert drugs.status != MemberStatus.aligned.value or \
        drugs.group_id != _group_of(db, "巴中", "name:食品经营许可证核发")
    reordered = db.scalars(select(AlignmentMember).where(
        AlignmentMember.item_key == "name:设立登记个体工商户")).one()
    assert reordered.group_id == _group_of(db, "巴中", "name:个体工商户设立登记")
    assert reordered.confidence >= 0.85
