"""对标报告: the home city against the province's cities — the league, suggestions per kind
and per department, the items furthest from the frontier — as a 公文 in the house's
:class:`Document`, rendered to DOCX, XLSX and HTML by the same renderers as the bulletins.

Not archived with a 文号 (the bulletins' archive is for the scored periods); written on demand
(``tongban report benchmark``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.benchmark import service as benchmark
from tongban.benchmark.enums import Dimension, SuggestionKind
from tongban.core.config import get_settings
from tongban.core.numbers import count, fixed, plain
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org.models import Org
from tongban.reports.document import Cell, CellKind, Column, Document, Section, Table
from tongban.reports.narrative import day, listing

#: How many of the home city's items furthest from the frontier the report lists.
WORST_ITEMS = 20
KIND = "benchmark"


def _league(section: Section, found: benchmark.Benchmark, city: Org) -> None:
    table = Table("各市（州）前沿距离排名", "排名",
                  [Column("名次", CellKind.rank, 6), Column("市（州）", width=16),
                   Column("前沿距离", CellKind.points, 10), Column("共有事项", CellKind.integer, 10)])
    for row in found.league:
        name = f"{row.org.name}（本市）" if row.org.id == city.id else row.org.name
        table.add(row.rank, name, row.dtf, row.items)
    table.note = ("前沿距离（DTF）：每个与其他市共有的事项在承诺时限、办理环节、跑动次数和必需材料上，"
                  "（最差−本市）/（最差−最优）×100 的平均，越高越好；名次并列时取较高名次。")
    section.blocks.append(table)


def _kinds(section: Section, rows: list[benchmark.DepartmentSummary]) -> None:
    totals = {k: sum(r.by_kind[k.value] for r in rows) for k in SuggestionKind}
    section.say("对照全省最优，本市共有对标建议"
                f"{count(sum(totals.values()))}条：" + "，".join(
                    f"{k.label}{count(n)}条" for k, n in totals.items()) + "。")
    table = Table("对标建议按类型", "按类型", [Column("类型", width=12),
                                           Column("建议数", CellKind.integer, 10)])
    for kind, n in totals.items():
        table.add(kind.label, n)
    section.blocks.append(table)


def _departments(section: Section, rows: list[benchmark.DepartmentSummary]) -> None:
    table = Table("各部门对标建议", "按部门", [
        Column("实施部门", width=24), Column("事项", CellKind.integer, 8),
        Column("前沿距离", CellKind.points, 10),
        *(Column(k.label, CellKind.integer, 8) for k in SuggestionKind),
        Column("合计", CellKind.integer, 8), Column("按期答复", width=10)])
    for r in rows:
        table.add(r.department, r.items, r.dtf, *(r.by_kind[k.value] for k in SuggestionKind),
                  r.suggestions, f"{r.answered_ontime}/{r.due}" if r.due else None)
    table.note = "按期答复：已答复或已到期的建议中，在答复期限内答复的条数／应答复条数。"
    section.blocks.append(table)


def _worst(section: Section, found: benchmark.Benchmark, city: Org) -> None:
    mine = [(f.dtf[city.id], f, offer) for f in found.groups
            if (offer := f.offer_of(city.id)) is not None and city.id in f.dtf]
    mine.sort(key=lambda t: (t[0], t[1].group.id))
    worst = mine[:WORST_ITEMS]
    if not worst:
        return
    section.say(f"与全省最优差距最大的{count(len(worst))}个事项：",
                listing([offer.item.name for _, _, offer in worst[:5]]), "。")
    table = Table(f"差距最大的{len(worst)}个事项", "差距最大事项", [
        Column("事项", width=30), Column("实施部门", width=18),
        Column("前沿距离", CellKind.points, 10),
        *(Column(f"{d.label}（本市/最优）", width=14) for d in Dimension),
        Column("最优城市", width=20)])
    for dtf, frontier, offer in worst:
        dims = []
        for dimension in Dimension:
            bound, ours = frontier.bounds.get(dimension), offer.values[dimension]
            dims.append(None if bound is None or ours is None
                        else f"{plain(ours)}/{plain(bound.best)}")
        best = sorted({c for b in frontier.bounds.values() for c in b.best_cities})
        table.add(Cell(offer.item.name, f"/benchmark/groups/{frontier.group.id}"),
                  offer.item.department, dtf, *dims, listing(best, 3))
    section.blocks.append(table)


def build(db: Session, *, actor: Actor, city: Org | None = None) -> Document:
    """The 对标报告 of ``city`` (the home city)."""
    city = city or benchmark.home_city(db)
    found = benchmark.league(db, actor=actor)
    rows = benchmark.department_summary(db, actor=actor, city=city, benchmark=found)
    place = found.rank_of(city.id)
    today = local_today()
    doc = Document(kind=KIND, title=f"{city.name}行政审批对标情况报告",
                   subtitle=f"（全省{count(len(found.league))}个市州，{count(len(found.groups))}个共有事项）",
                   issuer=get_settings().report_issuer, date_line=day(today), scope=city.code,
                   period_key=today.isoformat(), file_stem=f"benchmark-{city.code}-{today}")
    overview = doc.section("总体情况")
    if place is None:
        overview.say(f"{city.name}还没有与其他市（州）共有的事项，暂无前沿距离。")
    else:
        overview.say(f"{city.name}与其他市（州）共有事项{count(place.items)}个，平均前沿距离"
                     f"{fixed(place.dtf)}，在全省{count(len(found.league))}个市州中排第"
                     f"{place.rank}名。")
    _kinds(overview, rows)
    _league(doc.section("各市（州）排名"), found, city)
    _departments(doc.section("各部门情况"), rows)
    _worst(doc.section("差距最大的事项"), found, city)
    return doc
