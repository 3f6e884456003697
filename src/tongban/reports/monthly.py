"""月考评: one cohort's month — league table, points lost, adjustments, poor grades, reviews."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.enums import Grade
from tongban.assessment.metrics import Figure, figure
from tongban.assessment.service import SheetRow, SheetView
from tongban.core.config import get_settings
from tongban.core.numbers import count, plain, rate_of
from tongban.core.periods import period_label
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.reports import charts, sources
from tongban.reports.document import Cell, CellKind, Chart, Column, Document, Section, Span, Table
from tongban.reports.enums import ReportKind
from tongban.reports.narrative import arrow, day, listing, rank_move

LOST_CHART_SIZE = 10
LOST_TABLE_SIZE = 30


def scope_word(sheet: SheetView) -> str:
    """``全省`` for the province's ranking of cities, else the cohort's name."""
    return "全省" if sheet.is_reference else sheet.cohort_name




@dataclass(frozen=True)
class IndicatorLoss:
    """One indicator's points lost across a cohort's orgs in one month."""

    code: str
    name: str
    category: str
    max_points: float
    orgs: int
    total: float
    mean: float
    worst: SheetRow
    worst_lost: float


def lost_by_indicator(sheet: SheetView, lines: list[SheetRow]) -> list[IndicatorLoss]:
    """Per indicator with points lost: orgs losing, total and mean lost, the largest loser."""
    definition = sheet.definition
    out = []
    for category, indicator in definition.indicators():
        losses = []
        for line in lines:
            item = line.item(indicator)
            if item is None:
                continue
            lost = item.lost
            if lost > 0:
                losses.append((lost, line))
        if not losses:
            continue
        worst_lost, worst = max(losses, key=lambda p: (p[0], -p[1].rank))
        total = round(sum(p[0] for p in losses), 4)
        out.append(IndicatorLoss(indicator.code, indicator.name, category.name,
                                 indicator.max_points, len(losses), total,
                                 round(total / len(lines), 4), worst, worst_lost))
    return sorted(out, key=lambda r: (-r.total, r.code))


def league_table(sheet: SheetView, lines: list[SheetRow]) -> Table:
    """The ranking; 指标得分 and 加扣分 only when something was adjusted (else both equal the
    total and zero)."""
    adjusted = any(line.adjustment_total for line in lines)
    table = Table(f"{sheet.cohort_name}{period_label(sheet.period)}考评排名", "排名",
                  [Column("名次", CellKind.rank, 6), Column("单位", width=22),
                   *([Column("指标得分", CellKind.points, 10), Column("加扣分", CellKind.signed, 9)]
                     if adjusted else []),
                   Column("总分", CellKind.points, 9), Column("名次变化", width=9),
                   Column("等次", width=6)])
    for line in lines:
        link = sources.org_sheet(sheet.cohort_code, sheet.period, line.org_code)
        table.add(Cell(line.rank, link), Cell(line.org_name, link),
                  *([line.indicator_total, line.adjustment_total] if adjusted else []),
                  Cell(line.total, link), arrow(line.rank_change), line.grade.label)
    table.note = (f"名次并列时取较高名次；分数按{sheet.definition.decimals}"
                  f"位小数比较。来源：{sheet.source_label}。")
    return table


def build(db: Session, *, actor: Actor, cohort_code: str, period: str) -> Document:
    sheet = assessment.read_sheet(db, actor=actor, cohort_code=cohort_code, period=period)
    label, lines = period_label(period), list(sheet.shown)
    settings = get_settings()
    doc = Document(kind=ReportKind.monthly.value, title=f"{label}{sheet.cohort_name}考评情况通报",
                   subtitle=f"（依据《{sheet.scheme_name}》{sheet.scheme_version}版）",
                   issuer=settings.report_issuer,
                   date_line=day(local_today()), scope=sheet.cohort_code, period_key=period,
                   file_stem=f"monthly-{sheet.cohort_code}-{period}", source_sheet_id=sheet.id,
                   draft=sheet.draft)
    _overview(doc.section("总体情况"), sheet, lines)
    ranking = doc.section("排名情况")
    ranking.blocks.append(league_table(sheet, lines))
    _points_lost(doc.section("失分情况"), sheet, lines)
    _adjustments(doc.section("加扣分情况"), sheet, lines)
    _poor(doc.section("等次为“差”的单位"), sheet, lines)
    _reviews(doc.section("好差评指标"), sheet, lines)
    return doc


def _overview(section: Section, sheet: SheetView, lines: list[SheetRow]) -> None:
    label = period_label(sheet.period)
    league = sources.league(sheet.cohort_code, sheet.period)
    if not lines:
        section.say(f"{label}{sheet.cohort_name}成绩单中没有可查看的单位。")
        return
    totals = [ln.total for ln in lines]
    grades: dict[Grade, list[str]] = defaultdict(list)
    for line in lines:
        grades[line.grade].append(line.org_name)
    top, bottom = lines[0], lines[-1]
    section.say(
        f"{label}，{sheet.cohort_name}共", Span(f"{len(lines)}个", league), "单位参评，平均分",
        Span(plain(statistics.fmean(totals)), league), "分。", top.org_name, "以",
        Span(f"{plain(top.total)}分", sources.org_sheet(sheet.cohort_code, sheet.period,
                                                    top.org_code)),
        "排第1名，", bottom.org_name, "以",
        Span(f"{plain(bottom.total)}分", sources.org_sheet(sheet.cohort_code, sheet.period,
                                                       bottom.org_code)),
        f"排第{bottom.rank}名。", "评为“好”", Span(f"{len(grades[Grade.good])}个", league),
        "、“中”", Span(f"{len(grades[Grade.fair])}个", league), "、“差”",
        Span(f"{len(grades[Grade.poor])}个", league), "。",
    )
    moves = [(ln.rank_change, ln) for ln in lines if ln.rank_change is not None]
    risers = sorted((m for m in moves if m[0] > 0), key=lambda m: (-m[0], m[1].rank))[:3]
    fallers = sorted((m for m in moves if m[0] < 0), key=lambda m: (m[0], m[1].rank))[:3]
    if risers:
        section.say("名次上升较多的有：", "；".join(
            f"{ln.org_name}{rank_move(change)}（第{ln.rank}名）" for change, ln in risers), "。")
    if fallers:
        section.say("名次下降较多的有：", "；".join(
            f"{ln.org_name}{rank_move(change)}（第{ln.rank}名）" for change, ln in fallers), "。")
    home = next((ln for ln in lines if ln.org_code == get_settings().city_code), None)
    if home is not None:
        change = home.rank_change
        section.say(
            f"{home.org_name}{label}得", Span(f"{plain(home.total)}分", sources.org_sheet(
                sheet.cohort_code, sheet.period, home.org_code)),
            f"，在{scope_word(sheet)}排", Span(f"第{home.rank}名", league),
            "，较上月" + rank_move(change) if change is not None else "",
            f"，等次为“{home.grade.label}”。")


def _points_lost(section: Section, sheet: SheetView, lines: list[SheetRow]) -> None:
    rows = lost_by_indicator(sheet, lines)
    if not rows:
        section.say("本月各单位各项指标均得满分。")
        return
    total = sum(r.total for r in rows)
    first = rows[0]
    section.say(f"本月各单位合计失分{plain(total)}分，涉及{len(rows)}项指标。失分最多的是“",
                first.name, "”，", Span(f"{first.orgs}个", sources.league(
                    sheet.cohort_code, sheet.period)),
                f"单位共失{plain(first.total)}分。")
    table = Table("各指标失分情况", "指标失分",
                  [Column("指标代码", width=9), Column("指标", width=26), Column("大类", width=14),
                   Column("分值", CellKind.points, 7), Column("失分单位数", CellKind.integer, 9),
                   Column("合计失分", CellKind.points, 9), Column("平均失分", CellKind.points, 9),
                   Column("失分最多单位", width=18), Column("该单位失分", CellKind.points, 9)])
    if len(rows) > LOST_TABLE_SIZE:
        table.note = (f"共{len(rows)}项指标有失分，表中列合计失分最多的{LOST_TABLE_SIZE}项；"
                      f"各单位逐项得分见排名页。")
    for r in rows[:LOST_TABLE_SIZE]:
        link = sources.org_sheet(sheet.cohort_code, sheet.period, r.worst.org_code)
        table.add(r.code, r.name, r.category, r.max_points, r.orgs, r.total, r.mean,
                  Cell(r.worst.org_name, link), r.worst_lost)
    section.blocks.append(lost_chart(sheet, rows))
    section.blocks.append(table)


def lost_chart(sheet: SheetView, rows: list[IndicatorLoss]) -> Chart:
    top = rows[:LOST_CHART_SIZE]
    title = f"{period_label(sheet.period)}失分最多的指标（合计失分）"
    png = charts.points_lost(title, [(f"{r.code} {r.name}", r.total) for r in top])
    return Chart(title, png, caption=f"图：{title}，前{len(top)}项")


def _adjustments(section: Section, sheet: SheetView, lines: list[SheetRow]) -> None:
    table = Table("加扣分明细", "加扣分",
                  [Column("单位", width=20), Column("分值", CellKind.signed, 8),
                   Column("原因", width=50), Column("来源", width=24)])
    deductions = bonuses = 0.0
    for line in lines:
        for adj in line.adjustments:
            points = adj.points
            if points < 0:
                deductions += points
            else:
                bonuses += points
            table.add(Cell(line.org_name, sources.org_sheet(sheet.cohort_code, sheet.period,
                                                            line.org_code)),
                      points, adj.reason, Cell(sources.cited(adj, sheet.period), adj.source_url))
    if not table.rows:
        section.say("本月没有加扣分。")
        return
    section.say(f"本月共{len(table.rows)}条加扣分，合计扣",
                Span(f"{plain(-deductions)}分", sources.adjustments()), "、加",
                Span(f"{plain(bonuses)}分", sources.adjustments()), "。")
    section.blocks.append(table)


def _poor(section: Section, sheet: SheetView, lines: list[SheetRow]) -> None:
    poor = [ln for ln in lines if ln.grade == Grade.poor]
    if not poor:
        section.say("本月没有等次为“差”的单位。")
        return
    section.say("本月等次为“差”的单位：", listing([ln.org_name for ln in poor], limit=20), "。")
    repeat = [ln for ln in poor if ln.previous_grade == Grade.poor]
    if repeat:
        section.say("其中连续两个月为“差”的：",
                    *[Span(ln.org_name + ("、" if i < len(repeat) - 1 else ""),
                           sources.org_sheet(sheet.cohort_code, sheet.period, ln.org_code))
                      for i, ln in enumerate(repeat)],
                    "，须在下月考评前书面说明整改措施和成效。")
    else:
        section.say("没有连续两个月为“差”的单位。")


#: The 好差评 figures the monthly report prints beside the scores, by declared code.
REVIEW_FIGURES = ("reviews", "good_reviews", "good_rate", "bad_reviews", "bad_rate",
                  "satisfaction_index", "cases_handled", "review_rate", "bad_cases_due",
                  "ontime_rectified", "ontime_rectification_rate", "named_bad_due",
                  "named_called_back", "named_callback_rate", "default_ratings")


def review_rows(lines: list[SheetRow]) -> list[tuple[SheetRow, dict[str, Figure]]]:
    """Each org's review figures as the sheet froze them (never the live reviews), for the
    orgs whose sheet line holds any."""
    found = []
    for line in lines:
        figures = {code: figure(line.values, code) for code in REVIEW_FIGURES}
        if (figures["reviews"].value or 0) or (figures["default_ratings"].value or 0):
            found.append((line, figures))
    return found


def _cell(item: Figure, part: str = "value") -> Cell:
    """A figure's value (or one of a ratio's parts) in a table: 无数据 where it is missing."""
    if not item.known and (part == "value" or getattr(item, part) is None):
        return Cell("无数据")
    return Cell(getattr(item, part))


def _reviews(section: Section, sheet: SheetView, lines: list[SheetRow]) -> None:
    rows = review_rows(lines)
    if not rows:
        section.say(f"{period_label(sheet.period)}本组单位没有好差评数据。")
        return
    table = Table("好差评指标（分子/分母）", "好差评",
                  [Column("单位", width=20), Column("评价数", CellKind.integer, 8),
                   Column("好评数", CellKind.integer, 8), Column("好评率", CellKind.rate, 8),
                   Column("差评数", CellKind.integer, 8), Column("差评率", CellKind.rate, 8),
                   Column("满意度", CellKind.rate, 8), Column("办件量", CellKind.integer, 9),
                   Column("主动评价率", CellKind.rate, 10),
                   Column("应整改差评", CellKind.integer, 10), Column("按期整改", CellKind.integer, 9),
                   Column("按期整改率", CellKind.rate, 10),
                   Column("实名差评", CellKind.integer, 9), Column("按时回访", CellKind.integer, 9),
                   Column("实名回访率", CellKind.rate, 10)])
    missing: dict[str, list[str]] = defaultdict(list)
    for line, f in rows:
        table.add(Cell(line.org_name, sources.cases()), *(_cell(f[code]) for code in (
            "reviews", "good_reviews", "good_rate", "bad_reviews", "bad_rate",
            "satisfaction_index", "cases_handled", "review_rate", "bad_cases_due",
            "ontime_rectified", "ontime_rectification_rate", "named_bad_due",
            "named_called_back", "named_callback_rate")))
        for item in f.values():
            if not item.known and item.value is None and item.numerator is None:
                missing[item.missing].append(line.org_name)
    totals = {code: sum(f[code].value or 0 for _, f in rows)
              for code in ("reviews", "bad_reviews", "bad_cases_due", "ontime_rectified",
                           "default_ratings")}
    due_known = all(f["bad_cases_due"].known and f["ontime_rectified"].known for _, f in rows)
    section.say("本月本组单位共收到评价", Span(f"{count(totals['reviews'])}条",
                                            sources.review_dashboard()),
                "，差评率", Span(rate_of(totals["bad_reviews"], totals["reviews"]),
                              sources.review_dashboard()),
                "；到期应整改的差评按期整改率",
                Span(rate_of(totals["ontime_rectified"], totals["bad_cases_due"])
                     if due_known and totals["bad_cases_due"] else
                     "无数据（本月没有到期应整改的差评）" if due_known else
                     "无数据（部分单位的成绩单未含到期应整改差评数）", sources.cases()), "。")
    least = get_settings().review_min_sample
    thin = [line.org_name for line, f in rows if (f["reviews"].value or 0) < least]
    if thin:
        section.say(f"评价不足{least}条的单位：", listing(thin, limit=20),
                    "。其比率样本不足（一两条评价即可使比率为0或100%），仅供参考，不据此比较排名。")
    if totals["default_ratings"]:
        days = get_settings().review_default_rating_days
        section.say("另有默认评价", Span(f"{count(totals['default_ratings'])}条",
                                        sources.review_dashboard()),
                    f"（办结后{days}日内未评价，按“非常满意”计），单独列示，未计入以上评价数和各项比率。")
    if missing:
        table.note = "无数据：" + "；".join(
            f"{listing(orgs, limit=5)}{reason}" for reason, orgs in sorted(missing.items()))
    section.blocks.append(table)
