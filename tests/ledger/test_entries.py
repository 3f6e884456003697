"""Entries of the township-powers ledger: imports with every row error, the 委托 rule, status
and rates by hand count, the metrics written, updates through the workflow, rectification of
an overdue entry, scoping."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import actor_of, located
from tests.ledger.conftest import ITEMS, POWERS, World, csv_of
from tongban.assessment.models import MetricValue
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.ledger.enums import FigureKind
from tongban.ledger.service import entries as entries_module
from tongban.org import service as org_service
from tongban.rectification.models import RectificationTask

HEADER = "单位,事项编码,状态,原因,承接主体,承办人员,办理流程,责任人\n"
ENTRIES = HEADER + """巴州区/东城街道,FD-001,已承接,,,,,
巴州区/东城街道,FD-002,已承接,,,,,
巴州区/东城街道,FD-003,不适用,无办理需求,,,,
巴州区/东城街道,FQ-001,未承接,专网未打通,,,,
巴州区/西城街道,FD-001,已承接,,,,,
文旅新区,WT-001,已承接,,文旅新区管委会,李四,受理-审核-办结,王五
文旅新区,WT-002,未承接,部门未放权,,,,
"""


def _import(db: Session, text: str, actor=SYSTEM_ACTOR):  # type: ignore[no-untyped-def]
    return service.import_entries(db, actor=actor, type_code=POWERS, source=csv_of(text),
                                  filename="台账.csv")


def test_import_is_all_or_nothing_and_idempotent(db: Session, world: World) -> None:
    first = _import(db, ENTRIES)
    assert (first.added, first.changed, first.unchanged) == (7, 0, 0)
    again = _import(db, ENTRIES)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 7)
    changed = _import(db, ENTRIES.replace("FQ-001,未承接,专网未打通", "FQ-001,已承接,"))
    assert (changed.added, changed.changed) == (0, 1)


def test_each_row_error_names_row_column_and_reason(db: Session, world: World) -> None:
    bad = HEADER + """巴州区/东城街道,FD-001,已承接,,,,,
不存在的镇,FD-001,已承接,,,,,
巴州区,FD-001,已承接,,,,,
巴州区/东城街道,XX-999,已承接,,,,,
巴州区/东城街道,WT-001,已承接,,,,,
巴州区/东城街道,FD-002,完成了,,,,,
巴州区/东城街道,FD-003,未承接,,,,,
巴州区/东城街道,FQ-001,未承接,天气不好,,,,
巴州区/东城街道,FD-001,未承接,其他,,,,
文旅新区,WT-001,已承接,,文旅新区管委会,,受理-审核-办结,
"""
    with pytest.raises(ValidationFailed) as caught:
        _import(db, bad)
    found = {(row, column) for row, column, _ in located(caught.value)}
    assert found == {(3, "单位"), (4, "单位"), (5, "事项编码"), (6, "事项编码"), (7, "状态"),
                     (8, "原因"), (9, "原因"), (10, "事项编码"), (11, "承办人员"),
                     (11, "责任人")}
    reasons = {(row, column): reason for row, column, reason in located(caught.value)}
    assert "委托事项标为「已承接」时须填写承办人员" in reasons[(11, "承办人员")]
    assert "第2行" in reasons[(10, "事项编码")]
    assert caught.value.errors.file == "台账.csv"
    assert db.scalar(select(func.count()).select_from(entries_module.LedgerEntry)) == 0


def test_a_file_without_the_required_columns_is_refused(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _import(db, "单位,状态\n巴州区/东城街道,已承接\n")
    assert [(r, c) for r, c, _ in located(caught.value)] == [(1, "事项编码")]


def test_status_counts_by_hand(db: Session, world: World) -> None:
    _import(db, ENTRIES)
    service.import_figures(db, actor=SYSTEM_ACTOR, type_code=POWERS, kind=FigureKind.cases,
                           period="2026-11", filename="办件.csv", source=csv_of(
                               "单位,事项编码,办件量\n巴州区/东城街道,FD-001,12\n"
                               "巴州区/东城街道,FD-003,3\n巴州区/西城街道,FD-001,0\n"))
    _, rows = service.status(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.county,
                             period="2026-11")
    by_name = {r["org"]: r for r in service.status_dicts(rows)}
    # 东城: 5 items (3 法定 + 2 赋权); 2 taken, 1 not applicable, 2 open; FD-001 landed
    # (FD-003 had cases but is not taken)
    assert by_name["东城街道"] == {"org": "东城街道", "total": 5, "done": 2, "not_applicable": 1,
                                  "open": 2, "rate": 0.5, "landed": 1, "landing_rate": 0.5}
    # 西城: a case count of 0 is no landing
    assert by_name["西城街道"]["done"] == 1 and by_name["西城街道"]["landed"] == 0
    assert by_name["西城街道"]["rate"] == 0.2
    _, zone = service.status(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.zone)
    assert service.status_dicts(zone) == [{"org": "文旅新区", "total": 2, "done": 1,
                                           "not_applicable": 0, "open": 1, "rate": 0.5,
                                           "landed": 0, "landing_rate": 0.0}]


def test_metrics_per_org_and_county_match_the_status(db: Session, world: World) -> None:
    _import(db, ENTRIES)
    service.import_figures(db, actor=SYSTEM_ACTOR, type_code=POWERS, kind=FigureKind.cases,
                           period="2026-11", filename="办件.csv", source=csv_of(
                               "单位,事项编码,办件量\n巴州区/东城街道,FD-001,12\n"))
    service.record_metrics(db, period="2026-11")

    def value(org_id: int, code: str) -> float | None:
        return db.scalar(select(MetricValue.value).where(
            MetricValue.org_id == org_id, MetricValue.metric == code,
            MetricValue.period == "2026-11"))

    assert (value(world.east.id, "powers_applicable"), value(world.east.id, "powers_taken"),
            value(world.east.id, "powers_landed")) == (4, 2, 1)
    townships = db.scalar(select(func.count()).select_from(entries_module.Org).where(
        entries_module.Org.parent_id == world.county.id, entries_module.Org.level == "township"))
    # the county: every township's 5 items, less 东城's one not applicable; 3 taken
    assert value(world.county.id, "powers_applicable") == 5 * townships - 1
    assert value(world.county.id, "powers_taken") == 3
    assert value(world.zone.id, "powers_taken") == 1


def test_updating_an_entry_checks_the_rules_and_audits(db: Session, world: World) -> None:
    liaison = actor_of(db, role=Role.liaison, org="文旅新区")
    with pytest.raises(ValidationFailed) as caught:
        service.update_entry(db, actor=liaison, type_code=POWERS, org=world.zone,
                             item_code="WT-002", given=service.EntryInput(
                                 status="taken", fields={"receiver": "文旅新区管委会"}))
    assert {c for _, c, _ in located(caught.value)} == {"承办人员", "办理流程", "责任人"}
    view = service.update_entry(db, actor=liaison, type_code=POWERS, org=world.zone,
                                item_code="WT-002", given=service.EntryInput(
                                    status="taken", fields={
                                        "receiver": "文旅新区管委会", "staff": "张三",
                                        "procedure": "受理-审核-办结", "owner": "王五"}))
    assert view.state == "taken" and view.entry is not None and view.entry.done_on is not None
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.entry_updated",
                                               AuditEntry.object_id == str(view.entry.id)))
    assert entry is not None and entry.changes["state"] == ["not_taken", "taken"]


def test_a_liaison_reaches_only_its_own_orgs(db: Session, world: World) -> None:
    _import(db, ENTRIES)
    other = actor_of(db, role=Role.liaison, org="511921")  # 通江县
    with pytest.raises(NotFound):
        service.org_entries(db, actor=other, type_code=POWERS, org=world.east)
    with pytest.raises(NotFound):
        service.update_entry(db, actor=other, type_code=POWERS, org=world.east,
                             item_code="FD-001", given=service.EntryInput(status="not_taken",
                                                                          reason="其他"))
    with pytest.raises(ValidationFailed) as caught:
        _import(db, HEADER + "巴州区/东城街道,FD-001,未承接,其他,,,,\n", actor=other)
    assert "无权填报" in located(caught.value)[0][2]
    _, rows = service.status(db, actor=other, type_code=POWERS)
    tongjiang = org_service.resolve_org(db, ref="511921")
    assert rows and all(r.org.path.startswith(tongjiang.path) for r in rows)
    county = actor_of(db, role=Role.liaison, org="511902")
    _, own = service.status(db, actor=county, type_code=POWERS)
    assert {r.org.name for r in own} >= {"东城街道", "西城街道"}
    assert "文旅新区" not in {r.org.name for r in own}
    leader = actor_of(db, role=Role.leader, org="511900")
    with pytest.raises(PermissionDenied):
        service.update_entry(db, actor=leader, type_code=POWERS, org=world.east,
                             item_code="FD-001", given=service.EntryInput(notes="看过"))


def test_an_overdue_entry_becomes_a_rectification_task_once(
        db: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(db, ENTRIES)
    analyst = actor_of(db, role=Role.analyst, org="511900")
    with pytest.raises(Conflict):
        service.open_rectification(db, actor=analyst, type_code=POWERS, org=world.east,
                                   item_code="FQ-001")
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="事项.csv",
                         source=csv_of(ITEMS.replace("事项编码,事项名称,类别", "事项编码,事项名称,类别,完成时限")
                                       .replace(",赋权\n", ",赋权,2026-11-30\n", 1)))
    monkeypatch.setattr(entries_module, "local_today", lambda: date(2026, 12, 10))
    task_id = service.open_rectification(db, actor=analyst, type_code=POWERS, org=world.east,
                                         item_code="FQ-001")
    task = db.get_one(RectificationTask, task_id)
    assert task.org_id == world.east.id and "FQ-001" in task.detail
    assert [ln.item_code for ln in task.lines] == ["FQ-001"]
    assert service.open_rectification(db, actor=analyst, type_code=POWERS, org=world.east,
                                       item_code="FQ-001") == task_id
    with pytest.raises(Conflict):  # taken: not overdue
        service.open_rectification(db, actor=analyst, type_code=POWERS, org=world.east,
                                   item_code="FD-001")


def test_lists_and_exams_count_per_township_and_county(db: Session, world: World) -> None:
    service.import_lists(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="清单.csv",
                         source=csv_of("单位,权责清单,编制日期\n巴州区/东城街道,是,2026-09-30\n"
                                       "巴州区/西城街道,否,\n"))
    exams = ("单位,姓名,考试日期,考试结果\n巴州区/东城街道,甲,2026-10-15,合格\n"
             "巴州区/东城街道,乙,2026-10-15,不合格\n巴州区/东城街道,乙,2026-11-20,合格\n"
             "巴州区/西城街道,丙,2026-10-15,合格\n")
    assert service.import_exams(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="考试.csv",
                                source=csv_of(exams)).added == 4
    assert service.import_exams(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="考试.csv",
                                source=csv_of(exams)).unchanged == 4
    _, rows = service.status(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.county)
    by_name = {r.org.name: r for r in rows}
    assert (by_name["东城街道"].lists, by_name["东城街道"].qualified) == (1, 2)
    assert (by_name["西城街道"].lists, by_name["西城街道"].qualified) == (0, 1)
    service.record_metrics(db, period="2026-11")
    figures = {m.metric: m.value for m in db.scalars(select(MetricValue).where(
        MetricValue.org_id == world.county.id, MetricValue.period == "2026-11",
        MetricValue.metric.in_(["powers_lists_compiled", "powers_qualified_staff"])))}
    assert figures == {"powers_lists_compiled": 1, "powers_qualified_staff": 3}


def test_exam_and_list_rows_with_errors_are_named(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.import_exams(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="考试.csv",
                             source=csv_of("单位,姓名,考试日期,考试结果\n巴州区/东城街道,甲,昨天,合格\n"
                                           "巴州区/东城街道,,2026-10-15,良好\n市民政局,丁,2026-10-15,合格\n"))
    assert {(r, c) for r, c, _ in located(caught.value)} == {
        (2, "考试日期"), (3, "姓名"), (3, "考试结果"), (4, "单位")}
    with pytest.raises(ValidationFailed) as listed:
        service.import_lists(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="清单.csv",
                             source=csv_of("单位,权责清单\n巴州区/东城街道,也许\n"))
    assert [(r, c) for r, c, _ in located(listed.value)] == [(2, "权责清单")]


def test_an_import_keeps_the_fields_an_entry_was_given_on_its_page(db: Session,
                                                                  world: World) -> None:
    service.update_entry(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.zone,
                         item_code="WT-001", given=service.EntryInput(fields={
                             "receiver": "文旅新区管委会", "staff": "张三",
                             "procedure": "受理-审核-办结", "owner": "王五"}))
    done = _import(db, "单位,事项编码,状态\n文旅新区,WT-001,已承接\n")
    assert done.changed == 1
    view = service.entry_view(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.zone,
                              item_code="WT-001")
    assert view.state == "taken" and view.field("staff") == "张三"
    with pytest.raises(ValidationFailed):  # without them, still refused
        _import(db, "单位,事项编码,状态\n文旅新区,WT-002,已承接\n")
