"""周通报: the week before ``as_of`` — rectification, 差评 cases, points at risk, alerts, rank."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy.orm import Session

from tongban.assessment import analysis
from tongban.assessment import service as assessment
from tongban.catalog import service as catalog
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import NotFound
from tongban.core.numbers import plain
from tongban.core.periods import Week, period_label
from tongban.core.security import Actor
from tongban.core.workdays import local_date
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskState
from tongban.reports import sources
from tongban.reports.document import Cell, CellKind, Column, Document, Section, Span, Table
from tongban.reports.enums import ReportKind
from tongban.reports.monthly import scope_word
from tongban.reports.narrative import day, day_range, moment, rank_move
from tongban.reviews import service as reviews
from tongban.reviews.enums import CaseState

ALERTS_PER_COHORT = 8


def _home_city(db: Session) -> Org | None:
    try:
        return org_service.resolve_org(db, ref=get_settings().city_code)
    except NotFound:
        return None


def _in_city(city: Org | None, path: str) -> bool:
    """Whether the org at ``path`` in the org tree lies in the city (always, without one)."""
    return city is None or path.startswith(city.path)


def build(db: Session, *, actor: Actor, as_of: date) -> Document:
    org_service.require_citywide(actor, "生成周通报")
    week = Week(as_of)
    city = _home_city(db)
    settings = get_settings()
    doc = Document(kind=ReportKind.weekly.value,
                   title=f"{city.name if city else ''}政务服务能力提升工作周通报",
                   subtitle=f"（{week.label}：{day_range(week.start, week.end)}）",
                   issuer=settings.report_issuer, date_line=day(as_of), issued_on=as_of, scope="",
                   period_key=week.key, file_stem=f"weekly-{week.key}",
                   as_of=f"整改任务、差评工单和评价数截至{moment(utcnow())}，"
                         "随本通报归档，此后的变动不改本通报")
    overview = doc.section("总体情况")
    task_counts = _rectification(db, actor, doc.section("整改督办"), week, city)
    risk_total = _risk(db, actor, doc.section("风险分值"), week, city)
    case_counts = _reviews(db, actor, doc.section("好差评"), week, city)
    _alerts(db, actor, doc.section("考核预警"), city)
    _overview(db, actor, overview, week, city, task_counts, case_counts, risk_total)
    return doc


def _overview(db: Session, actor: Actor, section: Section, week: Week, city: Org | None,
              tasks: dict[str, int], cases: dict[str, int], risk_total: float) -> None:
    section.say(
        f"本周（{day_range(week.start, week.end)}），新下发整改任务",
        Span(f"{tasks['opened']}项", sources.tasks()), "，销号", Span(f"{tasks['closed']}项",
                                                                    sources.tasks()),
        "；截至", day(week.as_of), "，未销号", Span(f"{tasks['open']}项", sources.tasks()),
        "，其中逾期", Span(f"{tasks['overdue']}项", sources.tasks()), "。",
        "本周收到评价", Span(f"{cases['reviews']}条", sources.review_dashboard()), "，其中差评",
        Span(f"{cases['bad']}条", sources.cases()), "；未办结差评工单",
        Span(f"{cases['open']}件", sources.cases()), "，其中逾期",
        Span(f"{cases['overdue']}件", sources.cases()), "。",
        *(["未按期整改将扣分的风险分值合计", Span(f"{plain(risk_total)}分", sources.risk()), "。"]
          if risk_total else ["目前没有将因逾期整改扣分的任务。"]),
    )
    if city is None:
        return
    sheet = assessment.latest_view_of(db, actor=actor, org=city, published=True)
    line = None if sheet is None else sheet.row_of(city.id)
    if sheet is None or line is None:
        section.say(f"尚无{city.name}已发布的省级考核成绩单。")
        return
    change = line.rank_change
    section.say(
        f"在最新发布的一期（{period_label(sheet.period)}）{sheet.cohort_name}成绩单中，{city.name}得",
        Span(f"{plain(line.total)}分", sources.org_sheet(sheet.cohort_code, sheet.period, city.code)),
        f"，{scope_word(sheet)}排", Span(f"第{line.rank}名", sources.league(sheet.cohort_code,
                                                                            sheet.period)),
        f"（共{len(sheet.rows)}个）" + (f"，较上月{rank_move(change)}" if change is not None else "") + "。",
    )


def _rectification(db: Session, actor: Actor, section: Section, week: Week,
                   city: Org | None) -> dict[str, int]:
    tasks = [t for t in rectification.visible_tasks(db, actor=actor, as_of=week.as_of)
             if _in_city(city, t.org.path) and t.issued_on <= week.end]
    per_org: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    orgs: dict[int, Org] = {}
    totals: dict[str, int] = defaultdict(int)
    for task in tasks:
        counts = per_org[task.org_id]
        orgs[task.org_id] = task.org
        for key, hit in (
            ("opened", week.holds(task.issued_on)),
            ("closed", task.closed_at is not None and week.holds(local_date(task.closed_at))),
            ("open", TaskState(task.state).is_open),
            ("overdue", rectification.is_overdue(task, as_of=week.as_of)),
        ):
            if hit:
                counts[key] += 1
                totals[key] += 1
    active = [oid for oid, c in per_org.items() if c["opened"] or c["closed"] or c["open"]]
    if not active:
        section.say("本周没有新下发、销号或未销号的整改任务。")
        return totals
    table = Table("各单位整改任务", "整改任务",
                  [Column("单位", width=22), Column("本周新下发", CellKind.integer, 10),
                   Column("本周销号", CellKind.integer, 9), Column("未销号", CellKind.integer, 8),
                   Column("其中逾期", CellKind.integer, 9)])
    for oid in sorted(active, key=lambda o: (-per_org[o]["overdue"], -per_org[o]["open"],
                                             orgs[o].code)):
        c = per_org[oid]
        table.add(Cell(orgs[oid].name, sources.tasks()), c["opened"], c["closed"], c["open"],
                  c["overdue"])
    section.blocks.append(table)
    overdue = [t for t in tasks if rectification.is_overdue(t, as_of=week.as_of)]
    if not overdue:
        section.say("没有逾期未销号的整改任务。")
        return totals
    section.say(f"逾期未销号的整改任务{len(overdue)}项，请责任单位立即办结：")
    listing = Table("逾期整改任务", "逾期任务",
                    [Column("编号", CellKind.integer, 7), Column("任务", width=36),
                     Column("责任单位", width=20), Column("截止日期", width=12),
                     Column("逾期天数", CellKind.integer, 9), Column("未整改条目", CellKind.integer, 10)])
    for task in overdue:
        link = sources.task(task.id)
        listing.add(Cell(task.id, link), Cell(task.title, link), task.org.name,
                    task.due_on.isoformat(), -rectification.days_left(task, as_of=week.as_of),
                    task.open_lines)
    section.blocks.append(listing)
    return totals


def _risk(db: Session, actor: Actor, section: Section, week: Week, city: Org | None) -> float:
    rows = [r for r in rectification.risk(db, actor=actor, as_of=week.as_of)
            if _in_city(city, r.org.path)]
    if not rows:
        section.say("目前没有将因逾期整改扣分的任务。")
        return 0.0
    table = Table("风险分值（未按期整改将扣的分）", "风险分值",
                  [Column("被扣分单位", width=18), Column("风险分值", CellKind.points, 9),
                   Column("未整改条目", CellKind.integer, 10), Column("最近期限", width=12),
                   Column("现名次", CellKind.rank, 8), Column("扣分后预计名次", CellKind.rank, 14),
                   Column("依据", width=30)])
    for row in rows:
        table.add(Cell(row.org.name, sources.risk()), row.points_at_risk, row.open_lines,
                  row.next_due.isoformat() if row.next_due else "", row.current_rank,
                  row.projected_rank, row.basis)
    section.blocks.append(table)
    for row in rows:
        if row.statement:
            section.say(row.statement, bullet=True)
    return round(sum(r.points_at_risk for r in rows), 4)


def _reviews(db: Session, actor: Actor, section: Section, week: Week,
             city: Org | None) -> dict[str, int]:
    counts = reviews.counts_between(db, actor=actor, start=week.start, end=week.end)
    cases = [c for c in reviews.visible_cases(db, actor=actor, as_of=week.as_of)
             if _in_city(city, c.org.path) and c.received_on <= week.end]
    open_cases = [c for c in cases if c.state != CaseState.closed.value]
    overdue = [c for c in open_cases if reviews.is_overdue(c, as_of=week.as_of)]
    orgs = {c.org_id: c.org for c in cases}
    per_org: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for org_id, (n, bad) in counts.items():
        per_org[org_id][0], per_org[org_id][1] = n, bad
    for case_ in open_cases:
        per_org[case_.org_id][2] += 1
    for case_ in overdue:
        per_org[case_.org_id][3] += 1
    missing = [oid for oid in per_org if oid not in orgs]
    for org in (db.get(Org, oid) for oid in missing):
        if org is not None:
            orgs[org.id] = org
    shown = {oid: v for oid, v in per_org.items() if oid in orgs and _in_city(city, orgs[oid].path)}
    totals = {"reviews": sum(v[0] for v in shown.values()), "bad": sum(v[1] for v in shown.values()),
              "open": len(open_cases), "overdue": len(overdue)}
    if not shown:
        section.say("本周没有收到评价，也没有未办结的差评工单。")
        return totals
    table = Table("各单位好差评", "好差评",
                  [Column("单位", width=22), Column("本周评价", CellKind.integer, 9),
                   Column("本周差评", CellKind.integer, 9), Column("未办结工单", CellKind.integer, 10),
                   Column("其中逾期", CellKind.integer, 9)])
    for oid, (n, bad, open_n, late) in sorted(shown.items(), key=lambda kv: (
            -kv[1][3], -kv[1][1], orgs[kv[0]].code)):
        table.add(Cell(orgs[oid].name, sources.cases()), n, bad, open_n, late)
    section.blocks.append(table)
    if overdue:
        section.say(f"逾期未办结的差评工单{len(overdue)}件：")
        late_table = Table("逾期差评工单", "逾期工单",
                           [Column("工单", CellKind.integer, 7), Column("责任单位", width=20),
                            Column("事项", width=28), Column("状态", width=9),
                            Column("回访期限", width=12), Column("整改反馈期限", width=13)])
        names = catalog.item_names(db, codes=[c.review.item_code for c in overdue])
        for case_ in overdue:
            link = sources.case(case_.id)
            code = case_.review.item_code
            late_table.add(Cell(case_.id, link), case_.org.name,
                           names.get(code, code) or "—", CaseState(case_.state).label,
                           case_.callback_due.isoformat(), case_.rectify_due.isoformat())
        section.blocks.append(late_table)
    return totals


def _alerts(db: Session, actor: Actor, section: Section, city: Org | None) -> None:
    found = 0
    for cohort_code, periods in assessment.cohort_periods(db, actor=actor).items():
        period = periods[-1]
        sheet = assessment.read_sheet(db, actor=actor, cohort_code=cohort_code, period=period)
        ours = {row.org_code for row in sheet.rows if _in_city(city, row.org_path)}
        mine = [a for a in analysis.alerts(db, actor=actor, cohort_code=cohort_code, period=period)
                if a.org_code in ours]
        draft = "（据成绩单草稿，尚未发布）" if sheet.draft else ""
        for alert in mine[:ALERTS_PER_COHORT]:
            section.say(f"【{alert.label}】", Span(alert.message, sources.org_sheet(
                cohort_code, period, alert.org_code)), draft, bullet=True)
        if len(mine) > ALERTS_PER_COHORT:
            section.say(f"{sheet.cohort_name}另有{len(mine) - ALERTS_PER_COHORT}条预警，见",
                        Span("排名页", sources.league(cohort_code, period)), "。", bullet=True)
        found += len(mine)
    if not found:
        section.say("最新一期成绩单没有预警。")
