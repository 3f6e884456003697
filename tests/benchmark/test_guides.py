"""办事指南体检: each rule catches its case and leaves a sound guide alone, the 实施清单
comparison, the 差评 carrying guide tags, the points at risk, the rectification tasks (one per
department, never twice while open), the CLI contract, scoping and the page."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.benchmark.test_benchmark import MATERIALS, city, load
from tests.factories import actor_of, api_client, csrf_of, logged_in_client, make_user
from tongban.benchmark import guides, importer, service
from tongban.benchmark.enums import GuideRule
from tongban.cli import app as cli
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.enums import AliasKind
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction
from tongban.rectification.models import RectificationTask
from tongban.reviews import service as reviews

HEADER = ("实施编码,事项名称,实施部门,法定办结时限,承诺办结时限,跑动次数,设定依据,受理条件,"
          "办理地点,办理时间,咨询电话,监督电话,结果名称\n")
SOUND = "《道路运输条例》,符合条件,市政务服务中心,工作日9:00-17:00"
TRANSPORT, HOUSING = "市交通运输局", "市住房和城乡建设局"


def row(code: str, name: str, *, dept: str = TRANSPORT, legal: str = "20", promised: str = "5",
        visits: str = "1", guide: str = SOUND, consult: str = "0827-5261234",
        supervise: str = "12345", result: str = "许可证") -> str:
    return (f"{code},{name},{dept},{legal},{promised},{visits},{guide},\"{consult}\","
            f"\"{supervise}\",{result}\n")


#: item → the rules it breaks (exactly)
CASES = {
    "G0": ("健全事项", set()),
    "G1": ("缺受理条件事项", {GuideRule.missing_element}),
    "G2": ("超时限事项", {GuideRule.promised_over_legal}),
    "G3": ("即办多跑事项", {GuideRule.instant_visits}),
    "G4": ("材料重复事项", {GuideRule.duplicate_material}),
    "G5": ("材料矛盾事项", {GuideRule.duplicate_material, GuideRule.conflicting_material}),
    "G6": ("错号事项", {GuideRule.bad_phone}),
    "G7": ("即办一次事项", set()),
    "G8": ("多号码事项", set()),
}


def guide_catalog(db: Session) -> None:
    """巴中 (the home city): one sound guide, one per rule broken, and sound edge cases."""
    items = HEADER + "".join([
        row("G0-511900000000-1", "健全事项"),
        row("G1-511900000000-1", "缺受理条件事项",
            guide="《道路运输条例》,,市政务服务中心,工作日9:00-17:00"),
        row("G2-511900000000-1", "超时限事项", legal="10", promised="15"),
        row("G3-511900000000-1", "即办多跑事项", promised="即办", visits="2"),
        row("G4-511900000000-1", "材料重复事项", dept=HOUSING),
        row("G5-511900000000-1", "材料矛盾事项", dept=HOUSING),
        row("G6-511900000000-1", "错号事项", consult="0827-52612", supervise="1234"),
        row("G7-511900000000-1", "即办一次事项", promised="即办", visits="1"),
        row("G8-511900000000-1", "多号码事项", consult="（0827）5261234转8001；13800138000",
            supervise="12345、400-800-1234"),
    ])
    materials = MATERIALS + (
        "G0-511900000000-1,申请表,原件,1,是\n"
        "G4-511900000000-1,营业执照,原件,1,是\n"
        "G4-511900000000-1,营业执照（复印件）,复印件,1,是\n"
        "G5-511900000000-1,身份证明,原件,1,是\n"
        "G5-511900000000-1,身份证明（原件）,原件,1,否\n")
    load(db, "巴中", items, materials)


def rules_of(check: guides.GuideCheck) -> dict[str, set[GuideRule]]:
    found: dict[str, set[GuideRule]] = {name: set() for name, _ in CASES.values()}
    for anomaly in check.anomalies:
        found[anomaly.item].add(anomaly.rule)
    return found


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_each_rule_catches_its_case_and_sound_guides_are_not_flagged(db: Session) -> None:
    guide_catalog(db)
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    assert check.items_checked == len(CASES) and check.city.short_name == "巴中"
    assert rules_of(check) == {name: rules for name, rules in CASES.values()}
    detail = {(a.item, a.rule): a.detail for a in check.anomalies}
    assert detail[("缺受理条件事项", GuideRule.missing_element)] == "缺少：受理条件"
    assert "承诺15个工作日，法定10个工作日" in detail[("超时限事项", GuideRule.promised_over_legal)]
    assert "0827-52612" in detail[("错号事项", GuideRule.bad_phone)]
    assert "1234" in detail[("错号事项", GuideRule.bad_phone)]


@pytest.mark.parametrize("number", ["0827-5261234", "（028）86123456", "028 8612 3456",
                                    "13800138000", "12345", "12315", "400-800-1234",
                                    "0827-5261234转8001", "咨询电话：0827-5261234",
                                    "13800138000；0827-5261234"])
def test_valid_phone_numbers(number: str) -> None:
    assert guides.phone_is_valid(number)


@pytest.mark.parametrize("number", ["5261234", "0827-52612", "1234", "12800138000",
                                    "138001380001", "无", "0827-5261234；88", "110"])
def test_invalid_phone_numbers(number: str) -> None:
    assert not guides.phone_is_valid(number)


def test_elements_no_item_fills_are_not_checked_but_a_blank_among_filled_ones_is(
        db: Session) -> None:
    load(db, "巴中", "实施编码,事项名称,实施部门,承诺办结时限\n"
                     "N1-511900000000-1,有部门事项,市交通运输局,5\n"
                     "N2-511900000000-1,无部门事项,,5\n")
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    assert "设定依据" in check.not_checked and "咨询电话" in check.not_checked
    assert "实施部门" not in check.not_checked
    assert [(a.item, a.detail) for a in check.anomalies] == [("无部门事项", "缺少：实施部门")]


def test_the_rule_set_is_a_setting(db: Session, settings_env: pytest.MonkeyPatch) -> None:
    guide_catalog(db)
    settings_env.setenv("TONGBAN_BENCHMARK_GUIDE_RULES", "bad_phone")
    get_settings.cache_clear()
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    assert {a.rule for a in check.anomalies} == {GuideRule.bad_phone}
    settings_env.setenv("TONGBAN_BENCHMARK_GUIDE_RULES", "bad_phone,no_such_rule")
    get_settings.cache_clear()
    with pytest.raises(DomainError, match="no_such_rule"):
        guides.check_guides(db, actor=SYSTEM_ACTOR)


def list_import(db: Session, text: str, name: str = "实施清单.csv") -> object:
    return service.import_implementation_list(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"),
                                              source=io.BytesIO(text.encode()), filename=name)


def test_materials_differing_from_the_implementation_list_are_flagged(db: Session) -> None:
    guide_catalog(db)
    list_import(db, MATERIALS
                + "G0-511900000000-1,申请表（原件）,原件,1,是\n"  # the same material
                + "G4-511900000000-1,营业执照,原件,1,否\n"        # optional in the list
                + "材料矛盾事项,身份证明,原件,1,是\n"              # by name
                + "材料矛盾事项,户口簿,原件,1,是\n"                # the guide lacks it
                + "G2-511900000000-1,委托书,原件,1,是\n")         # the guide lacks it
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    mismatch = {a.item: a.detail for a in check.anomalies if a.rule is GuideRule.list_mismatch}
    assert set(mismatch) == {"材料重复事项", "材料矛盾事项", "超时限事项"}
    assert mismatch["材料重复事项"] == "必需与否不同：营业执照"
    assert mismatch["材料矛盾事项"] == "指南缺：户口簿"
    assert mismatch["超时限事项"] == "指南缺：委托书"
    assert check.list_items == 4


def test_the_implementation_list_imports_all_or_nothing_and_replaces_the_last(
        db: Session) -> None:
    guide_catalog(db)
    audited = select(AuditEntry).where(AuditEntry.action == "benchmark.list_imported")
    before = len(db.scalars(audited).all())  # the demo's
    first = list_import(db, MATERIALS + "G0-511900000000-1,申请表,原件,1,是\n")
    again = list_import(db, MATERIALS + "G0-511900000000-1,申请表,原件,1,是\n")
    assert (first.changed, again.changed) == (True, False)  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed) as refused:
        list_import(db, MATERIALS + "G0-511900000000-1,申请表,原件,1,也许\n,表,原件,1,是\n",
                    name="坏清单.csv")
    assert {(g.file, g.column) for g in refused.value.errors} == {("坏清单.csv", "是否必需"),
                                                                 ("坏清单.csv", "事项")}
    list_import(db, MATERIALS + "G0-511900000000-1,委托书,原件,1,是\n")
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    assert [a.detail for a in check.anomalies if a.rule is GuideRule.list_mismatch] == [
        "清单外：申请表；指南缺：委托书"]
    assert len(db.scalars(audited).all()) == before + 2  # the unchanged import wrote none
    with pytest.raises(PermissionDenied):
        service.import_implementation_list(db, actor=actor_of(db, role=Role.leader),
                                           city=city(db, "巴中"), source=io.BytesIO(b""),
                                           filename="x.csv")


def test_guide_review_tags_are_default_tags_and_their_bad_reviews_sit_beside_the_item(
        db: Session) -> None:
    assert {"指南外材料", "指南外条件"} <= set(get_settings().review_tag_list)
    guide_catalog(db)
    for n, (level, tags, code) in enumerate([
            ("1", "指南外材料", "G0-511900000000-1"), ("2", "指南外条件；服务态度", "G0-511900000000-1"),
            ("5", "指南外材料", "G2-511900000000-1"), ("1", "服务态度", "G6-511900000000-1")]):
        reviews.submit_review(db, client=f"203.0.113.{n + 1}", values={
            "channel": "APP", "org": "巴中市", "level": level, "case_no": f"GC{n}",
            "item_code": code, "tags": tags, "rated_at": datetime.now().astimezone()})
    check = guides.check_guides(db, actor=SYSTEM_ACTOR)
    tagged = {f.item: f.review_tags for f in check.findings if f.review_tags}
    assert tagged == {"健全事项": {"指南外材料": 1, "指南外条件": 1}}
    assert "健全事项" in {f.item for f in check.findings}  # listed though its guide is sound


def test_points_at_risk_are_each_anomalous_item_times_the_setting_capped_by_the_indicator(
        db: Session, settings_env: pytest.MonkeyPatch) -> None:
    guide_catalog(db)
    settings_env.setenv("TONGBAN_BENCHMARK_GUIDE_POINTS_EACH", "0.05")
    get_settings.cache_clear()
    risk = guides.check_guides(db, actor=SYSTEM_ACTOR).risk
    assert risk is not None and (risk.indicator, risk.items) == ("A03", 6)
    assert risk.at_risk == pytest.approx(0.3) and risk.indicator_name == "办事指南准确性"
    assert risk.current_points is not None and risk.current_points > 0.3
    assert risk.projected_rank is not None and risk.projected_rank >= (risk.current_rank or 0)
    settings_env.setenv("TONGBAN_BENCHMARK_GUIDE_POINTS_EACH", "0.5")  # 3 points: capped
    get_settings.cache_clear()
    capped = guides.check_guides(db, actor=SYSTEM_ACTOR).risk
    assert capped is not None and capped.at_risk == pytest.approx(risk.current_points)


def tasks(db: Session) -> list[RectificationTask]:
    """The tasks the check opened (the seed has the province's own 异常办事指南 tasks)."""
    return list(db.scalars(select(RectificationTask).where(
        RectificationTask.category == "异常办事指南",
        RectificationTask.import_key.startswith("guide-check:")).order_by(RectificationTask.id)))


def test_one_task_per_department_a_line_per_item_and_never_twice_while_open(
        db: Session) -> None:
    guide_catalog(db)
    analyst = actor_of(db, role=Role.analyst)
    check = guides.check_guides(db, actor=analyst)
    opened = guides.open_guide_tasks(db, actor=analyst, check=check)
    assert {(o.department, o.items, o.new) for o in opened} == {(TRANSPORT, 4, True),
                                                              (HOUSING, 2, True)}
    found = tasks(db)
    assert [t.org.name for t in found] == [TRANSPORT, HOUSING]
    assert sorted(line.item_name for line in found[1].lines) == ["材料矛盾事项", "材料重复事项"]
    assert "即办件跑动多次" in next(ln.problem for ln in found[0].lines
                                if ln.item_name == "即办多跑事项")
    again = guides.open_guide_tasks(db, actor=analyst,
                                    check=guides.check_guides(db, actor=analyst))
    assert not any(o.new for o in again) and len(tasks(db)) == 2
    assert {o.task_id for o in again} == {t.id for t in found}
    rectification.transition(db, actor=SYSTEM_ACTOR, task=found[0], action=TaskAction.cancel,
                             note="重新体检")
    third = guides.open_guide_tasks(db, actor=analyst,
                                    check=guides.check_guides(db, actor=analyst))
    assert [(o.department, o.new) for o in third if o.new] == [(TRANSPORT, True)]
    assert len(db.scalars(select(AuditEntry).where(
        AuditEntry.action == "benchmark.guide_tasks_opened")).all()) == 2


def test_departments_that_map_to_no_org_get_no_task(db: Session) -> None:
    load(db, "巴中", HEADER + row("U1-511900000000-1", "无主事项", dept="某某中心", legal="1",
                                  promised="3"))
    opened = guides.open_guide_tasks(db, actor=SYSTEM_ACTOR,
                                     check=guides.check_guides(db, actor=SYSTEM_ACTOR))
    assert [(o.department, o.task_id) for o in opened] == [("某某中心", None)] and not tasks(db)
    waiting = org_service.list_aliases(db, actor=SYSTEM_ACTOR, params=ListParams(), mapped=False)
    assert ("某某中心", "办事指南体检") in {(a.value, a.source) for a in waiting.items}
    # mapped once in the register of departments: the next run opens its task
    home = service.home_city(db)
    org_service.map_alias(db, actor=SYSTEM_ACTOR, kind=AliasKind.dept_name, value="某某中心",
                          org=org_service.resolve_org(db, ref=TRANSPORT), city=home)
    again = guides.open_guide_tasks(db, actor=SYSTEM_ACTOR,
                                    check=guides.check_guides(db, actor=SYSTEM_ACTOR))
    assert [(o.department, o.new) for o in again] == [("某某中心", True)]
    assert [t.org.name for t in tasks(db)] == [TRANSPORT]


def test_only_those_who_issue_tasks_open_them_and_liaisons_see_no_check(db: Session) -> None:
    guide_catalog(db)
    leader = actor_of(db, role=Role.leader)
    assert guides.check_guides(db, actor=leader).anomalies
    assert guides.allowed_guide_actions(db, actor=leader) == frozenset()
    assert guides.allowed_guide_actions(db, actor=actor_of(db, role=Role.analyst)) == {"open_tasks"}
    with pytest.raises(PermissionDenied):
        guides.open_guide_tasks(db, actor=leader, check=guides.check_guides(db, actor=leader))
    liaison = api_client(db, make_user(db, role=Role.liaison, org=TRANSPORT))
    assert liaison.get("/api/v1/benchmark/check").status_code == 403
    assert liaison.post("/api/v1/benchmark/check/tasks").status_code == 403
    assert not tasks(db)


def test_the_api_answers_the_check_and_opens_tasks(db: Session) -> None:
    guide_catalog(db)
    analyst = api_client(db, make_user(db, role=Role.analyst))
    body = analyst.get("/api/v1/benchmark/check").json()
    assert body["items_checked"] == len(CASES)
    assert body["by_department"][HOUSING] == {"items": 2, "anomalies": 3}
    opened = analyst.post("/api/v1/benchmark/check/tasks").json()["tasks"]
    assert sorted(t["new"] for t in opened) == [True, True]
    assert not any(t["new"] for t in analyst.post("/api/v1/benchmark/check/tasks").json()["tasks"])


def test_cli_check_follows_the_contract_and_opens_tasks_once(db: Session,
                                                             tmp_path: Path) -> None:
    guide_catalog(db)
    runner = CliRunner()
    listed = tmp_path / "list.csv"
    listed.write_text(MATERIALS + "G0-511900000000-1,申请表,原件,1,是\n", encoding="utf-8")
    done = runner.invoke(cli, ["benchmark", "import", str(listed), "--city", "巴中",
                               "--kind", "实施清单", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["materials"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(MATERIALS + ",申请表,原件,1,是\n", encoding="utf-8")
    refused = runner.invoke(cli, ["benchmark", "import", str(bad), "--city", "巴中", "--kind",
                                  "实施清单", "--json"])
    assert refused.exit_code == 1 and json.loads(refused.stdout)["errors"][0]["column"] == "事项"
    assert runner.invoke(cli, ["benchmark", "import", str(bad), "--city", "巴中",
                               "--kind", "清单"]).exit_code == 2
    checked = runner.invoke(cli, ["benchmark", "check", "--json"])
    assert checked.exit_code == 0, checked.output
    body = json.loads(checked.stdout)
    assert isinstance(body["items_checked"], int) and body["tasks"] == []
    assert set(body["anomalies"][0]) >= {"item", "department", "rule", "detail"}
    first = json.loads(runner.invoke(cli, ["benchmark", "check", "--city", "巴中",
                                           "--open-tasks", "--json"]).stdout)
    second = json.loads(runner.invoke(cli, ["benchmark", "check", "--open-tasks",
                                            "--json"]).stdout)
    assert [t["new"] for t in first["tasks"]] == [True, True]
    assert [t["new"] for t in second["tasks"]] == [False, False]


def test_the_page_groups_by_department_and_shows_the_button_to_those_allowed(
        db: Session) -> None:
    guide_catalog(db)
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get("/benchmark/check")
    assert page.status_code == 200
    assert page.text.count('data-testid="guide-department"') == 2
    assert 'data-testid="open-guide-tasks"' in page.text and "即办件跑动多次" in page.text
    leader = logged_in_client(db, make_user(db, role=Role.leader))
    assert 'data-testid="open-guide-tasks"' not in leader.get("/benchmark/check").text
    sent = analyst.post("/benchmark/check/tasks", data={"csrf_token": csrf_of(analyst)},
                        follow_redirects=False)
    assert sent.status_code == 303 and len(tasks(db)) == 2


def test_a_one_department_list_replaces_that_department_only_and_says_so_first(
        db: Session) -> None:
    from tongban.catalog.models import ServiceItem

    first = db.scalars(select(ServiceItem).order_by(ServiceItem.id)).first()
    assert first is not None
    other = db.scalars(select(ServiceItem).where(ServiceItem.department != first.department)
                       .order_by(ServiceItem.id)).first()
    assert other is not None
    a, b = first.impl_code, other.impl_code
    list_import(db, MATERIALS + f"{a},申请表,原件,1,是\n{b},身份证,原件,1,是\n")
    home = city(db, "巴中")

    def listed() -> set[tuple[str, str]]:
        return {(m.item, m.name) for m in importer.list_materials(db, org=home)}

    before = listed()
    preview = service.import_implementation_list(
        db, actor=SYSTEM_ACTOR, city=home, filename="一个部门.csv", dry_run=True,
        source=io.BytesIO((MATERIALS + f"{a},申请表,原件,1,是\n{a},委托书,原件,1,是\n").encode()))
    assert preview.dry_run and preview.changed and preview.altered == [a]
    assert preview.partial and preview.departments == [first.department]
    assert preview.removed == [] and "只替换这些部门" in preview.summary()
    assert listed() == before  # a preview writes nothing
    list_import(db, MATERIALS + f"{a},申请表,原件,1,是\n{a},委托书,原件,1,是\n")
    assert (a, "委托书") in listed() and (b, "身份证") in listed()  # the other department kept
    with pytest.raises(ValidationFailed) as refused:
        list_import(db, MATERIALS, name="空清单.csv")
    assert "没有材料" in str(refused.value) and (b, "身份证") in listed()


def test_every_demo_suggestion_has_its_department_and_its_liaison_sees_them(
        db: Session) -> None:
    from tongban.benchmark.models import Suggestion

    assert db.scalars(select(Suggestion).where(Suggestion.dept_org_id.is_(None))).all() == []
    land = org_service.resolve_org(db, ref="市自然资源和规划局")
    theirs = db.scalars(select(Suggestion).where(Suggestion.dept_org_id == land.id)).all()
    assert theirs
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="市自然资源和规划局"))
    listed = page.get("/benchmark/suggestions").text
    assert 'href="/benchmark/suggestions"' in listed  # the menu offers them
    assert any(s.item_name in listed for s in theirs)
