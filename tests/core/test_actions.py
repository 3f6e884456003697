"""Every action writes its audit entry: one recipe per audit entry an action declares performs
it through the public services, and the entry (name, actor, object) must follow.

A new action, or a new entry of an action, fails :func:`test_every_audit_entry_has_a_recipe`
until a recipe below performs it.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import tongban
from tests.assessment.test_scoring import MEMBERS, fill
from tests.factories import (
    PASSWORD,
    actor_of,
    errand_world,
    make_cohort,
    make_errand,
    make_runner,
    make_user,
    picture,
    scheme_yaml,
)
from tests.rectification.test_import import FEEDBACK
from tests.reviews.test_cases import make_case
from tests.reviews.test_intake import HEADER, row
from tests.security.test_public_reviews import rating
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.benchmark import enums as benchmark_enums
from tongban.benchmark import guides
from tongban.benchmark import service as benchmark
from tongban.benchmark.enums import ReviewAction, SuggestionAction, SuggestionState
from tongban.benchmark.models import (
    AlignmentGroup,
    AlignmentMember,
    CatalogSnapshot,
    Suggestion,
)
from tongban.catalog import service as catalog
from tongban.core import audit, outbox, workdays
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Actor, Outsider, Role
from tongban.core.tabular import open_table
from tongban.core.workdays import DayKind
from tongban.datasharing import service as datasharing
from tongban.datasharing.checks import FieldSpec
from tongban.datasharing.enums import FieldType, Frequency, OpenType, ShareType
from tongban.errand import dispatcher
from tongban.errand import service as errand
from tongban.errand.enums import TRANSITIONS as ERRAND_TRANSITIONS
from tongban.errand.enums import ErrandAction, ErrandState, ZoneMode
from tongban.ledger import service as ledger
from tongban.ledger.enums import FigureKind
from tongban.ledger.service import entries as ledger_entries
from tongban.org import service as org_service
from tongban.org.enums import AliasKind, OrgLevel
from tongban.rectification import service as rectification
from tongban.rectification.enums import TRANSITIONS, TaskAction, TaskSource, TaskState
from tongban.rectification.models import RectificationTask
from tongban.reports import service as reports
from tongban.reports.enums import ReportKind
from tongban.reviews import service as reviews
from tongban.reviews.enums import CASE_TRANSITIONS, CaseAction, CaseState
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind
from tongban.system import service as system_service


@dataclass(frozen=True)
class Kit:
    """What a recipe works with: the session, the entry it performs, a place for files."""

    db: Session
    name: str
    monkeypatch: pytest.MonkeyPatch
    tmp_path: Path

    def actor(self, role: Role, org: str | None = None) -> Actor:
        return actor_of(self.db, role=role, org=org)


@dataclass(frozen=True)
class Step:
    """The action a recipe performs once its set-up is done, and the entry it must write:
    its actor and object (``object_id`` may be read from what the action returns)."""

    run: Callable[[], Any]
    actor: Actor | Outsider
    object_type: str
    object_id: object | Callable[[Any], object]


Recipe = Callable[[Kit], Step]
RECIPES: dict[str, Recipe] = {}


def recipe(*names: str) -> Callable[[Recipe], Recipe]:
    def add(make: Recipe) -> Recipe:
        for name in names:
            assert name not in RECIPES, name
            RECIPES[name] = make
        return make
    return add


def path_to(transitions: dict[Any, tuple[frozenset[Any], Any, str]], start: Any,
            goal: frozenset[Any]) -> list[Any]:
    """The shortest run of workflow actions from ``start`` to one of the ``goal`` states."""
    queue: deque[tuple[Any, list[Any]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, steps = queue.popleft()
        if state in goal:
            return steps
        for action, (sources, target, _) in transitions.items():
            if state in sources and target not in seen:
                seen.add(target)
                queue.append((target, [*steps, action]))
    raise AssertionError(f"no way from {start} to {goal}")


# ---------------------------------------------------------------- assessment


@recipe("scheme.loaded")
def _load_scheme(kit: Kit) -> Step:
    make_cohort(kit.db, code="t-cohort", members=MEMBERS)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: assessment.load_scheme(kit.db, actor=analyst, text=scheme_yaml()),
                analyst, "scheme", "t-scheme@1")


@recipe("metrics.recorded")
def _record_metrics(kit: Kit) -> Step:
    analyst, org = kit.actor(Role.analyst), org_service.resolve_org(kit.db, ref="巴州区")
    return Step(lambda: assessment.record_metric_values(
        kit.db, actor=analyst, source="recipe",
        values=[MetricInput("2031-01", org.id, "t_metric", 1.0)]), analyst, "metric_value", "recipe")


def _adjust(kit: Kit, actor: Actor) -> Any:
    return assessment.record_adjustment(
        kit.db, actor=actor, period="2026-04", org=org_service.resolve_org(kit.db, ref="巴州区"),
        points=-1, reason="测试扣分")


@recipe("adjustment.recorded")
def _record_adjustment(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: _adjust(kit, analyst), analyst, "adjustment", lambda made: made[0].id)


@recipe("adjustment.voided")
def _void_adjustment(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    adjustment, _ = _adjust(kit, analyst)
    return Step(lambda: assessment.void_adjustment(kit.db, actor=analyst, adjustment_id=adjustment.id,
                                                   reason="录错了"), analyst, "adjustment", adjustment.id)


@recipe("sheet.computed", "sheet.recomputed", "sheet.published", "sheet.correction_started")
def _sheet(kit: Kit) -> Step:
    make_cohort(kit.db, code="t-cohort", members=MEMBERS)
    assessment.load_scheme(kit.db, actor=SYSTEM_ACTOR, text=scheme_yaml())
    fill(kit.db)
    month: dict[str, Any] = {"cohort_code": "t-cohort", "period": "2026-02"}
    if kit.name != "sheet.computed":
        assessment.compute_sheet(kit.db, actor=SYSTEM_ACTOR, **month)
    if kit.name == "sheet.correction_started":
        assessment.publish_sheet(kit.db, actor=SYSTEM_ACTOR, **month)
    analyst = kit.actor(Role.analyst)
    run = {"sheet.computed": lambda: assessment.compute_sheet(kit.db, actor=analyst, **month),
           "sheet.recomputed": lambda: assessment.compute_sheet(kit.db, actor=analyst, **month),
           "sheet.published": lambda: assessment.publish_sheet(kit.db, actor=analyst, **month),
           "sheet.correction_started": lambda: assessment.correct_sheet(
               kit.db, actor=analyst, reason="数据更正", **month)}[kit.name]
    revision = 2 if kit.name == "sheet.correction_started" else 1
    return Step(run, analyst, "score_sheet", f"t-cohort/2026-02/r{revision}")


@recipe("import.applied")
def _import_file(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    text = "period,org,metric,value\n2031-01,巴州区,t_metric,2\n"
    return Step(lambda: importers.import_file(kit.db, actor=analyst, source=io.BytesIO(text.encode()),
                                              filename="数据.csv"),
                analyst, "import_batch", lambda report: report.batch_id)


# ---------------------------------------------------------------- reviews


@recipe(*(f"review_case.{action.value}" for action in CaseAction))
def _act_on_case(kit: Kit) -> Step:
    action = CaseAction(kit.name.removeprefix("review_case."))
    case_ = make_case(kit.db, f"recipe-{action.value}")
    sources, _, who = CASE_TRANSITIONS[action]
    for earlier in path_to(CASE_TRANSITIONS, CaseState.received, sources):
        reviews.act(kit.db, actor=SYSTEM_ACTOR, case_=case_, action=earlier, note="说明")
    actor = kit.actor(Role.analyst) if who == "manager" else kit.actor(Role.liaison, "巴州区")
    return Step(lambda: reviews.act(kit.db, actor=actor, case_=case_, action=action, note="说明"),
                actor, "negative_case", case_.id)


@recipe("review_case.citizen_satisfied", "review_case.citizen_unsatisfied")
def _answer_on_tracking_page(kit: Kit) -> Step:
    sent = reviews.submit_review(kit.db, values=rating(comment=kit.name), client="192.0.2.40")
    [case_id] = sent.case_ids
    case_ = reviews.get_case(kit.db, actor=SYSTEM_ACTOR, case_id=case_id)
    for earlier in path_to(CASE_TRANSITIONS, CaseState.received, frozenset({CaseState.replied})):
        reviews.act(kit.db, actor=SYSTEM_ACTOR, case_=case_, action=earlier, note="说明")
    return Step(lambda: reviews.answer_as_rater(
        kit.db, token=sent.tracking_token, satisfied=kit.name.endswith(".citizen_satisfied"),
        client="192.0.2.40"), reviews.CITIZEN, "negative_case", case_id)


HANDLED = "org,case_no,completed_at\n巴州区,H-recipe,2026-03-02 10:00\n"


def _handled_rows(text: str = HANDLED) -> Any:
    return open_table(io.BytesIO(text.encode()), filename="办件.csv",
                      aliases=reviews.HANDLED_ALIASES).rows


@recipe("handled_cases.imported")
def _import_handled(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: reviews.import_handled_cases(kit.db, actor=analyst, rows=_handled_rows(),
                                                     filename="办件.csv"),
                analyst, "handled_case", "办件.csv")


@recipe("handled_counts.recorded")
def _record_handled_counts(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    rows = iter([(2, {"period": "2031-01", "org": "巴州区", "cases_handled": "8"})])
    return Step(lambda: reviews.record_cases_handled(kit.db, actor=analyst, rows=rows,
                                                     filename="办件量.csv"),
                analyst, "handled_count", "import:办件量.csv")


@recipe("reviews.defaulted")
def _default_ratings(kit: Kit) -> Step:
    kit.monkeypatch.setenv("TONGBAN_REVIEW_DEFAULT_RATING_DAYS", "7")
    get_settings.cache_clear()
    reviews.import_handled_cases(kit.db, actor=SYSTEM_ACTOR, rows=_handled_rows(),
                                 filename="办件.csv")
    return Step(lambda: reviews.apply_default_ratings(kit.db, as_of=date(2026, 3, 20)),
                SYSTEM_ACTOR, "review", "2026-03-20")


@recipe("outbox.resent")
def _resend(kit: Kit) -> Step:
    admin = kit.actor(Role.admin)
    message = outbox.enqueue(kit.db, kind="notify.console", summary="测试", payload={
        "recipients": [], "message": {"kind": "info", "title": "测试", "body": ""}})
    assert message is not None
    message.state = "failed"
    kit.db.flush()
    return Step(lambda: system_service.send_outbox_again(kit.db, actor=admin,
                                                         message_id=message.id),
                admin, "outbox_message", message.id)


@recipe("keys.rotated")
def _rotate_keys(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: reviews.rotate_personal_data(kit.db, actor=analyst), analyst, "review",
                "phone_cipher")


@recipe("review.counted", "review.discarded")
def _resolve_held(kit: Kit) -> Step:
    for _ in range(2):
        reviews.submit_review(kit.db, values=rating(comment="重复"), client="203.0.113.200")
    analyst = kit.actor(Role.analyst)
    held = max(r.id for r in reviews.held_reviews(kit.db, actor=analyst,
                                                  params=ListParams(q="重复")).items)
    return Step(lambda: reviews.resolve_held_review(kit.db, actor=analyst, review_id=held,
                                                    count=kit.name == "review.counted"),
                analyst, "review", held)


@recipe("reviews.imported")
def _import_reviews(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: reviews.import_reviews(kit.db, actor=analyst, filename="评价.csv",
                                               source=io.BytesIO((HEADER + row("recipe")).encode())),
                analyst, "review_import", "评价.csv")


@recipe("org.alias_mapped")
def _map_alias(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    org = org_service.resolve_org(kit.db, ref="市交通运输局")
    return Step(lambda: reviews.map_dept_code(kit.db, actor=analyst, code="91350100M000100Y43",
                                              org=org), analyst, "org_alias", lambda done: done.id)


@recipe("org.alias_seen")
def _note_unmapped(kit: Kit) -> Step:
    return Step(lambda: org_service.note_unmapped(
        kit.db, actor=SYSTEM_ACTOR, kind=AliasKind.code, values=["91350100M000100Y43"],
        source="好差评"), SYSTEM_ACTOR, "org_alias", "code")


@recipe("reviews.submitted")
def _submit_batch(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    rows: list[dict[str, Any]] = [{
        "source": "recipe", "source_id": "b1", "channel": "网站", "org": "巴州区",
        "case_no": "B1", "level": "5", "rated_at": "2026-03-04 09:00"}]
    return Step(lambda: reviews.submit_batch(kit.db, actor=analyst, rows=rows), analyst,
                "review_batch", "recipe")


# ---------------------------------------------------------------- rectification


def _task(kit: Kit, *, lines: int = 0) -> RectificationTask:
    kit.monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(kit.tmp_path / "uploads"))
    return rectification.create_task(
        kit.db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="配方任务", org=org_service.resolve_org(kit.db, ref="巴州区"),
        issued_on=date(2026, 11, 2), due_on=date(2026, 11, 30),
        lines=[rectification.LineInput(f"A{n}", "事项", "问题") for n in range(lines)])


@recipe("rectification.issued")
def _issue_task(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    org = org_service.resolve_org(kit.db, ref="巴州区")
    return Step(lambda: rectification.create_task(
        kit.db, actor=analyst, source=TaskSource.city_inspection, category="其他", title="配方任务",
        org=org, issued_on=date(2026, 11, 2), due_workdays=10), analyst, "rectification_task",
        lambda task: task.id)


@recipe(*(f"rectification.{action.value}" for action in TaskAction))
def _move_task(kit: Kit) -> Step:
    action = TaskAction(kit.name.removeprefix("rectification."))
    task = _task(kit)
    sources, _, who = TRANSITIONS[action]
    for earlier in path_to(TRANSITIONS, TaskState.issued, sources):
        rectification.transition(kit.db, actor=SYSTEM_ACTOR, task=task, action=earlier,
                                 note="说明", evidence="整改说明")
    actor = kit.actor(Role.analyst) if who == "manager" else kit.actor(Role.liaison, "巴州区")
    return Step(lambda: rectification.transition(kit.db, actor=actor, task=task, action=action,
                                                 note="说明", evidence="整改说明"),
                actor, "rectification_task", task.id)


@recipe("rectification.line_resolved", "rectification.line_reopened")
def _resolve_line(kit: Kit) -> Step:
    task = _task(kit, lines=1)
    rectification.transition(kit.db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    line = task.lines[0]
    reopen = kit.name == "rectification.line_reopened"
    if reopen:
        rectification.resolve_line(kit.db, actor=SYSTEM_ACTOR, task=task, line_id=line.id)
    actor = kit.actor(Role.analyst) if reopen else kit.actor(Role.liaison, "巴州区")
    return Step(lambda: rectification.resolve_line(kit.db, actor=actor, task=task, line_id=line.id,
                                                   resolution="已改", reopen=reopen),
                actor, "rectification_line", line.id)


@recipe("rectification.attachment_added")
def _attach(kit: Kit) -> Step:
    task = _task(kit)
    liaison = kit.actor(Role.liaison, "巴州区")
    return Step(lambda: rectification.add_attachment(kit.db, actor=liaison, task=task,
                                                     filename="证明.png", content=picture()),
                liaison, "rectification_task", task.id)


def _feedback(kit: Kit, actor: Actor, text: str) -> rectification.FeedbackImport:
    return rectification.import_feedback(kit.db, actor=actor, source=io.BytesIO(text.encode()),
                                         filename="反馈.csv", issued_on=date(2026, 2, 5))


@recipe("rectification.imported")
def _import_feedback(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: _feedback(kit, analyst, FEEDBACK), analyst, "rectification_import",
                "反馈.csv")


@recipe("rectification.lines_added")
def _add_lines(kit: Kit) -> Step:
    first = _feedback(kit, SYSTEM_ACTOR, FEEDBACK)
    [task_id] = [i for i in first.task_ids
                 if rectification.get_task(kit.db, actor=SYSTEM_ACTOR, task_id=i).org.name == "巴州区"]
    analyst = kit.actor(Role.analyst)
    more = FEEDBACK + "512B0110100009,另一事项,另一问题,巴州区,10\n"
    return Step(lambda: _feedback(kit, analyst, more), analyst, "rectification_task", task_id)


# ---------------------------------------------------------------- org


@recipe("user.created")
def _create_user(kit: Kit) -> Step:
    admin = kit.actor(Role.admin)
    return Step(lambda: org_service.create_user(kit.db, actor=admin, username="recipe-user",
                                                password=PASSWORD, role=Role.analyst),
                admin, "user", "recipe-user")


@recipe("user.updated")
def _update_user(kit: Kit) -> Step:
    admin, user = kit.actor(Role.admin), make_user(kit.db, role=Role.analyst)
    return Step(lambda: org_service.update_user(kit.db, actor=admin, user=user, display_name="新名"),
                admin, "user", user.username)


@recipe("user.password_changed")
def _change_password(kit: Kit) -> Step:
    user = make_user(kit.db, role=Role.liaison, org="巴州区")
    actor = org_service.actor_for(user)
    return Step(lambda: org_service.change_own_password(kit.db, actor=actor, old=PASSWORD,
                                                        new="N3w-passw0rd!"),
                actor, "user", user.username)


@recipe("token.created")
def _create_token(kit: Kit) -> Step:
    liaison = kit.actor(Role.liaison, "巴州区")
    return Step(lambda: org_service.create_api_token(kit.db, actor=liaison, name="配方"), liaison,
                "api_token", lambda made: made[0].id)


@recipe("token.revoked")
def _revoke_token(kit: Kit) -> Step:
    liaison = kit.actor(Role.liaison, "巴州区")
    token, _ = org_service.create_api_token(kit.db, actor=liaison, name="配方")
    return Step(lambda: org_service.revoke_api_token(kit.db, actor=liaison, token_id=token.id),
                liaison, "api_token", token.id)


@recipe("org.created")
def _create_org(kit: Kit) -> Step:
    analyst, city = kit.actor(Role.analyst), org_service.resolve_org(kit.db, ref="巴中")
    return Step(lambda: org_service.create_org(kit.db, actor=analyst, name="市配方局",
                                               level=OrgLevel.department, parent=city),
                analyst, "org", lambda org: org.code)


@recipe("cohort.created")
def _create_cohort(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    members = [org_service.resolve_org(kit.db, ref=m) for m in MEMBERS]
    return Step(lambda: org_service.create_cohort(kit.db, actor=analyst, code="recipe",
                                                  name="配方分组", members=members),
                analyst, "cohort", "recipe")


@recipe("cohort.members_changed")
def _change_members(kit: Kit) -> Step:
    make_cohort(kit.db, code="recipe", members=MEMBERS)
    analyst = kit.actor(Role.analyst)
    cohort = org_service.get_cohort(kit.db, actor=analyst, code="recipe")
    fewer = [org_service.resolve_org(kit.db, ref=m) for m in MEMBERS[:2]]
    return Step(lambda: org_service.set_cohort_members(kit.db, actor=analyst, cohort=cohort,
                                                       members=fewer, reason="调整"),
                analyst, "cohort", "recipe")


@recipe("reference.divisions_loaded")
def _load_divisions(kit: Kit) -> Step:
    renamed = org_service.resolve_org(kit.db, ref="511700")  # a tree loaded before a renaming
    renamed.name = "达县地区"
    kit.db.flush()
    return Step(lambda: org_service.load_reference_divisions(kit.db), SYSTEM_ACTOR, "org",
                org_service.region().province_code)


# ---------------------------------------------------------------- calendar, catalog, reports


@recipe("calendar.override_set")
def _set_override(kit: Kit) -> Step:
    admin = kit.actor(Role.admin)
    return Step(lambda: workdays.set_override(kit.db, actor=admin, day=date(2031, 1, 2),
                                              kind=DayKind.holiday, note="配方"),
                admin, "workday_override", "2031-01-02")


@recipe("calendar.override_deleted")
def _delete_override(kit: Kit) -> Step:
    admin = kit.actor(Role.admin)
    workdays.set_override(kit.db, actor=admin, day=date(2031, 1, 2), kind=DayKind.holiday)
    return Step(lambda: workdays.delete_override(kit.db, actor=admin, day=date(2031, 1, 2),
                                                 reason="撤销"),
                admin, "workday_override", "2031-01-02")


@recipe("calendar.imported")
def _import_calendar(kit: Kit) -> Step:
    admin = kit.actor(Role.admin)
    text = "date,kind\n2031-01-02,holiday\n"
    return Step(lambda: workdays.import_overrides(kit.db, actor=admin, filename="2031.csv",
                                                  source=io.BytesIO(text.encode())),
                admin, "workday_import", "2031.csv")


@recipe("report.generated")
def _generate_report(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    request = reports.ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")
    return Step(lambda: reports.generate(kit.db, actor=analyst, request=request), analyst,
                "report", lambda made: made[0].id)


@recipe("catalog.imported")
def _import_catalog(kit: Kit) -> Step:
    analyst, city = kit.actor(Role.analyst), org_service.resolve_org(kit.db, ref="巴中市")
    text = ("department,main_item,name,areaCode,itemCode,taskType,deptCode,link\n"
            "区民政局,,新设事项,511602000000,511B0001-511602000000-000-1-1-00,行政确认,1,\n")
    return Step(lambda: catalog.import_items(kit.db, actor=analyst, org=city, filename="清单.csv",
                                             source=io.BytesIO(text.encode())),
                analyst, "service_item", f"{city.code}:清单.csv")


def _benchmark_pair(kit: Kit) -> tuple[Actor, AlignmentMember]:
    """巴中 and 广元 with one item each whose names are close enough for review, aligned."""
    analyst = kit.actor(Role.analyst)
    head = "实施编码,事项名称,实施部门,事项类型\n"
    for ref, line in (("巴中", "R1-511900000000-1,建设工程消防设计审查,市住建局,1"),
                     ("广元", ",建设工程消防设计技术审查服务,局,1")):
        benchmark.import_catalog(kit.db, actor=analyst, city=benchmark.resolve_city(kit.db, ref=ref),
                                 source=io.BytesIO(f"{head}{line}\n".encode()), filename="c.csv",
                                 as_of=date(2031, 1, 2))
    benchmark.align(kit.db, actor=analyst)
    member = kit.db.scalars(select(AlignmentMember).where(
        AlignmentMember.item_key == "name:建设工程消防设计技术审查服务")).one()
    return analyst, member


@recipe("benchmark.imported")
def _import_benchmark(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    city = benchmark.resolve_city(kit.db, ref="广元")
    text = "事项名称,承诺办结时限\n配方事项,5\n"
    return Step(lambda: benchmark.import_catalog(kit.db, actor=analyst, city=city,
                                                 source=io.BytesIO(text.encode()),
                                                 filename="广元.csv", as_of=date(2031, 1, 2)),
                analyst, "benchmark_snapshot", lambda done: done.snapshot.id)


@recipe("benchmark.aligned")
def _align_benchmark(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    text = "事项名称\n配方里新的事项\n"
    benchmark.import_catalog(kit.db, actor=analyst, city=benchmark.resolve_city(kit.db, ref="广元"),
                             source=io.BytesIO(text.encode()), filename="c.csv",
                             as_of=date(2031, 1, 2))
    return Step(lambda: benchmark.align(kit.db, actor=analyst), analyst, "benchmark_group", "all")


@recipe(*(f"benchmark.member_{a.value}" for a in ReviewAction))
def _review_benchmark(kit: Kit) -> Step:
    analyst, member = _benchmark_pair(kit)
    action = ReviewAction(kit.name.removeprefix("benchmark.member_"))
    target = None
    if action is ReviewAction.move:
        target = kit.db.scalars(select(AlignmentGroup).where(
            AlignmentGroup.key.startswith("code:"), AlignmentGroup.id != member.group_id)
            .order_by(AlignmentGroup.id)).first()
    if target is not None:
        city_members = [m for m in target.members if m.org_id == member.org_id]
        for m in city_members:
            kit.db.delete(m)
        kit.db.flush()
        kit.db.expire(target)
    return Step(lambda: benchmark.review_member(kit.db, actor=analyst, member=member,
                                                action=action, target=target),
                analyst, "benchmark_group", lambda done: done.group_id)


@recipe("benchmark.suggested")
def _suggest_benchmark(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    home = benchmark.resolve_city(kit.db, ref="巴中")
    kit.db.execute(delete(Suggestion).where(Suggestion.org_id == home.id))
    return Step(lambda: benchmark.suggest(kit.db, actor=analyst, city=home), analyst,
                "benchmark_suggestion", home.code)


@recipe("benchmark.list_imported")
def _import_implementation_list(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    home = benchmark.resolve_city(kit.db, ref="巴中")
    text = "事项,材料名称,是否必需\nL1-511900000000-1,申请表,是\n"
    return Step(lambda: benchmark.import_implementation_list(
        kit.db, actor=analyst, city=home, source=io.BytesIO(text.encode()), filename="清单.csv"),
        analyst, "benchmark_list_material", home.code)


@recipe("benchmark.guide_tasks_opened")
def _open_guide_tasks(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    home = benchmark.resolve_city(kit.db, ref="巴中")
    text = "实施编码,事项名称,实施部门,法定办结时限,承诺办结时限\nP1-511900000000-1,配方指南,市交通运输局,5,9\n"
    done = benchmark.import_catalog(kit.db, actor=analyst, city=home, filename="c.csv",
                                    source=io.BytesIO(text.encode()), as_of=date(2031, 1, 2))
    return Step(lambda: guides.open_guide_tasks(
        kit.db, actor=analyst, check=guides.check_guides(kit.db, actor=analyst, city=home)),
        analyst, "benchmark_snapshot", done.snapshot.id)


@recipe("user.contact_changed")
def _change_contact(kit: Kit) -> Step:
    user = make_user(kit.db, role=Role.leader)
    actor = org_service.actor_for(user)
    return Step(lambda: org_service.set_own_contact(
        kit.db, actor=actor, contact=org_service.Contact(phone="13800001234", daily_digest=True)),
        actor, "user", user.username)


@recipe("supervision.urge", "supervision.instruction")
def _supervise(kit: Kit) -> Step:
    kind = SupervisionKind(kit.name.removeprefix("supervision."))
    case_ = make_case(kit.db, f"recipe-{kind.value}")
    leader = kit.actor(Role.leader)
    return Step(lambda: supervision.supervise(
        kit.db, actor=leader, kind=kind, text="请按期办结",
        targets=reviews.supervision_targets(kit.db, actor=leader, case_ids=[case_.id])),
        leader, "negative_case", case_.id)


# ---------------------------------------------------------------- errands (跑团代办)


@recipe("errand_runner.registered")
def _register_runner(kit: Kit) -> Step:
    user = make_user(kit.db, role=Role.runner, org="巴州区")
    team = org_service.resolve_org(kit.db, ref="巴州区")
    return Step(lambda: errand.register_runner(kit.db, actor=SYSTEM_ACTOR, user=user, team=team),
                SYSTEM_ACTOR, "errand_runner", lambda runner: runner.id)


@recipe("errand_runner.on_duty", "errand_runner.off_duty")
def _set_duty(kit: Kit) -> Step:
    runner = make_runner(kit.db, on_duty=kit.name.endswith("off_duty"))
    actor = org_service.actor_for(runner.user)
    return Step(lambda: errand.set_duty(kit.db, actor=actor, runner=runner,
                                        on_duty=kit.name.endswith("on_duty")),
                actor, "errand_runner", runner.id)


@recipe("errand.submitted")
def _submit_errand(kit: Kit) -> Step:
    item, _ = errand_world(kit.db)
    request = errand.Request(item_id=item.id, contact_name="张三", phone="13800001234",
                             lat=31.868, lng=106.748)
    return Step(lambda: errand.submit(kit.db, actor=SYSTEM_ACTOR, request=request),
                SYSTEM_ACTOR, "errand", lambda done: done.errand.id)


@recipe("errand.grab")
def _grab(kit: Kit) -> Step:
    item, _ = errand_world(kit.db)
    runner, open_ = make_runner(kit.db), make_errand(kit.db, item=item)
    actor = org_service.actor_for(runner.user)
    return Step(lambda: errand.grab(kit.db, actor=actor, errand_id=open_.id, runner_id=runner.id),
                actor, "errand", open_.id)


def _benchmark_suggestions(kit: Kit) -> list[Suggestion]:
    """巴中 with one item that 广元 does in fewer steps, suggested (市交通运输局)."""
    analyst = kit.actor(Role.analyst)
    head = "实施编码,事项名称,实施部门,事项类型,承诺办结时限,办理环节数\n"
    for ref, line in (("巴中", "S1-511900000000-1,配方对标事项,市交通运输局,1,10,4"),
                      ("广元", "S1-510800000000-1,配方对标事项,市交通运输局,1,5,2")):
        benchmark.import_catalog(kit.db, actor=analyst, city=benchmark.resolve_city(kit.db, ref=ref),
                                 source=io.BytesIO(f"{head}{line}\n".encode()), filename="c.csv",
                                 as_of=date(2031, 1, 2))
    benchmark.align(kit.db, actor=analyst)
    home = benchmark.resolve_city(kit.db, ref="巴中")
    benchmark.suggest(kit.db, actor=analyst, city=home)
    return list(kit.db.scalars(select(Suggestion).where(
        Suggestion.org_id == home.id, Suggestion.item_name == "配方对标事项")
        .order_by(Suggestion.id)))


@recipe(*(f"benchmark.suggestion_{a.value}" for a in SuggestionAction))
def _answer_suggestion(kit: Kit) -> Step:
    action = SuggestionAction(kit.name.removeprefix("benchmark.suggestion_"))
    suggestion = _benchmark_suggestions(kit)[0]
    sources, _, _ = benchmark_enums.TRANSITIONS[action]
    for earlier in path_to(benchmark_enums.TRANSITIONS, SuggestionState.pending, sources):
        benchmark.answer(kit.db, actor=SYSTEM_ACTOR, suggestion=suggestion, action=earlier,
                         planned_on=date(2031, 3, 1), reason="说明")
    liaison = kit.actor(Role.liaison, "市交通运输局")
    return Step(lambda: benchmark.answer(kit.db, actor=liaison, suggestion=suggestion,
                                         action=action, planned_on=date(2031, 3, 1),
                                         reason="理由"),
                liaison, "benchmark_suggestion", suggestion.id)


@recipe("benchmark.suggestion_closed")
def _close_suggestion(kit: Kit) -> Step:
    suggestion = _benchmark_suggestions(kit)[0]
    snapshot = kit.db.scalar(select(func.max(CatalogSnapshot.id)))
    return Step(lambda: benchmark._close_met(kit.db, actor=SYSTEM_ACTOR, suggestion=suggestion,
                                             snapshot_id=snapshot),
                SYSTEM_ACTOR, "benchmark_suggestion", suggestion.id)


@recipe(*(f"errand.{a.value}" for a in ErrandAction
          if a not in (ErrandAction.grab, ErrandAction.hand_to_channel)))
def _move_errand(kit: Kit) -> Step:
    action = ErrandAction(kit.name.removeprefix("errand."))
    item, _ = errand_world(kit.db)
    runner = make_runner(kit.db)
    runner_actor = org_service.actor_for(runner.user)
    case_ = make_errand(kit.db, item=item)
    if action is ErrandAction.publish:
        case_.state = ErrandState.submitted.value
    sources, _, who = ERRAND_TRANSITIONS[action]
    start = ErrandState(case_.state)
    actors = {"runner": runner_actor, "staff": SYSTEM_ACTOR, "requester": errand.REQUESTER}
    for earlier in path_to(ERRAND_TRANSITIONS, start, sources):
        if earlier is ErrandAction.grab:
            errand.grab(kit.db, actor=runner_actor, errand_id=case_.id, runner_id=runner.id)
        else:
            errand.transition(kit.db, actor=actors[ERRAND_TRANSITIONS[earlier][2]], errand=case_,
                              action=earlier, offer_to=runner)
    actor = actors[who]
    return Step(lambda: errand.transition(kit.db, actor=actor, errand=case_, action=action,
                                          reason="原因", rating=5, offer_to=runner),
                actor, "errand", case_.id)


@recipe("errand.hand_to_channel")
def _hand_to_channel(kit: Kit) -> Step:
    from tongban.errand import channels

    item, _ = errand_world(kit.db)
    case_ = make_errand(kit.db, item=item)
    return Step(lambda: channels.hand_to_channel(kit.db, actor=SYSTEM_ACTOR, errand=case_,
                                                 code="simulated"),
                SYSTEM_ACTOR, "errand", case_.id)


@recipe("errand.photo_added")
def _add_photo(kit: Kit) -> Step:
    from tongban.errand import evidence

    kit.monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(kit.tmp_path))
    get_settings.cache_clear()
    item, _ = errand_world(kit.db)
    runner = make_runner(kit.db)
    actor = org_service.actor_for(runner.user)
    case_ = make_errand(kit.db, item=item)
    errand.grab(kit.db, actor=actor, errand_id=case_.id, runner_id=runner.id)
    errand.transition(kit.db, actor=actor, errand=case_, action=ErrandAction.pick_up)
    return Step(lambda: evidence.add_photo(kit.db, actor=actor, errand=case_,
                                           handover_id=case_.handovers[0].id,
                                           content=picture("JPEG")),
                actor, "errand", case_.id)


@recipe("errand.authorised")
def _sign_authorisation(kit: Kit) -> Step:
    import base64

    from tongban.errand import evidence

    kit.monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(kit.tmp_path))
    get_settings.cache_clear()
    item, _ = errand_world(kit.db)
    done = errand.submit_public(kit.db, client="198.51.100.3", request=errand.Request(
        item_id=item.id, contact_name="张三", phone="13800001234", lat=31.868, lng=106.748))
    png = picture("PNG", (10, 10))
    return Step(lambda: evidence.sign_authorisation(
        kit.db, token=str(done.tracking_token),
        signature=evidence.SIGNATURE_PREFIX + base64.b64encode(png).decode()),
        errand.REQUESTER, "errand", done.errand.id)


@recipe("errand_runner.suspended", "errand_runner.reinstated")
def _suspend_runner(kit: Kit) -> Step:
    from tongban.errand import runners

    errand_world(kit.db)
    runner = make_runner(kit.db)
    analyst = kit.actor(Role.analyst)
    if kit.name.endswith("reinstated"):
        runners.suspend(kit.db, actor=analyst, runner=runner, reason="配方")
        return Step(lambda: runners.reinstate(kit.db, actor=analyst, runner=runner,
                                              reason="恢复"), analyst, "errand_runner", runner.id)
    return Step(lambda: runners.suspend(kit.db, actor=analyst, runner=runner, reason="配方"),
                analyst, "errand_runner", runner.id)


@recipe("errand_item.withdrawn", "errand_item.restored")
def _set_item_active(kit: Kit) -> Step:
    from tongban.errand import items

    plain, _ = errand_world(kit.db)
    restore = kit.name.endswith("restored")
    plain.is_active = not restore
    analyst = kit.actor(Role.analyst)
    return Step(lambda: items.set_active(kit.db, actor=analyst, item_id=plain.id, active=restore),
                analyst, "errand_item", plain.id)


@recipe("errand_item.batch_published")
def _publish_batch(kit: Kit) -> Step:
    from datetime import date

    from tongban.errand import items

    errand_world(kit.db)
    analyst = kit.actor(Role.analyst)
    from tongban.catalog.models import ServiceItem

    code = kit.db.scalar(select(ServiceItem.impl_code).limit(1))
    return Step(lambda: items.publish_batch(kit.db, actor=analyst, published_on=date(2026, 10, 8),
                                            rows=[(1, {"item_code": code})]),
                analyst, "errand_item", lambda done: f"batch:{done.batch}")


@recipe("errand_post_office.imported")
def _import_post_offices(kit: Kit) -> Step:
    from tongban.errand import postal

    errand_world(kit.db)
    analyst = kit.actor(Role.analyst)
    text = "网点编码,网点名称,区县,升级状态,升级日期\nYZ1,巴州邮政营业所,511902,已升级,2026-03-01\n"
    return Step(lambda: postal.import_post_offices(kit.db, actor=analyst, filename="网点.csv",
                                                   source=io.BytesIO(text.encode())),
                analyst, "errand_post_office", "网点.csv")


@recipe("errand.keys_rotated")
def _rotate_errand_keys(kit: Kit) -> Step:
    item, _ = errand_world(kit.db)
    make_errand(kit.db, item=item)
    return Step(lambda: errand.rotate_personal_data(kit.db, actor=SYSTEM_ACTOR), SYSTEM_ACTOR,
                "errand", "phone_cipher")


def _offered(kit: Kit) -> tuple[Any, Any]:
    """An errand offered to a runner (the runner, the errand)."""
    item, _ = errand_world(kit.db)
    runner, case_ = make_runner(kit.db), make_errand(kit.db, item=item)
    errand.transition(kit.db, actor=SYSTEM_ACTOR, errand=case_, action=ErrandAction.offer,
                      offer_to=runner)
    return runner, case_


@recipe("errand.offer_expired")
def _expire_offer(kit: Kit) -> Step:
    _, case_ = _offered(kit)
    case_.offered_at = case_.offered_at - timedelta(hours=1)
    return Step(lambda: errand.expire_offers(kit.db, actor=SYSTEM_ACTOR), SYSTEM_ACTOR, "errand",
                case_.id)


@recipe("errand.offer_released")
def _release_offer(kit: Kit) -> Step:
    runner, case_ = _offered(kit)
    actor = org_service.actor_for(runner.user)
    return Step(lambda: errand.set_duty(kit.db, actor=actor, runner=runner, on_duty=False),
                actor, "errand", case_.id)


@recipe("errand.offer_withdrawn")
def _withdraw_offer(kit: Kit) -> Step:
    _, case_ = _offered(kit)
    second = make_runner(kit.db)
    return Step(lambda: errand.assign(kit.db, actor=SYSTEM_ACTOR, errand=case_, runner=second,
                                      reason="改派"), SYSTEM_ACTOR, "errand", case_.id)


@recipe("errand.pooled")
def _pool_errand(kit: Kit) -> Step:
    item, _ = errand_world(kit.db)
    case_ = make_errand(kit.db, item=item)
    case_.dispatch_cycles = get_settings().errand_pool_after_cycles - 1
    return Step(lambda: dispatcher.note_unassigned(kit.db, errands=[case_],
                                                   mode=ZoneMode.dispatch,
                                                   now=case_.submitted_at),
                errand.DISPATCHER, "errand", case_.id)


@recipe("errand.zone_mode")
def _set_zone_mode(kit: Kit) -> Step:
    errand_world(kit.db)
    zone = org_service.resolve_org(kit.db, ref="巴州区")
    analyst = kit.actor(Role.analyst)
    return Step(lambda: errand.set_zone_mode(kit.db, actor=analyst, zone_org_id=zone.id,
                                             mode=ZoneMode.grab), analyst, "org", zone.id)


@recipe("errand.documents_returned")
def _return_documents(kit: Kit) -> Step:
    item, _ = errand_world(kit.db)
    runner = make_runner(kit.db)
    actor = org_service.actor_for(runner.user)
    case_ = make_errand(kit.db, item=item)
    errand.grab(kit.db, actor=actor, errand_id=case_.id, runner_id=runner.id)
    errand.transition(kit.db, actor=actor, errand=case_, action=ErrandAction.pick_up)
    return Step(lambda: errand.return_documents(kit.db, actor=actor, errand=case_),
                actor, "errand", case_.id)


# ---------------------------------------------------------------- 数据开放共享


_DATA_CATALOG = ("数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
                 "R-DS-1,食品经营许可信息,市市场监督管理局,月,有条件,开放,否\n")
_DATA_FIELDS = "数据集编码,字段名,类型,必填,格式,主键\nR-DS-1,许可证号,文本,是,,是\n"


def _data_catalog(kit: Kit) -> None:
    datasharing.import_catalog(kit.db, actor=SYSTEM_ACTOR,
                               catalog=io.BytesIO(_DATA_CATALOG.encode()),
                               fields=io.BytesIO(_DATA_FIELDS.encode()),
                               catalog_name="目录.csv", fields_name="字段.csv")


@recipe("data.catalog_imported")
def _import_data_catalog(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: datasharing.import_catalog(
        kit.db, actor=analyst, catalog=io.BytesIO(_DATA_CATALOG.encode()),
        fields=io.BytesIO(_DATA_FIELDS.encode()), catalog_name="目录.csv",
        fields_name="字段.csv"), analyst, "data_dataset", "目录.csv")


@recipe("data.dataset_saved")
def _save_dataset(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    return Step(lambda: datasharing.save_dataset(
        kit.db, actor=analyst, fields=[FieldSpec("编号", FieldType.text, True)],
        given=datasharing.DatasetInput(
            code="R-DS-2", name="某数据", department="市民政局", frequency=Frequency.month,
            share_type=ShareType.unconditional, open_type=OpenType.open,
            pull_url="https://data.example/a.csv")), analyst, "data_dataset", "R-DS-2")


@recipe("data.delivered")
def _deliver_data(kit: Kit) -> Step:
    _data_catalog(kit)
    department = org_service.resolve_org(kit.db, ref="市市场监督管理局")
    liaison = kit.actor(Role.liaison, org=department.code)
    return Step(lambda: datasharing.deliver(
        kit.db, actor=liaison, dataset_code="R-DS-1", filename="交付.csv",
        source=io.BytesIO("许可证号\nSP-1\n".encode())), liaison, "data_delivery",
        lambda done: done.delivery.id)


@recipe("data.use_imported")
def _import_data_use(kit: Kit) -> Step:
    _data_catalog(kit)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: datasharing.import_use(
        kit.db, actor=analyst, filename="调用日志.csv",
        source=io.BytesIO("数据集编码,期间,调用次数,下载次数\nR-DS-1,2026-10,120,8\n".encode())),
        analyst, "data_dataset", "调用日志.csv")


# ---------------------------------------------------------------- 专项台账

_LEDGER_ITEMS = "事项编码,事项名称,类别,完成时限\nR-001,某法定事权,法定,2026-11-30\n"


def _ledger(kit: Kit) -> Any:
    ledger.load_shipped_types(kit.db)
    ledger.import_items(kit.db, actor=SYSTEM_ACTOR, type_code="township-powers",
                        filename="事项.csv", source=io.BytesIO(_LEDGER_ITEMS.encode()))
    return org_service.resolve_org(kit.db, ref="巴州区/东城街道")


@recipe("ledger.type_loaded")
def _load_ledger_type(kit: Kit) -> Step:
    analyst = kit.actor(Role.analyst)
    text = ledger.shipped_texts()["featured-zones.yaml"]
    return Step(lambda: ledger.load_type(kit.db, actor=analyst, text=text), analyst,
                "ledger_type", "featured-zones@2026.1")


@recipe("ledger.items_imported")
def _import_ledger_items(kit: Kit) -> Step:
    ledger.load_shipped_types(kit.db)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: ledger.import_items(
        kit.db, actor=analyst, type_code="township-powers", filename="事项.csv",
        source=io.BytesIO(_LEDGER_ITEMS.encode())), analyst, "ledger_item",
        "township-powers/事项.csv")


@recipe("ledger.entries_imported")
def _import_ledger_entries(kit: Kit) -> Step:
    _ledger(kit)
    liaison = kit.actor(Role.liaison, org="511902")
    return Step(lambda: ledger.import_entries(
        kit.db, actor=liaison, type_code="township-powers", filename="台账.csv",
        source=io.BytesIO("单位,事项编码,状态\n巴州区/东城街道,R-001,已承接\n".encode())),
        liaison, "ledger_entry", "township-powers/台账.csv")


@recipe("ledger.figures_imported")
def _import_ledger_figures(kit: Kit) -> Step:
    _ledger(kit)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: ledger.import_figures(
        kit.db, actor=analyst, type_code="township-powers", kind=FigureKind.cases,
        period="2026-11", filename="办件.csv",
        source=io.BytesIO("单位,事项编码,办件量\n巴州区/东城街道,R-001,3\n".encode())),
        analyst, "ledger_figure", "township-powers/2026-11/办件.csv")


@recipe("ledger.entry_updated")
def _update_ledger_entry(kit: Kit) -> Step:
    town = _ledger(kit)
    liaison = kit.actor(Role.liaison, org="511902")
    return Step(lambda: ledger.update_entry(
        kit.db, actor=liaison, type_code="township-powers", org=town, item_code="R-001",
        given=ledger.EntryInput(status="taken")), liaison, "ledger_entry",
        lambda view: view.entry.id)


@recipe("ledger.attachment_added")
def _add_ledger_evidence(kit: Kit) -> Step:
    town = _ledger(kit)
    kit.monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(kit.tmp_path))
    get_settings.cache_clear()
    liaison = kit.actor(Role.liaison, org="511902")
    return Step(lambda: ledger.add_attachment(
        kit.db, actor=liaison, type_code="township-powers", org=town, item_code="R-001",
        filename="证明.png", content=picture()), liaison, "ledger_entry",
        lambda made: made.entry_id)


@recipe("ledger.rectification_opened")
def _ledger_rectification(kit: Kit) -> Step:
    town = _ledger(kit)
    kit.monkeypatch.setattr(ledger_entries, "local_today", lambda: date(2026, 12, 10))
    analyst = kit.actor(Role.analyst)

    def run() -> Any:
        ledger.open_rectification(kit.db, actor=analyst, type_code="township-powers", org=town,
                                  item_code="R-001")
        return ledger.entry_view(kit.db, actor=analyst, type_code="township-powers", org=town,
                                 item_code="R-001")
    return Step(run, analyst, "ledger_entry", lambda view: view.entry.id)


@recipe("ledger.lists_imported")
def _import_ledger_lists(kit: Kit) -> Step:
    _ledger(kit)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: ledger.import_lists(
        kit.db, actor=analyst, type_code="township-powers", filename="清单.csv",
        source=io.BytesIO("单位,权责清单\n巴州区/东城街道,是\n".encode())),
        analyst, "ledger_type", "township-powers/清单.csv")


@recipe("ledger.exams_imported")
def _import_ledger_exams(kit: Kit) -> Step:
    _ledger(kit)
    analyst = kit.actor(Role.analyst)
    return Step(lambda: ledger.import_exams(
        kit.db, actor=analyst, type_code="township-powers", filename="考试.csv",
        source=io.BytesIO("单位,姓名,考试日期,考试结果\n巴州区/东城街道,甲,2026-10-15,合格\n".encode())),
        analyst, "ledger_type", "township-powers/考试.csv")


@recipe("ledger.reminded")
def _remind_laggards(kit: Kit) -> Step:
    ledger.load_shipped_types(kit.db)
    ledger.import_items(kit.db, actor=SYSTEM_ACTOR, type_code="internet-supervision",
                        filename="指标.csv", source=io.BytesIO(
                            "事项编码,事项名称,类别,牵头部门,目标值\n"
                            "R-SV-1,事项认领率,政务和大数据局,市发展和改革委员会,100\n".encode()))
    lead = kit.actor(Role.liaison, org=org_service.resolve_org(kit.db, ref="市发展和改革委员会").code)
    return Step(lambda: ledger.remind_laggards(kit.db, actor=lead, code="R-SV-1",
                                               period="2026-11"), lead, "ledger_item", "R-SV-1")


# ---------------------------------------------------------------- the tests


def _import_every_module() -> None:
    """Import every module of the package, so that every action is registered."""
    for module in pkgutil.walk_packages(tongban.__path__, "tongban."):
        if module.name.startswith("tongban.migrations") or module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)


def test_every_audit_entry_has_a_recipe() -> None:
    _import_every_module()
    assert set(RECIPES) == set(audit.actions())


def test_every_audit_entry_has_a_chinese_name() -> None:
    _import_every_module()
    for name in audit.actions():
        assert re.search(r"[\u4e00-\u9fff]", audit.label_of(name)), name
    assert audit.label_of("review_case.callback") == "回访"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_action_writes_its_audit_entry(db: Session, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path, name: str) -> None:
    step = RECIPES[name](Kit(db, name, monkeypatch, tmp_path))
    before = db.scalar(select(func.max(AuditEntry.id))) or 0
    result = step.run()
    expected = step.object_id(result) if callable(step.object_id) else step.object_id
    written = db.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.object_type,
                                AuditEntry.object_id).where(AuditEntry.id > before)).all()
    assert (name, step.actor.username, step.object_type, str(expected)) in [tuple(w) for w in written]
