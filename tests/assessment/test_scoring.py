"""Score sheets: ranking with ties, grades, exclusion, publication, corrections, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, make_cohort, scheme_yaml
from tongban.assessment import service
from tongban.assessment.enums import Grade, SheetStatus
from tongban.assessment.ranking import competition_rank
from tongban.assessment.service import MetricInput
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service

MEMBERS = ["巴中", "达州", "南充", "广安"]


def test_rank_ties_share_the_higher_place() -> None:
    ranks = competition_rank({"a": 95.0, "b": 93.5, "c": 93.5, "d": 90.0})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_ties_are_compared_at_the_schemes_decimals() -> None:
    assert competition_rank({"a": 93.504, "b": 93.496}, decimals=2) == {"a": 1, "b": 1}
    assert competition_rank({"a": 93.504, "b": 93.496}, decimals=3) == {"a": 1, "b": 2}


@pytest.fixture
def cohort(db: Session) -> str:
    make_cohort(db, code="t-cohort", members=MEMBERS)
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml())
    return "t-cohort"


def record(db: Session, period: str, org: str, **metrics: float) -> None:
    org_id = org_service.resolve_org(db, ref=org).id
    service.record_metric_values(
        db, actor=SYSTEM_ACTOR, source="test",
        values=[MetricInput(period, org_id, name, value) for name, value in metrics.items()])


def fill(db: Session, period: str = "2026-02") -> None:
    record(db, period, "巴中", claimed=90, not_needed=10, should_claim=100, bad_guides=0)
    record(db, period, "达州", claimed=80, not_needed=10, should_claim=100, bad_guides=1)
    record(db, period, "南充", claimed=85, not_needed=5, should_claim=100, bad_guides=1)
    record(db, period, "广安", claimed=50, not_needed=0, should_claim=100, bad_guides=4)


def test_sheet_scores_ranks_and_grades_the_cohort(db: Session, cohort: str) -> None:
    fill(db)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    table = {(ln.org.short_name, ln.total, ln.rank, ln.grade) for ln in sheet.lines}
    assert table == {("巴中", 10.0, 1, Grade.good), ("达州", 8.9, 2, Grade.fair),
                     ("南充", 8.9, 2, Grade.fair), ("广安", 5.0, 4, Grade.poor)}


def test_every_point_is_explained(db: Session, cohort: str) -> None:
    fill(db)
    service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    explained = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                    period="2026-02", org_ref="广安")
    x1, x2 = explained["indicators"]
    assert x1["inputs"] == {"claimed": 50, "not_needed": 0, "should_claim": 100}
    assert x1["points"] == 3 and x1["lost"] == 3 and "50.00%" in x1["note"]
    assert x2["points"] == 2 and "扣 2 分" in x2["note"]


def test_lines_stored_whole_before_the_compact_form_read_the_same(db: Session, cohort: str) -> None:
    fill(db)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    before = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02",
                                 org_ref="广安")
    line = next(ln for ln in sheet.lines if ln.org.short_name == "广安")
    assert isinstance(line.items["X1"], float) and "_inputs" in line.items
    definition = service.scheme_definition(sheet.scheme)
    line.items = {i.code: service.line_item(line, i).as_dict()  # type: ignore[union-attr]
                  for _, i in definition.indicators()}
    db.flush()
    after = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02",
                                org_ref="广安")
    assert "_inputs" not in line.items and after == before


def test_a_rank_based_item_on_a_stored_line_is_explained_by_its_rank_and_cohort_size(
        db: Session) -> None:
    make_cohort(db, code="t-cohort", members=MEMBERS)
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(total=10, indicators="""
      - {code: R1, name: 认领名次, max_points: 10,
         rule: {type: rank_based, metric: claimed, min_points: 4}}
"""))
    fill(db)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-cohort",
                                  period="2026-02")
    explained = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code="t-cohort",
                                    period="2026-02", org_ref="南充")
    [r1] = explained["indicators"]
    # 南充 claimed 85: behind 巴中 (90), ahead of 达州 (80) and 广安 (50); 10 − 1 × (10 − 4) / 3
    assert r1["inputs"] == {"claimed": 85, "rank": 2, "of": 4} and r1["points"] == 8
    assert "排第 2 名" in r1["note"]
    line = next(ln for ln in sheet.lines if ln.org.short_name == "南充")
    assert line.items["R1"] == [8, 2, 4]  # compact: points, rank, of
    definition = service.scheme_definition(sheet.scheme)
    line.items = {i.code: service.line_item(line, i).as_dict()  # type: ignore[union-attr]
                  for _, i in definition.indicators()}
    db.flush()
    assert service.explanation(db, actor=SYSTEM_ACTOR, cohort_code="t-cohort",
                               period="2026-02", org_ref="南充") == explained


def test_adjustments_count_and_are_listed_with_their_reason(db: Session, cohort: str) -> None:
    fill(db)
    bazhong = org_service.resolve_org(db, ref="巴中")
    adjustment, _ = service.record_adjustment(
        db, actor=SYSTEM_ACTOR, period="2026-02", org=bazhong, points=-2.6,
        reason="13个异常办事指南未按期整改", source_url="https://example.invalid/task/1")
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    line = next(ln for ln in sheet.lines if ln.org_id == bazhong.id)
    assert line.total == 7.4 and line.rank == 4 - 1
    assert line.adjustments[0]["id"] == adjustment.id
    assert line.adjustments[0]["reason"] == "13个异常办事指南未按期整改"


def test_a_voided_adjustment_no_longer_counts(db: Session, cohort: str) -> None:
    fill(db)
    bazhong = org_service.resolve_org(db, ref="巴中")
    adjustment, _ = service.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-02",
                                              org=bazhong, points=-1, reason="误扣")
    service.void_adjustment(db, actor=SYSTEM_ACTOR, adjustment_id=adjustment.id,
                            reason="复核撤销")
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    assert sheet.lines[0].total == 10


def test_adjustment_keys_make_feeders_idempotent(db: Session, cohort: str) -> None:
    bazhong = org_service.resolve_org(db, ref="巴中")
    first, created = service.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-02",
                                               org=bazhong, points=-2.6, reason="r", key="k1")
    again, created_again = service.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-02",
                                                     org=bazhong, points=-2.6, reason="r",
                                                     key="k1")
    assert created and not created_again and first.id == again.id


def test_excluded_indicators_rescale_the_total(db: Session) -> None:
    make_cohort(db, code="t-ex", members=MEMBERS[:2])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(code="t-ex", cohort="t-ex",
                        indicators="""
      - {code: X1, name: a, max_points: 6, rule: {type: ratio, numerator: a, denominator: b}}
      - {code: X2, name: b, max_points: 4, missing: exclude,
         rule: {type: ratio, numerator: c, denominator: d}}
"""))
    record(db, "2026-02", "巴中", a=1, b=2)
    record(db, "2026-02", "达州", a=1, b=2, c=1, d=1)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-ex", period="2026-02")
    totals = {ln.org.short_name: ln.total for ln in sheet.lines}
    assert totals == {"巴中": 5.0, "达州": 7.0}  # 3 of 6 rescaled to 10; 3 + 4


def test_a_required_metric_missing_stops_scoring_with_the_reason(db: Session) -> None:
    make_cohort(db, code="t-err", members=MEMBERS[:2])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(code="t-err", cohort="t-err",
                        indicators="""
      - {code: X1, name: a, max_points: 10, missing: error,
         rule: {type: threshold, metric: m, target: 1}}
"""))
    record(db, "2026-02", "巴中", m=1)
    with pytest.raises(ValidationFailed) as excinfo:
        service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-err", period="2026-02")
    assert "达州市 X1：缺少数据项 m" in str(excinfo.value)


def test_drafts_recompute_and_published_sheets_are_frozen(db: Session, cohort: str) -> None:
    fill(db)
    service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    record(db, "2026-02", "广安", claimed=100)
    draft = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    assert draft.revision == 1 and any(ln.total == 8.0 for ln in draft.lines)
    published = service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                      period="2026-02")
    assert published.status == SheetStatus.published and len(published.content_hash) == 64
    record(db, "2026-02", "广安", bad_guides=0)
    with pytest.raises(Conflict) as excinfo:
        service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    assert "已发布" in excinfo.value.message
    current = service.require_sheet(db, cohort_code=cohort, period="2026-02")
    assert current.id == published.id
    assert service.sheet_hash(current) == published.content_hash


def test_a_correction_is_a_new_revision_with_a_reason(db: Session, cohort: str) -> None:
    fill(db)
    service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    first = service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    record(db, "2026-02", "广安", bad_guides=0)
    with pytest.raises(Exception, match="原因"):
        service.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02",
                              reason=" ")
    draft = service.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02",
                                  reason="广安异常指南已在期限内整改，省里更正")
    assert draft.revision == 2
    assert service.require_sheet(db, cohort_code=cohort, period="2026-02").id == first.id
    second = service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    db.refresh(first)
    assert first.status == SheetStatus.superseded and second.status == SheetStatus.published
    assert service.require_sheet(db, cohort_code=cohort, period="2026-02").id == second.id
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id.like(f"{cohort}/2026-02/%")).order_by(AuditEntry.id)).all()
    assert actions == ["sheet.computed", "sheet.published", "sheet.correction_started",
                       "sheet.published"]


def test_liaisons_cannot_compute_and_see_only_their_own_line(db: Session, cohort: str) -> None:
    fill(db)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period="2026-02")
    liaison = actor_of(db, role=Role.liaison, org="达州")
    with pytest.raises(PermissionDenied):
        service.compute_sheet(db, actor=liaison, cohort_code=cohort, period="2026-02")
    assert [ln.org.short_name for ln in service.visible_lines(db, actor=liaison, sheet=sheet)] \
        == ["达州"]


def test_grades_by_score_thresholds(db: Session) -> None:
    make_cohort(db, code="t-g", members=MEMBERS[:3])
    service.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
        code="t-g", cohort="t-g", grading="{good_min: 9, poor_below: 6}"))
    record(db, "2026-02", "巴中", claimed=95, not_needed=0, should_claim=100, bad_guides=0)
    record(db, "2026-02", "达州", claimed=70, not_needed=0, should_claim=100, bad_guides=1)
    record(db, "2026-02", "南充", claimed=30, not_needed=0, should_claim=100, bad_guides=2)
    sheet = service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="t-g", period="2026-02")
    assert [ln.grade for ln in sheet.lines] == [Grade.good, Grade.fair, Grade.poor]
