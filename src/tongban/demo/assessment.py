"""Demo assessment data: the province's scheme and four months of its sheets telling 巴中's
story, and the city's own 100-point scheme computed from metric values for its 45 orgs.

- 2026-01: 巴中 ranks 1st in the province.
- 2026-02: −2.6 for 13 abnormal service guides not rectified on time; 巴中 falls to 15th while
  the leader is only 2.19 points ahead (without the deduction it would have stayed 1st).
- 2026-03 / 2026-04: the provincial platform changed its cascade standard; 数据共享级联 loses 2
  and then 1.8 points and is the lowest in the province.

Province sheets go through the real importer (a long CSV), so the demo exercises that path.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from importlib import resources

from sqlalchemy.orm import Session

from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.assessment.scheme import SchemeDef
from tongban.assessment.service import MetricInput
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service
from tongban.reviews import service as review_service

PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04"]
PUBLISHED = PERIODS[:-1]
PROVINCE_COHORT = "sichuan-cities"
CITY_COHORTS = ["bz-counties", "bz-dept-a", "bz-dept-b"]
SCHEME_FILES = ["sc-ywtb-2026.1.yaml", "sc-ywtb-2026.2.yaml", "bz-hcp-2026.2.yaml",
                "bz-hcp-2027.2.yaml"]
CITY = "511900"
LEADER_FEB = "510100"  # 成都市
DATA_SHARING = "E01"
GUIDE_DEDUCTION = "13个异常办事指南未按期整改，扣2.6分"
WEAK_DEPARTMENT = "市统计局"


@dataclass
class AssessmentDemoSummary:
    schemes_loaded: int = 0
    province_rows: int = 0
    metric_values_changed: int = 0
    sheets_computed: int = 0
    sheets_published: int = 0


def _scheme_text(name: str) -> str:
    return resources.files("tongban.data").joinpath("schemes").joinpath(name).read_text("utf-8")


def _spread_loss(rng: random.Random, maxima: dict[str, float], total_loss: float,
                 fixed: dict[str, float]) -> dict[str, float]:
    """Points lost per indicator, summing to ``total_loss`` (2 decimals), never below 0 points."""
    losses = dict(fixed)
    remaining = round(total_loss - sum(fixed.values()), 2)
    free = [code for code in maxima if code not in fixed]
    chosen = rng.sample(free, k=min(len(free), 45))
    capacity = {code: round(maxima[code] * 0.8, 2) for code in chosen}
    weights = {code: rng.random() ** 2 + 0.05 for code in chosen}
    while remaining > 0.004:
        open_codes = [c for c in chosen if capacity[c] - losses.get(c, 0.0) > 0.004]
        scale = sum(weights[c] for c in open_codes)
        step = remaining
        for code in open_codes:
            share = round(step * weights[code] / scale, 2)
            room = round(capacity[code] - losses.get(code, 0.0), 2)
            take = min(share, room, remaining)
            if take > 0:
                losses[code] = round(losses.get(code, 0.0) + take, 2)
                remaining = round(remaining - take, 2)
        if open_codes and all(round(step * weights[c] / scale, 2) == 0 for c in open_codes):
            code = max(open_codes, key=lambda c: capacity[c] - losses.get(c, 0.0))
            losses[code] = round(losses.get(code, 0.0) + 0.01, 2)
            remaining = round(remaining - 0.01, 2)
    return losses


def _province_targets(rng: random.Random, cities: list[str]) -> dict[str, dict[str, float]]:
    """Indicator totals (before adjustments) per period per city code, shaped by the story."""
    targets: dict[str, dict[str, float]] = {}
    others = [c for c in cities if c != CITY]
    jan = {c: round(rng.uniform(90.5, 96.4), 2) for c in others}
    jan[CITY] = 96.80
    targets["2026-01"] = jan
    leader_total = 95.90
    city_before = round(leader_total - 2.19 + 2.6, 2)  # 96.31 → 93.71 after the deduction
    city_after = round(city_before - 2.6, 2)
    feb: dict[str, float] = {LEADER_FEB: leader_total, CITY: city_before}
    rest = [c for c in others if c != LEADER_FEB]
    rng.shuffle(rest)
    for code in rest[:13]:
        feb[code] = round(rng.uniform(city_after + 0.02, leader_total - 0.02), 2)
    for code in rest[13:]:
        feb[code] = round(rng.uniform(90.0, city_after - 0.1), 2)
    targets["2026-02"] = feb
    targets["2026-03"] = {c: round(rng.uniform(90.5, 96.6), 2) for c in others} | {CITY: 94.60}
    targets["2026-04"] = {c: round(rng.uniform(90.5, 96.6), 2) for c in others} | {CITY: 95.20}
    return targets


def province_sheet_csv(definition: SchemeDef, cities: list[str], seed: int = 2026) -> str:
    """The four months of provincial sheets as one long CSV (period,org,indicator,points,note)."""
    rng = random.Random(seed)
    maxima = {i.code: i.max_points for _, i in definition.indicators()}
    targets = _province_targets(rng, cities)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "org", "indicator", "points", "note"])
    for period in PERIODS:
        for city in cities:
            fixed: dict[str, float] = {}
            if city == CITY and period == "2026-03":
                fixed[DATA_SHARING] = 2.0
            elif city == CITY and period == "2026-04":
                fixed[DATA_SHARING] = 1.8
            else:
                fixed[DATA_SHARING] = round(rng.choice([0, 0, 0, 0.1, 0.2, 0.3, 0.5]), 2)
            loss = round(100 - targets[period][city], 2)
            losses = _spread_loss(rng, maxima, loss, fixed)
            for code, maximum in maxima.items():
                points = round(maximum - losses.get(code, 0.0), 2)
                writer.writerow([period, city, code, f"{points:.2f}", ""])
        if period == "2026-02":
            writer.writerow([period, CITY, "扣分", "2.6", GUIDE_DEDUCTION])
        if period == "2026-03":
            writer.writerow([period, "510100", "加分", "0.5", "改革创新案例获国务院办公厅通报表扬"])
            writer.writerow([period, "511700", "扣分", "0.4", "政务服务平台数据共享接口中断超过24小时"])
    return out.getvalue()


def _review_figures(reviews: int, good: int, bad: int, cases: int, due: int, named_due: int,
                    q: float) -> dict[str, float]:
    """A month's 好差评 figures of one org, whole and consistent as the reviews feeder writes
    them (levels adding up to the reviews, each rate's parts, the satisfaction index)."""
    levels = {5: round(good * 0.8), 4: good - round(good * 0.8), 3: reviews - good - bad,
              2: bad // 2, 1: bad - bad // 2}
    mean = sum(level * n for level, n in levels.items()) / reviews if reviews else 0.0
    ontime = due if q > 0.9 else max(0, due - 1)
    figures: dict[str, float] = {
        "cases_handled": cases, "reviews": reviews, "good_reviews": good, "bad_reviews": bad,
        "bad_cases_due": due, "ontime_rectified": ontime, "named_bad_due": named_due,
        "named_called_back": named_due if q > 0.88 else max(0, named_due - 1),
        "appeals_upheld": 0, "default_ratings": 0,
        **{f"level_{level}": n for level, n in levels.items()}}
    if reviews:
        figures["satisfaction_index"] = round((mean - 1) / 4, 4)
    return figures


def _city_metrics(rng: random.Random, org_ids: dict[int, str], weak_id: int,
                  b_class: set[int]) -> list[MetricInput]:
    rows: list[MetricInput] = []
    quality = {oid: rng.uniform(0.8, 0.99) for oid in org_ids}
    for period in PERIODS:
        for oid in org_ids:
            q = quality[oid] + rng.uniform(-0.03, 0.02)
            if oid == weak_id and period in ("2026-03", "2026-04"):
                q = 0.55
            q = min(q, 1.0)
            small = oid in b_class
            should_claim = rng.randint(10, 40) if small else rng.randint(120, 420)
            not_needed = rng.randint(0, 3)
            claimed = min(should_claim - not_needed, round(should_claim * q))
            list_items = should_claim
            cases = rng.randint(20, 200) if small else rng.randint(800, 20000)
            reviews = round(cases * min(0.98, q * rng.uniform(0.75, 0.95)))
            bad = max(0, round(reviews * rng.uniform(0.0, 0.004) * (1.6 - q)))
            good = round(reviews * min(0.999, 0.9 + q * 0.095)) - bad
            due = max(0, bad + rng.randint(-1, 1))  # 差评 whose deadline fell this month
            named_due = round(due * 0.6)
            values = {
                "should_claim": should_claim, "claimed": claimed, "not_needed": not_needed,
                "list_items": list_items, "accurate_items": round(list_items * q),
                "unrectified_guides": 0 if q > 0.85 else rng.randint(1, 6),
                "should_collect": 100, "collected": round(100 * min(1.0, q + 0.03)),
                "should_share": 80, "shared": round(80 * q),
                "hotline_satisfaction": round(min(0.99, 0.8 + q * 0.18), 4),
                "supervision_score": round(50 + q * 48, 1),
                **_review_figures(reviews, good, bad, cases, due, named_due, q),
            }
            if not small:
                values["should_open"] = 20
                values["opened"] = round(20 * q)
            rows += [MetricInput(period, oid, metric, float(v)) for metric, v in values.items()]
    return rows


def load_assessment_demo(db: Session) -> AssessmentDemoSummary:
    """Add what is missing of the assessment demo; running it again changes nothing."""
    summary = AssessmentDemoSummary()
    for name in SCHEME_FILES:
        _, created = assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=_scheme_text(name),
                                            filename=name)
        summary.schemes_loaded += int(created)
    province = assessment.get_cohort(db, code=PROVINCE_COHORT)
    scheme = assessment.scheme_for(db, cohort=province, period=PERIODS[0])
    cities = [o.code for o in org_service.cohort_orgs(province)]
    text = province_sheet_csv(assessment.scheme_definition(scheme), cities)
    report = importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                                   filename="四川省一网通办考核通报-2026年1-4月.csv",
                                   cohort_code=PROVINCE_COHORT)
    summary.province_rows = report.rows
    city_orgs: dict[int, str] = {}
    b_class: set[int] = set()
    for code in CITY_COHORTS:
        for org in org_service.cohort_orgs(assessment.get_cohort(db, code=code)):
            city_orgs[org.id] = org.code
            if code == "bz-dept-b":
                b_class.add(org.id)
    weak = org_service.resolve_org(db, ref=WEAK_DEPARTMENT)
    values = _city_metrics(random.Random(45), city_orgs, weak.id, b_class)
    summary.metric_values_changed = assessment.record_metric_values(
        db, actor=SYSTEM_ACTOR, values=values, source="demo")
    # the counts reviews keep, so that the review metrics of these months find them
    review_service.set_cases_handled(db, actor=SYSTEM_ACTOR, source="demo", counts={
        (v.period, v.org_id): int(v.value) for v in values if v.metric == "cases_handled"})
    for cohort_code in [PROVINCE_COHORT, *CITY_COHORTS]:
        cohort = assessment.get_cohort(db, code=cohort_code)
        for period in PERIODS:
            if assessment.current_sheet(db, cohort=cohort, period=period) is not None:
                continue
            assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort_code,
                                     period=period)
            summary.sheets_computed += 1
            if period in PUBLISHED:
                assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort_code,
                                         period=period)
                summary.sheets_published += 1
    return summary
