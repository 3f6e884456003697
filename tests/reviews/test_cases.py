"""差评 cases: every transition and illegal one, appeals, reopening once, metrics, scoping."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from importlib import resources

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, located, make_cohort, scheme_yaml
from tests.reviews.test_intake import HEADER, row
from tongban.assessment import service as assessment
from tongban.assessment.metrics import figure
from tongban.cli import app as cli
from tongban.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_zone
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org
from tongban.reviews import service
from tongban.reviews.enums import CaseAction, CaseState
from tongban.reviews.models import NegativeCase, Review


def make_case(db: Session, sid: str = "1", **kwargs: str) -> NegativeCase:
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO(
        (HEADER + row(sid, level="1", case=f"K{sid}", **kwargs)).encode()))
    return db.scalars(select(NegativeCase).join(Review).where(
        Review.source == "t", Review.source_id == sid)).one()


def walk(db: Session, case_: NegativeCase, *actions: CaseAction) -> None:
    for action in actions:
        service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=action, note="说明")


def test_the_whole_workflow_closes_on_a_satisfied_follow_up(db: Session) -> None:
    case_ = make_case(db)
    liaison = actor_of(db, role=Role.liaison, org="巴州区")
    for action in (CaseAction.callback, CaseAction.verify, CaseAction.rectify, CaseAction.reply,
                   CaseAction.satisfied):
        service.act(db, actor=liaison, case_=case_, action=action, note="已处理")
    assert case_.state == CaseState.closed and case_.follow_up == "satisfied"


def test_unsatisfied_reopens_once_then_closes(db: Session) -> None:
    case_ = make_case(db)
    walk(db, case_, CaseAction.callback, CaseAction.verify, CaseAction.rectify, CaseAction.reply,
         CaseAction.unsatisfied)
    assert case_.state == CaseState.rectifying and case_.reopen_count == 1
    walk(db, case_, CaseAction.reply, CaseAction.unsatisfied)
    assert case_.state == CaseState.closed and case_.follow_up == "unsatisfied"


def test_an_upheld_appeal_voids_the_review_but_keeps_it(db: Session) -> None:
    case_ = make_case(db)
    walk(db, case_, CaseAction.callback, CaseAction.appeal)
    assert case_.state == CaseState.appealed
    liaison = actor_of(db, role=Role.liaison, org="巴州区")
    with pytest.raises(PermissionDenied):
        service.act(db, actor=liaison, case_=case_, action=CaseAction.uphold, note="恶意差评")
    walk(db, case_, CaseAction.uphold)
    assert case_.review.voided and case_.state == CaseState.closed
    metrics = service.metrics(db, actor=SYSTEM_ACTOR, org=case_.org, period="2026-02")
    assert metrics["appeals_upheld"] == 1
    assert db.get(Review, case_.review_id) is not None


def test_a_rejected_appeal_goes_back_to_rectification(db: Session) -> None:
    case_ = make_case(db)
    walk(db, case_, CaseAction.callback, CaseAction.appeal, CaseAction.reject_appeal)
    assert case_.state == CaseState.rectifying and case_.appeal_upheld is False


@pytest.mark.parametrize(("steps", "illegal"), [
    ((), CaseAction.reply), ((), CaseAction.verify), ((CaseAction.callback,), CaseAction.callback),
    ((CaseAction.callback,), CaseAction.uphold), ((CaseAction.callback, CaseAction.verify),
                                                  CaseAction.appeal),
])
def test_illegal_transitions_are_refused(db: Session, steps: tuple[CaseAction, ...],
                                         illegal: CaseAction) -> None:
    case_ = make_case(db)
    walk(db, case_, *steps)
    with pytest.raises(Conflict, match="当前为"):
        service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=illegal, note="x")


def test_callback_and_reply_need_a_note(db: Session) -> None:
    case_ = make_case(db)
    with pytest.raises(DomainError, match="须填写说明"):
        service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.callback)


def test_overdue_flags_follow_the_deadlines(db: Session) -> None:
    case_ = make_case(db, rated="2026-02-13 10:00:00")
    assert case_.callback_due == date(2026, 2, 14)
    assert not service.is_overdue(case_, as_of=date(2026, 2, 14))
    assert service.is_callback_overdue(case_, as_of=date(2026, 2, 15))


def test_liaisons_see_only_their_orgs_cases_and_the_full_phone(db: Session) -> None:
    case_ = make_case(db, named="是", phone="13812345678")
    own = actor_of(db, role=Role.liaison, org="巴州区")
    other = actor_of(db, role=Role.liaison, org="恩阳区")
    assert service.phone_for(db, actor=own, case_=case_) == "13812345678"
    assert service.phone_for(db, actor=SYSTEM_ACTOR, case_=case_) == "138****5678"
    with pytest.raises(NotFound):
        service.get_case(db, actor=other, case_id=case_.id)
    assert case_.id not in [c.id for c in service.visible_cases(db, actor=other)]


def test_metrics_carry_numerators_and_denominators(db: Session) -> None:
    text = HEADER + row("1", case="A1", level="5") + row("2", case="A2", level="4") + row(
        "3", case="A3", level="3") + row("4", case="A4", level="2", named="是", phone="13800000000")
    service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                           filename="r.csv")
    org = org_service.resolve_org(db, ref="巴州区")
    m = service.metrics(db, actor=SYSTEM_ACTOR, org=org, period="2026-02",
                        as_of=date(2026, 3, 31))
    assert m["reviews"] == 4
    assert m["by_level"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert m["good_rate"] == {"value": 0.5, "numerator": 2, "denominator": 4}
    assert m["bad_rate"] == {"value": 0.25, "numerator": 1, "denominator": 4}
    assert m["satisfaction"]["value"] == round((14 / 4 - 1) / 4, 4)
    assert m["score"] == {"value": 6.75, "numerator": 27, "denominator": 4}  # 10+8+6+3
    assert m["named_callback_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    # 2月3日的差评 is due 3月2日 (15 working days, the Spring Festival between): it counts in
    # March, the month its deadline falls (到期应整改), not in February
    assert m["ontime_rectification_rate"] == {"value": None, "numerator": 0, "denominator": 0}
    march = service.metrics(db, actor=SYSTEM_ACTOR, org=org, period="2026-03",
                            as_of=date(2026, 3, 31))
    assert march["ontime_rectification_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    assert set(m) >= {"good_rate", "bad_rate", "satisfaction", "review_rate",
                      "ontime_rectification_rate", "named_callback_rate", "by_level"}


def test_callbacks_and_replies_count_when_made_by_their_due_day(db: Session) -> None:
    now = datetime.now(local_zone()).replace(microsecond=0)
    rated = (now - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO((
        HEADER + row("n1", case="N1", level="1", named="是", rated=rated)
        + row("n2", case="N2", level="2", named="是", rated=rated)
        + row("n3", case="N3", level="1", named="是", rated="2026-02-03 10:00:00")).encode()))
    on_time, _, late = (db.scalars(select(NegativeCase).join(Review).where(
        Review.source == "t", Review.source_id == sid)).one() for sid in ("n1", "n2", "n3"))
    org = org_service.resolve_org(db, ref="巴州区")

    def rates(case_: NegativeCase) -> list[tuple[float, float]]:
        """Its callback and its reply rate, each in the month its deadline falls."""
        found = []
        for key, due in (("named_callback_rate", case_.callback_due),
                         ("ontime_rectification_rate", case_.rectify_due)):
            m = service.metrics(db, actor=SYSTEM_ACTOR, org=org, period=f"{due:%Y-%m}",
                                as_of=now.date())
            found.append((m[key]["numerator"], m[key]["denominator"]))
        return found

    this_month, earlier = rates(on_time), rates(late)
    steps = (CaseAction.callback, CaseAction.verify, CaseAction.rectify, CaseAction.reply)
    walk(db, on_time, *steps)
    walk(db, late, *steps)
    # n1, not due yet, now counts as done in time (n2 still is not due)
    assert rates(on_time) == [(n + 1, d + 1) for n, d in this_month]
    # n3 was due in February and March and counted: done months late, it still is not in time
    assert rates(late) == earlier and all(d >= 1 for _, d in earlier)


def _cases_of_a_new_zone(db: Session) -> tuple[Org, str, date]:
    """A zone with no other reviews, four 差评 received now and one replied to in time; the
    month and a day when all four are due."""
    zone = org_service.create_org(db, actor=SYSTEM_ACTOR, name="按期整改新区", level=OrgLevel.county,
                                  parent=org_service.resolve_org(db, ref="巴中"))
    now = datetime.now(local_zone()).replace(microsecond=0) - timedelta(minutes=1)
    rated = now.strftime("%Y-%m-%d %H:%M:%S")
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO((HEADER + "".join(
        row(f"z{n}", org=zone.name, case=f"Z{n}", level="1", rated=rated) for n in range(4))).encode()))
    replied = db.scalars(select(NegativeCase).join(Review).where(
        Review.source == "t", Review.source_id == "z0")).one()
    walk(db, replied, CaseAction.callback, CaseAction.verify, CaseAction.rectify, CaseAction.reply)
    return zone, f"{replied.rectify_due:%Y-%m}", now.date() + timedelta(days=60)


def test_ontime_rectification_is_cases_replied_in_time_over_cases_due(db: Session) -> None:
    zone, period, all_due = _cases_of_a_new_zone(db)
    m = service.metrics(db, actor=SYSTEM_ACTOR, org=zone, period=period, as_of=all_due)
    assert m["ontime_rectification_rate"] == {"value": 0.25, "numerator": 1, "denominator": 4}


def test_the_sheet_scores_ontime_rectification_as_replied_in_time_over_due(db: Session) -> None:
    zone, period, all_due = _cases_of_a_new_zone(db)
    service.record_metrics(db, period=period, as_of=all_due)
    scheme = yaml.safe_load(resources.files("tongban.data").joinpath(
        "schemes/bz-hcp-2026.2.yaml").read_text(encoding="utf-8"))
    [rule] = [i["rule"] for c in scheme["categories"] for i in c["indicators"] if i["code"] == "E04"]
    make_cohort(db, code="t-hcp", members=[zone.code])
    assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
        code="t-hcp", cohort="t-hcp", effective_from=period, indicators=(
            f"\n      - {{code: E04, name: 差评按期整改率, max_points: 10, rule: {json.dumps(rule)}}}\n")))
    assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-hcp", period=period)
    [line] = assessment.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-hcp", period=period).rows
    assert (line.values["ontime_rectified"], line.values["bad_cases_due"]) == (1, 4)
    assert line.points("E04") == 2.5  # 10 points × 1 replied in time / 4 差评
    rate = figure(line.values, "ontime_rectification_rate")
    assert (rate.value, rate.numerator, rate.denominator) == (0.25, 1, 4)
    assert rate.text() == "25.0%（1/4）"


def test_review_rate_divides_by_the_cases_handled_even_without_reviews(db: Session) -> None:
    service.record_cases_handled(db, actor=SYSTEM_ACTOR, filename="办件量.csv", rows=iter([
        (2, {"period": "2026-02", "org": "巴州区", "cases_handled": "8"}),
        (3, {"period": "2026-02", "org": "恩阳区", "cases_handled": "500"})]))
    text = HEADER + row("1", case="A1", level="5") + row("2", case="A2", level="4")
    service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                           filename="r.csv")
    bazhou, enyang = (org_service.resolve_org(db, ref=name) for name in ("巴州区", "恩阳区"))
    rated = service.metrics(db, actor=SYSTEM_ACTOR, org=bazhou, period="2026-02")
    assert rated["review_rate"] == {"value": 0.25, "numerator": 2, "denominator": 8.0}
    unrated = service.metrics(db, actor=SYSTEM_ACTOR, org=enyang, period="2026-02")
    assert unrated["reviews"] == 0
    assert unrated["review_rate"] == {"value": 0.0, "numerator": 0, "denominator": 500.0}


def test_cli_metrics_and_cases_json(db: Session) -> None:
    make_case(db)
    runner = CliRunner()
    metrics = runner.invoke(cli, ["reviews", "metrics", "--org", "巴州区", "--period", "2026-02",
                                  "--json"])
    assert metrics.exit_code == 0, metrics.output
    payload = json.loads(metrics.stdout)
    assert set(payload["good_rate"]) == {"value", "numerator", "denominator"}
    cases = runner.invoke(cli, ["reviews", "cases", "--org", "巴州区", "--state", "received",
                                "--json"])
    listed = json.loads(cases.stdout)
    rows = listed["items"]
    assert set(listed) == {"items", "total", "page", "page_size"}
    assert {"id", "review_source_id", "state", "callback_due", "rectify_due",
            "overdue"} == set(rows[0])
    assert all(r["state"] == "received" for r in rows)


def test_pages_of_cases_follow_the_inbox_order_to_the_last_closed_one(db: Session) -> None:
    closed = make_case(db, "pg1")
    walk(db, closed, CaseAction.callback, CaseAction.verify, CaseAction.rectify, CaseAction.reply,
         CaseAction.satisfied)
    make_case(db, "pg2")
    everything = service.visible_cases(db, actor=SYSTEM_ACTOR)
    assert {c.state for c in everything} >= {CaseState.closed, CaseState.received}
    first = service.list_cases(db, actor=SYSTEM_ACTOR, params=ListParams(page_size=7))
    assert first.total == len(everything) and first.pages == -(-len(everything) // 7)
    paged = [c.id for n in range(1, first.pages + 1)
             for c in service.list_cases(db, actor=SYSTEM_ACTOR,
                                         params=ListParams(page=n, page_size=7)).items]
    assert paged == [c.id for c in everything]
    beyond = service.list_cases(db, actor=SYSTEM_ACTOR,
                                params=ListParams(page=first.pages + 5, page_size=7))
    assert beyond.page == first.pages and beyond.items
    only_closed = service.list_cases(db, actor=SYSTEM_ACTOR, state=CaseState.closed,
                                     params=ListParams(page_size=500))
    assert [c.id for c in only_closed.items] == [
        c.id for c in everything if c.state == CaseState.closed]


def test_reviews_keep_their_handled_counts_and_write_them_to_the_assessment_once(
        db: Session) -> None:
    service.record_cases_handled(db, actor=SYSTEM_ACTOR, filename="办件量.csv", rows=iter([
        (2, {"period": "2026-02", "org": "巴州区", "cases_handled": "40"})]))
    bazhou = org_service.resolve_org(db, ref="巴州区")
    scored = assessment.metric_values(db, period="2026-02", org_ids=[bazhou.id],
                                      metrics=["cases_handled"])
    assert scored[bazhou.id]["cases_handled"] == 40.0  # written with the month's metrics
    # a number the assessment holds from elsewhere is not read back as the reviews' own
    assessment.record_metric_values(db, actor=SYSTEM_ACTOR, source="other", values=[
        assessment.MetricInput("2026-02", bazhou.id, "cases_handled", 999.0)])
    rated = service.metrics(db, actor=SYSTEM_ACTOR, org=bazhou, period="2026-02")
    assert rated["review_rate"]["denominator"] == 40.0
    service.record_metrics(db, period="2026-02", as_of=date(2026, 3, 31))
    again = assessment.metric_values(db, period="2026-02", org_ids=[bazhou.id],
                                     metrics=["cases_handled"])
    assert again[bazhou.id]["cases_handled"] == 40.0


@pytest.mark.parametrize(("cells", "column", "reason"), [
    ({"period": "2026-13", "org": "巴州区", "cases_handled": "4"}, "period", "YYYY-MM"),
    ({"period": "2026-02", "org": "不存在的区", "cases_handled": "4"}, "org", "不存在的区"),
    ({"period": "2026-02", "org": "巴州区", "cases_handled": "-1"}, "cases_handled", "不小于0的整数"),
    ({"period": "2026-02", "org": "巴州区", "cases_handled": "2.5"}, "cases_handled", "整数"),
])
def test_a_bad_handled_count_row_refuses_the_whole_file(db: Session, cells: dict[str, str],
                                                        column: str, reason: str) -> None:
    good = {"period": "2026-02", "org": "恩阳区", "cases_handled": "7"}
    enyang = org_service.resolve_org(db, ref="恩阳区")
    before = service.metrics(db, actor=SYSTEM_ACTOR, org=enyang, period="2026-02")
    assert before["review_rate"]["denominator"] != 7
    with pytest.raises(ValidationFailed) as refused:
        service.record_cases_handled(db, actor=SYSTEM_ACTOR, filename="办件量.csv",
                                     rows=iter([(2, good), (3, cells)]))
    [(row, col, message)] = located(refused.value)
    assert (row, col) == (3, column) and reason in message
    assert service.metrics(db, actor=SYSTEM_ACTOR, org=enyang, period="2026-02") == before


def test_the_reply_box_starts_empty_and_offers_templates_to_pick_and_edit(db: Session) -> None:
    """A made-up answer must never reach the citizen: the 整改反馈 box is empty and required;
    the templates are choices, and a reply that is only a template is refused."""
    from tests.factories import logged_in_client, make_user

    case_ = make_case(db, sid="tpl", tags="材料繁琐")
    walk(db, case_, CaseAction.callback, CaseAction.verify, CaseAction.rectify)
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    page = client.get(f"/reviews/cases/{case_.id}").text
    assert 'data-testid="note-reply"></textarea>' in page  # empty
    assert "required" in page.split('id="note-reply"')[1].split(">")[0]
    templates = page.split('data-testid="reply-templates"')[1].split("</select>")[0]
    assert "精简材料" in templates and templates.index("材料繁琐") < templates.index("其他")
    verbatim = service.reply_template(case_)
    with pytest.raises(DomainError, match="不能只是模板原文"):
        service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply, note=verbatim)
    service.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply,
                note=verbatim + "本事项的户口本复印件已改为免提交。")
    assert case_.state == CaseState.replied
