"""季调度: a cohort's quarter (or its months to date) for the review meeting.

Where the city itself is in the cohort (the province's ranking of cities) the analysis is
about the city; for the city's own cohorts it covers every org. Every what-if goes through
the assessment's what-if, so the statements agree with the org pages.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.assessment import analysis
from tongban.assessment import service as assessment
from tongban.assessment.service import SheetRow, SheetView
from tongban.core.config import get_settings
from tongban.core.errors import NotFound
from tongban.core.numbers import plain
from tongban.core.periods import month_label, quarter_label, quarter_months
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.reports import charts, sources
from tongban.reports.document import Cell, CellKind, Chart, Column, Document, Section, Span, Table
from tongban.reports.enums import ReportKind
from tongban.reports.monthly import lost_by_indicator, lost_chart, scope_word
from tongban.reports.narrative import day, rank_move, streak

PRIORITY_SIZE = 12
CHART_ORGS = 8


@dataclass
class Quarter:
    """The quarter's current sheets, oldest first, and the orgs to analyse in depth."""

    sheets: list[SheetView]
    focus: list[SheetRow]  # lines of the last sheet

    @property
    def last(self) -> SheetView:
        return self.sheets[-1]

    @property
    def months(self) -> str:
        first, last = month_label(self.sheets[0].period), month_label(self.last.period)
        return first if first == last else f"{first[:-1]}—{last}"


def build(db: Session, *, actor: Actor, cohort_code: str, quarter: str) -> Document:
    sheets = assessment.read_sheets(db, actor=actor, cohort_code=cohort_code,
                                    periods=quarter_months(quarter))
    if not sheets:
        cohort = assessment.get_cohort(db, code=cohort_code)
        raise NotFound(f"{cohort.name}{quarter_label(quarter)}尚无成绩单")
    cohort_name = sheets[-1].cohort_name
    lines = list(sheets[-1].shown)
    home = [ln for ln in lines if ln.org_code == get_settings().city_code]
    q = Quarter(sheets, home or lines)
    label, last_month = quarter_label(quarter), month_label(q.last.period)
    doc = Document(kind=ReportKind.quarterly.value,
                   title=f"{label}{cohort_name}考评调度情况",
                   subtitle=f"（{q.months}{'，截至' + last_month if len(sheets) < 3 else ''}）",
                   issuer=get_settings().report_issuer, date_line=day(local_today()),
                   scope=cohort_code, period_key=quarter,
                   file_stem=f"quarterly-{cohort_code}-{quarter}", source_sheet_id=q.last.id,
                   draft=any(s.draft for s in sheets))
    _trajectory(doc.section("排名走势"), q, lines)
    _strengths(doc.section("优势与短板"), q)
    _whatifs(doc.section("假设分析"), q)
    _leading_group(doc.section("与第一方阵的距离"), q)
    _priorities(doc.section("可挽回分值优先清单"), q)
    _per_org(doc.section("各单位情况"), q, lines)
    return doc


def _trajectory(section: Section, q: Quarter, lines: list[SheetRow]) -> None:
    cohort_code, cohort_name = q.last.cohort_code, q.last.cohort_name
    for focus in q.focus if len(q.focus) == 1 else []:
        ranks = [(s, s.row_of(focus.org_id)) for s in q.sheets]
        parts: list[str | Span] = [f"本季度{q.months}，{focus.org_name}在{scope_word(q.last)}分别排"]
        for i, (sheet, line) in enumerate(ranks):
            if line is None:
                continue
            parts += [("、" if i else ""), Span(f"第{line.rank}名", sources.league(cohort_code,
                                                                                  sheet.period))]
        first, last = ranks[0][1], ranks[-1][1]
        if first is not None and last is not None and len(ranks) > 1:
            parts.append(f"，{month_label(q.last.period)}较{month_label(q.sheets[0].period)}"
                         f"{rank_move(first.rank - last.rank)}")
        section.say(*parts, "。")
    table = Table(f"{cohort_name}各月名次", "各月名次",
                  [Column("单位", width=20),
                   *[Column(f"{month_label(s.period)}名次", CellKind.rank, 8) for s in q.sheets],
                   Column(f"{month_label(q.last.period)}总分", CellKind.points, 10),
                   Column("季度平均分", CellKind.points, 10),
                   Column(f"{month_label(q.last.period)}等次", width=8)])
    for line in lines:
        per_month = [s.row_of(line.org_id) for s in q.sheets]
        totals = [ln.total for ln in per_month if ln is not None]
        table.add(Cell(line.org_name, sources.org_sheet(cohort_code, q.last.period, line.org_code)),
                  *[Cell(ln.rank, sources.league(cohort_code, s.period)) if ln else None
                    for s, ln in zip(q.sheets, per_month, strict=True)],
                  line.total, round(statistics.fmean(totals), 4), line.grade.label)
    section.blocks.append(table)
    section.blocks.append(_trend_chart(q, lines))


def _trend_chart(q: Quarter, lines: list[SheetRow]) -> Chart:
    if len(q.focus) == 1:
        shown = [q.focus[0]] + [ln for ln in lines[:1] if ln.org_id != q.focus[0].org_id]
    elif len(lines) <= CHART_ORGS:
        shown = lines
    else:
        shown = lines[:CHART_ORGS // 2] + lines[-(CHART_ORGS // 2):]
    months = [month_label(s.period) for s in q.sheets]
    series: dict[str, list[int | None]] = {}
    for line in shown:
        series[line.org_name] = [ln.rank if (ln := s.row_of(line.org_id)) else None
                                 for s in q.sheets]
    of = max(len(s.rows) for s in q.sheets)
    title = f"{q.last.cohort_name}名次走势（{q.months}）"
    caption = ("图：名次走势，第1名在最上方" if len(shown) == len(lines)
               else f"图：名次走势（{'、'.join(series)}），第1名在最上方")
    return Chart(title, charts.rank_trend(title, months, series, of), caption)


def _strengths(section: Section, q: Quarter) -> None:
    sheet = q.last
    if len(q.focus) != 1:
        rows = lost_by_indicator(sheet, list(sheet.rows))
        if not rows:
            section.say(f"{month_label(sheet.period)}各单位各项指标均得满分。")
            return
        section.say(f"{month_label(sheet.period)}{sheet.cohort_name}失分集中在：",
                    "、".join(f"“{r.name}”（{r.orgs}个单位共失{plain(r.total)}分）" for r in rows[:3]),
                    "。")
        section.blocks.append(lost_chart(sheet, rows))
        return
    focus = q.focus[0]
    gaps = analysis.indicator_gaps(sheet, focus)
    compared = [g for g in gaps if not g.excluded]
    strong = sorted((g for g in compared if g.gap_to_leader == 0 and g.gap_to_median < 0),
                    key=lambda g: (g.gap_to_median, g.code))[:5]
    weak = sorted((g for g in compared if g.gap_to_leader > 0),
                  key=lambda g: (-g.gap_to_leader, g.code))[:5]
    link = sources.org_sheet(sheet.cohort_code, sheet.period, focus.org_code)
    if strong:
        section.say(f"{month_label(sheet.period)}{focus.org_name}领先的指标：", "、".join(
            f"“{g.name}”（高于中位数{plain(-g.gap_to_median)}分）" for g in strong), "。")
    if weak:
        section.say("差距最大的指标：", "、".join(
            f"“{g.name}”（落后领先单位{plain(g.gap_to_leader)}分）" for g in weak), "。")
    table = Table(f"{focus.org_name}{month_label(sheet.period)}优势与短板指标", "优势与短板",
                  [Column("类别", width=6), Column("指标", width=28), Column("得分", CellKind.points, 8),
                   Column("分值", CellKind.points, 7), Column("领先单位得分", CellKind.points, 12),
                   Column("中位数", CellKind.points, 8), Column("与领先差距", CellKind.points, 10),
                   Column("与中位数差距", CellKind.signed, 12)])
    for kind, group in (("优势", strong), ("短板", weak)):
        for g in group:
            table.add(kind, Cell(f"{g.code} {g.name}", link), g.points, g.max_points,
                      g.leader_points, g.median_points, g.gap_to_leader, -g.gap_to_median)
    if table.rows:
        section.blocks.append(table)
    else:
        section.say(f"{focus.org_name}{month_label(sheet.period)}各项指标与其他单位持平。")


def _whatifs(section: Section, q: Quarter) -> None:
    said = 0
    previous_rank: dict[int, int] = {}
    for sheet in q.sheets:
        word = scope_word(sheet)
        league = sources.league(sheet.cohort_code, sheet.period)
        for line in sorted(sheet.rows, key=lambda ln: ln.rank):
            if not any(f.org_id == line.org_id for f in q.focus):
                continue
            for adj in line.adjustments:
                points = adj.points
                if points >= 0:
                    continue
                result = analysis.whatif_on(sheet, line, drop_adjustments=[adj.id])
                if len(q.focus) > 1 and result.after_rank == line.rank:
                    continue
                keep = previous_rank.get(line.org_id) == result.after_rank < line.rank
                section.say(
                    f"若{line.org_name if len(q.focus) > 1 else ''}未扣", Span(
                        f"{plain(-points)}分", sources.org_sheet(sheet.cohort_code, sheet.period,
                                                             line.org_code)),
                    f"（{adj.reason}），{month_label(sheet.period)}可{'保持' if keep else '排'}{word}",
                    Span(f"第{result.after_rank}名", league), f"（实际第{line.rank}名"
                    + (f"，将超过{'、'.join(result.passes[:3])}" if result.passes else "") + "）。",
                    bullet=True)
                said += 1
        previous_rank = {ln.org_id: ln.rank for ln in sheet.rows}
    if not said:
        section.say("本季度没有改变名次的扣分。")


def _leading_group(section: Section, q: Quarter) -> None:
    sheet = q.last
    size = sum(1 for ln in sheet.rows if ln.leading)
    if not size:
        section.say("本方案未设第一方阵。")
        return
    behind = [(ln, analysis.points_to_rank(sheet, ln, size))
              for ln in sorted(q.focus, key=lambda ln: ln.rank) if not ln.leading]
    league = sources.league(sheet.cohort_code, sheet.period)
    if len(q.focus) == 1:
        focus = q.focus[0]
        if focus.leading:
            section.say(f"{month_label(sheet.period)}{focus.org_name}排第{focus.rank}名，处于第一方阵（前",
                        Span(f"{size}名", league), "）。")
        else:
            section.say(f"{month_label(sheet.period)}{focus.org_name}排第{focus.rank}名，距第一方阵（前",
                        Span(f"{size}名", league), "）还差", Span(f"{plain(behind[0][1])}分", league),
                        "。")
        return
    section.say(f"{month_label(sheet.period)}第一方阵为前", Span(f"{size}名", league),
                f"；其余{len(behind)}个单位进入第一方阵所需分数如下。")
    table = Table(f"{month_label(sheet.period)}距第一方阵的差距", "第一方阵差距",
                  [Column("单位", width=20), Column("名次", CellKind.rank, 6),
                   Column("总分", CellKind.points, 8), Column("还差（分）", CellKind.points, 10)])
    for line, needed in behind:
        table.add(Cell(line.org_name, sources.org_sheet(sheet.cohort_code, sheet.period,
                                                        line.org_code)),
                  line.rank, line.total, needed)
    section.blocks.append(table)


@dataclass(frozen=True)
class Recoverable:
    line: SheetRow
    label: str
    points: float
    indicator: str | None = None
    adjustment_id: int | None = None


def _priorities(section: Section, q: Quarter) -> None:
    sheet = q.last
    definition = sheet.definition
    candidates: list[Recoverable] = []
    standing = analysis.standings(sheet)
    for line in q.focus:
        for gap in analysis.points_lost(analysis.indicator_gaps(sheet, line, standing)):
            candidates.append(Recoverable(line, f"{gap.code} {gap.name}", gap.lost,
                                          indicator=gap.code))
        candidates += [Recoverable(line, f"扣分：{a.reason}", -a.points,
                                   adjustment_id=a.id)
                       for a in line.adjustments if a.points < 0]
    top = sorted(candidates, key=lambda c: (-c.points, c.line.rank, c.label))[:PRIORITY_SIZE]
    if not top:
        section.say(f"{month_label(sheet.period)}没有失分。")
        return
    many = len(q.focus) > 1
    table = Table(f"{month_label(sheet.period)}可挽回分值（按分值排序）", "优先清单",
                  [*([Column("单位", width=18)] if many else []), Column("事项", width=36),
                   Column("可挽回分值", CellKind.points, 10), Column("挽回后总分", CellKind.points, 10),
                   Column("现名次", CellKind.rank, 7), Column("挽回后名次", CellKind.rank, 10)])
    for item in top:
        line = item.line
        maximum = definition.indicator(item.indicator) if item.indicator else None
        result = analysis.whatif_on(
            sheet, line,
            drop_adjustments=[item.adjustment_id] if item.adjustment_id else None,
            set_points={item.indicator: maximum.max_points} if item.indicator and maximum else None)
        link = sources.org_sheet(sheet.cohort_code, sheet.period, line.org_code)
        table.add(*([Cell(line.org_name, link)] if many else []), Cell(item.label, link),
                  item.points, result.after_total, line.rank, result.after_rank)
    first = top[0]
    section.say(f"按{month_label(sheet.period)}成绩单，可挽回分值最大的是",
                f"{first.line.org_name}的" if many else "", f"“{first.label}”（{plain(first.points)}分）。"
                "下表每项单独测算，其他单位分数不变。")
    section.blocks.append(table)


def _per_org(section: Section, q: Quarter, lines: list[SheetRow]) -> None:
    sheet = q.last
    standing = analysis.standings(sheet)
    for line in lines:
        history = [s.row_of(line.org_id) for s in q.sheets]
        ranks = "、".join(f"第{ln.rank}名" for ln in history if ln is not None)
        known = [ln for ln in history if ln is not None]
        move = rank_move(known[0].rank - known[-1].rank) if len(known) > 1 else ""
        lost = analysis.points_lost(analysis.indicator_gaps(sheet, line, standing))
        grades = [ln.grade.label for ln in known]
        grade, run = streak(grades)
        parts: list[str | Span] = [
            f"{line.org_name}：{q.months}分别排{ranks}；{month_label(sheet.period)}总分",
            Span(f"{plain(line.total)}分", sources.org_sheet(sheet.cohort_code, sheet.period,
                                                         line.org_code)),
        ]
        if move:
            parts.append(f"，较{month_label(q.sheets[0].period)}{move}")
        if lost:
            parts.append(f"；失分最多的指标为“{lost[0].name}”（失{plain(lost[0].lost)}分）")
        deductions = [a for a in line.adjustments if a.points < 0]
        if deductions:
            parts.append(f"；被扣{plain(-sum(a.points for a in deductions))}分")
        if run >= 2:
            parts.append(f"；连续{run}个月等次为“{grade}”")
        section.say(*parts, "。")
