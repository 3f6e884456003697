"""对标建议的答复: transitions per role and state, required dates and reasons, department
scoping, the mapping of 实施部门 names, reminders and escalations through the jobs, closing
on a new snapshot of the home city, the metrics to the assessment, and the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.benchmark.test_benchmark import ITEMS, MATERIALS, city, hand_case, load
from tests.factories import actor_of, api_client, logged_in_client, make_user
from tongban.assessment.models import MetricValue
from tongban.benchmark import jobs, service
from tongban.benchmark.enums import SuggestionAction, SuggestionState
from tongban.benchmark.models import Suggestion
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.notify import Notification
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.models import Org

TRANSPORT = "市交通运输局"
EVIL = "'\"><svg onload=alert(1)>"


def suggested(db: Session) -> dict[tuple[str, str], Suggestion]:
    """The hand case, suggested for 巴中: its suggestions by (kind, material)."""
    group_id = hand_case(db)
    service.suggest(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"))
    return {(s.kind, s.material): s for s in db.scalars(select(Suggestion).where(
        Suggestion.group_id == group_id, Suggestion.org_id == city(db, "巴中").id))}


def _works(db: Session, actor: object, s: Suggestion, action: SuggestionAction) -> bool:
    """Whether ``action`` goes through (undone afterwards)."""
    nested = db.begin_nested()
    try:
        service.answer(db, actor=actor, suggestion=s, action=action,  # type: ignore[arg-type]
                       planned_on=date(2027, 3, 1), reason="理由")
        return True
    except (Conflict, PermissionDenied):
        return False
    finally:
        nested.rollback()
        db.expire(s)


@pytest.mark.parametrize("state", [SuggestionState.pending, SuggestionState.adopted,
                                   SuggestionState.rejected, SuggestionState.implemented])
def test_allowed_actions_are_exactly_the_answers_that_work(db: Session,
                                                          state: SuggestionState) -> None:
    s = suggested(db)[("procedure", "")]
    s.state = state.value
    db.flush()
    expected = {SuggestionState.pending: {SuggestionAction.adopt, SuggestionAction.reject},
                SuggestionState.adopted: {SuggestionAction.implement}}.get(state, set())
    roles = {"liaison": actor_of(db, role=Role.liaison, org=TRANSPORT),
             "analyst": actor_of(db, role=Role.analyst),
             "leader": actor_of(db, role=Role.leader),
             "other liaison": actor_of(db, role=Role.liaison, org="市住房和城乡建设局")}
    for who, actor in roles.items():
        allowed = service.allowed_actions(db, actor=actor, suggestion=s)
        assert allowed == {a for a in SuggestionAction if _works(db, actor, s, a)}, who
        assert allowed == (expected if who in ("liaison", "analyst") else set()), who


def test_adopting_needs_a_date_rejecting_a_reason_and_each_step_is_audited(db: Session) -> None:
    found = suggested(db)
    liaison = actor_of(db, role=Role.liaison, org=TRANSPORT)
    adopt, reject = found[("procedure", "")], found[("time_limit", "")]
    with pytest.raises(DomainError, match="计划落实日期"):
        service.answer(db, actor=liaison, suggestion=adopt, action=SuggestionAction.adopt)
    with pytest.raises(DomainError, match="理由"):
        service.answer(db, actor=liaison, suggestion=reject, action=SuggestionAction.reject,
                       reason="  ")
    assert (adopt.state, reject.state) == ("pending", "pending")
    service.answer(db, actor=liaison, suggestion=adopt, action=SuggestionAction.adopt,
                   planned_on=date(2027, 3, 1))
    service.answer(db, actor=liaison, suggestion=reject, action=SuggestionAction.reject,
                   reason="法定程序不可减")
    service.answer(db, actor=liaison, suggestion=adopt, action=SuggestionAction.implement)
    assert (adopt.state, adopt.planned_on, reject.state, reject.answer) == (
        "implemented", date(2027, 3, 1), "rejected", "法定程序不可减")
    entries = db.execute(select(AuditEntry.action, AuditEntry.object_id).where(
        AuditEntry.object_type == "benchmark_suggestion",
        AuditEntry.actor == liaison.username)).all()
    assert sorted(entries) == sorted([
        ("benchmark.suggestion_adopt", str(adopt.id)),
        ("benchmark.suggestion_implement", str(adopt.id)),
        ("benchmark.suggestion_reject", str(reject.id))])
    with pytest.raises(Conflict):
        service.answer(db, actor=liaison, suggestion=reject, action=SuggestionAction.adopt,
                       planned_on=date(2027, 3, 1))


def test_the_api_answers_for_the_department_only(db: Session) -> None:
    s = suggested(db)[("procedure", "")]
    other = api_client(db, make_user(db, role=Role.liaison, org="市住房和城乡建设局"))
    assert other.get(f"/api/v1/benchmark/suggestions/{s.id}").status_code == 404
    assert other.post(f"/api/v1/benchmark/suggestions/{s.id}/reject",
                      json={"reason": "x"}).status_code == 404
    leader = api_client(db, make_user(db, role=Role.leader))
    assert leader.post(f"/api/v1/benchmark/suggestions/{s.id}/reject",
                       json={"reason": "x"}).status_code == 403
    mine = api_client(db, make_user(db, role=Role.liaison, org=TRANSPORT))
    read = mine.get(f"/api/v1/benchmark/suggestions/{s.id}").json()
    assert read["allowed_actions"] == ["adopt", "reject"] and read["due_on"]
    assert mine.post(f"/api/v1/benchmark/suggestions/{s.id}/adopt", json={}).status_code == 400
    done = mine.post(f"/api/v1/benchmark/suggestions/{s.id}/adopt",
                     json={"planned_on": "2027-03-01"})
    assert done.status_code == 200 and done.json()["state"] == "adopted"
    assert done.json()["allowed_actions"] == ["implement"]
    db.expire(s)
    assert s.state == "adopted"


def test_unmapped_departments_are_listed_once_and_a_mapping_is_remembered(db: Session) -> None:
    load(db, "巴中", ITEMS + "M1-511900000000-1,映射测试事项,交通局（旧称）,1,10,4,2\n"
                             "M2-511900000000-1,映射测试事项二,交通局（旧称）,1,10,4,2\n")
    load(db, "广元", ITEMS + "M1-510800000000-1,映射测试事项,市交通运输局,1,5,2,0\n"
                             "M2-510800000000-1,映射测试事项二,市交通运输局,1,5,2,0\n")
    service.align(db, actor=SYSTEM_ACTOR)
    home = city(db, "巴中")
    service.suggest(db, actor=SYSTEM_ACTOR, city=home)
    analyst = actor_of(db, role=Role.analyst)
    assert service.unmapped_departments(db, actor=analyst, city=home) == [("交通局（旧称）", 4)]
    transport = db.scalars(select(Org).where(Org.name == TRANSPORT)).one()
    with pytest.raises(PermissionDenied):
        service.map_department(db, actor=actor_of(db, role=Role.leader), city=home,
                               name="交通局（旧称）", department=transport)
    mapping = service.map_department(db, actor=analyst, city=home, name="交通局（旧称）",
                                     department=transport)
    assert service.unmapped_departments(db, actor=analyst, city=home) == []
    assert db.scalar(select(AuditEntry.action).where(
        AuditEntry.object_type == "org_alias",
        AuditEntry.object_id == str(mapping.id))) == "org.alias_mapped"
    # remembered: a new snapshot and a rerun send new suggestions there too
    load(db, "巴中", ITEMS + "M1-511900000000-1,映射测试事项,交通局（旧称）,1,10,4,2\n"
                             "M2-511900000000-1,映射测试事项二,交通局（旧称）,1,10,4,2\n"
                             "M3-511900000000-1,映射测试事项三,交通局（旧称）,1,10,4,2\n",
         day=date(2026, 12, 2))
    load(db, "广元", ITEMS + "M1-510800000000-1,映射测试事项,市交通运输局,1,5,2,0\n"
                             "M2-510800000000-1,映射测试事项二,市交通运输局,1,5,2,0\n"
                             "M3-510800000000-1,映射测试事项三,市交通运输局,1,5,2,0\n",
         day=date(2026, 12, 2))
    service.align(db, actor=SYSTEM_ACTOR)
    service.suggest(db, actor=SYSTEM_ACTOR, city=home)
    rows = db.scalars(select(Suggestion).where(Suggestion.department == "交通局（旧称）",
                                               Suggestion.org_id == home.id)).all()
    assert len(rows) == 6 and {r.dept_org_id for r in rows} == {transport.id}
    assert org_service.resolve_name(db, city=home, name="交通局（旧称）") == transport
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/benchmark/departments")
    assert page.status_code == 200 and "交通局（旧称）" in page.text


def _keys(db: Session, prefix: str) -> list[str]:
    return list(db.scalars(select(Notification.key).where(Notification.key.startswith(prefix))))


def test_reminders_before_the_deadline_and_escalation_after_it_once_per_key(
        db: Session) -> None:
    found = suggested(db)
    make_user(db, role=Role.liaison, org=TRANSPORT)
    transport = db.scalar(select(Org.id).where(Org.name == TRANSPORT))
    for s in found.values():
        s.due_on = date(2026, 12, 10)  # a Thursday
    answered = found[("procedure", "")]
    service.answer(db, actor=SYSTEM_ACTOR, suggestion=answered, action=SuggestionAction.reject,
                   reason="不适用")
    prefix = f"benchmark:{transport}:2026-12-10"
    jobs.run(db, as_of=date(2026, 12, 1))
    assert _keys(db, prefix) == []  # seven working days ahead: not yet
    first = jobs.run(db, as_of=date(2026, 12, 9))
    assert first.reminders >= 1 and set(_keys(db, prefix)) == {f"{prefix}:before-due"}
    assert jobs.run(db, as_of=date(2026, 12, 9)).reminders == 0
    late = jobs.run(db, as_of=date(2026, 12, 11))
    assert late.escalations >= 1 and f"{prefix}:overdue" in _keys(db, prefix)
    assert jobs.run(db, as_of=date(2026, 12, 14)).escalations == 0
    # once every suggestion is answered, nothing more is sent for them
    for s in found.values():
        if s.state == "pending":
            s.state, s.due_on = "rejected", date(2026, 12, 20)
    jobs.run(db, as_of=date(2026, 12, 18))
    assert not _keys(db, f"benchmark:{transport}:2026-12-20")


def test_a_new_home_snapshot_closes_the_open_suggestions_its_item_now_meets(
        db: Session) -> None:
    found = suggested(db)
    liaison = actor_of(db, role=Role.liaison, org=TRANSPORT)
    procedure, time_limit = found[("procedure", "")], found[("time_limit", "")]
    service.answer(db, actor=liaison, suggestion=procedure, action=SuggestionAction.adopt,
                   planned_on=date(2027, 1, 1))
    service.answer(db, actor=liaison, suggestion=found[("materials", "营业执照")],
                   action=SuggestionAction.reject, reason="须核验原件")
    # 巴中 now: 2 steps (the best), still 10 days; 居民身份证 no longer asked for
    new = load(db, "巴中", ITEMS + "H1-511900000000-1,对标测试事项,市交通运输局,1,10,2,2\n",
               MATERIALS + "H1-511900000000-1,申请表,原件,1,是\n"
                           "H1-511900000000-1,营业执照,原件,1,是\n", day=date(2026, 12, 5))
    assert new.new
    report = jobs.run(db, as_of=date(2026, 12, 5))
    for s in found.values():
        db.refresh(s)
    assert report.implemented == 3
    assert (procedure.state, procedure.evidence_snapshot_id) == ("implemented", new.snapshot.id)
    assert found[("materials", "居民身份证")].state == "implemented"
    assert found[("exempt", "居民身份证")].state == "implemented"
    assert time_limit.state == "pending"  # still 10 days against 南充's 即办
    assert found[("materials", "营业执照")].state == "rejected"  # closed by its answer
    assert found[("exempt", "营业执照")].state == "pending"
    assert db.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "benchmark.suggestion_closed",
        AuditEntry.object_id == str(procedure.id))) is not None
    assert jobs.run(db, as_of=date(2026, 12, 5)).implemented == 0


def test_metrics_per_department_and_month_on_a_hand_example(db: Session) -> None:
    found = suggested(db)
    transport = db.scalar(select(Org.id).where(Org.name == TRANSPORT))
    due = date(2026, 11, 16)
    in_time, late = datetime(2026, 11, 10, 2, tzinfo=UTC), datetime(2026, 11, 20, 2, tzinfo=UTC)
    for s in found.values():  # six suggestions issued in November, due on the 16th
        s.issued_on, s.due_on = date(2026, 11, 2), due
    plan = {("procedure", ""): ("adopted", in_time), ("time_limit", ""): ("rejected", late),
            ("materials", "营业执照"): ("implemented", in_time)}
    for key, (state, at) in plan.items():
        found[key].state, found[key].answered_at = state, at
    db.flush()
    jobs.run(db, as_of=date(2026, 12, 1))
    values = {m: v for m, v in db.execute(select(MetricValue.metric, MetricValue.value).where(
        MetricValue.org_id == transport, MetricValue.period == "2026-11",
        MetricValue.metric.startswith("bench_")))}
    assert values == {"bench_received": 6, "bench_due": 6, "bench_answered_ontime": 2,
                      "bench_adopted": 2, "bench_implemented": 1}
    home = city(db, "巴中").id
    city_values = {m: v for m, v in db.execute(select(MetricValue.metric, MetricValue.value).where(
        MetricValue.org_id == home, MetricValue.period == "2026-12",
        MetricValue.metric.startswith("bench_")))}
    league = service.compute(db)
    row = league.rank_of(home)
    assert row is not None
    assert city_values == {"bench_dtf": row.dtf, "bench_rank": row.rank,
                           "bench_cities": len(league.league)}


def test_the_liaison_answers_on_its_page_and_answers_are_escaped(db: Session) -> None:
    s = suggested(db)[("procedure", "")]
    user = make_user(db, role=Role.liaison, org=TRANSPORT)
    client = logged_in_client(db, user)
    page = client.get("/benchmark/suggestions")
    assert page.status_code == 200 and 'data-testid="nav-benchmark-answers"' in page.text
    assert f'action="/benchmark/suggestions/{s.id}/reject"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(f"/benchmark/suggestions/{s.id}/reject",
                       data={"reason": EVIL, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    db.expire(s)
    assert (s.state, s.answer) == ("rejected", EVIL)
    again = client.get("/benchmark/suggestions?state=rejected").text
    assert "<svg onload" not in again and "&lt;svg onload=alert(1)&gt;" in again
    assert f'action="/benchmark/suggestions/{s.id}/reject"' not in again
    county = make_user(db, role=Role.liaison, org="511902")
    other = logged_in_client(db, county)
    assert 'nav-benchmark-answers' not in other.get("/").text
    assert other.post(f"/benchmark/suggestions/{s.id}/implement",
                      data={"csrf_token": "x"}).status_code in (403, 404)
    with pytest.raises(NotFound):
        service.get_suggestion(db, actor=actor_of(db, role=Role.liaison, org="511902"),
                               suggestion_id=s.id)


def test_cli_lists_unmapped_departments_maps_them_and_answers(db: Session) -> None:
    import json

    from typer.testing import CliRunner

    from tongban.cli import app as cli

    load(db, "巴中", ITEMS + "C1-511900000000-1,命令行事项,旧交通局,1,10,4,2\n")
    load(db, "广元", ITEMS + "C1-510800000000-1,命令行事项,市交通运输局,1,5,2,0\n")
    service.align(db, actor=SYSTEM_ACTOR)
    service.suggest(db, actor=SYSTEM_ACTOR, city=city(db, "巴中"))
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["benchmark", "departments", "--json"]).stdout)
    assert {"name": "旧交通局", "suggestions": 2} in listed["unmapped"]
    assert runner.invoke(cli, ["benchmark", "map", "旧交通局", "--to", "不存在的局"]).exit_code == 2
    mapped = runner.invoke(cli, ["benchmark", "map", "旧交通局", "--to", TRANSPORT, "--json"])
    assert mapped.exit_code == 0, mapped.output
    listed = json.loads(runner.invoke(cli, ["benchmark", "departments", "--json"]).stdout)
    assert {"name": "旧交通局", "department": TRANSPORT} in listed["mapped"]
    s = db.scalars(select(Suggestion).where(Suggestion.item_name == "命令行事项",
                                            Suggestion.kind == "procedure")).one()
    assert runner.invoke(cli, ["benchmark", "answer", str(s.id), "reject"]).exit_code == 1
    assert runner.invoke(cli, ["benchmark", "answer", str(s.id), "maybe"]).exit_code == 2
    done = runner.invoke(cli, ["benchmark", "answer", str(s.id), "reject", "--reason", "不适用",
                               "--json"])
    assert done.exit_code == 0 and json.loads(done.stdout)["state"] == "rejected"
