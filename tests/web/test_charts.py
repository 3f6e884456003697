"""Every chart has a table view of exactly its data; a chart without data says so."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from sqlalchemy.orm import Session

from tests.factories import chart_option, logged_in_client, make_user
from tests.reviews.test_cases import make_case
from tongban.core.numbers import plain
from tongban.core.security import Role
from tongban.core.templating import chart_table


class _Table(HTMLParser):
    """The cells of the first table inside a chart's table view, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_view(html: str, chart_id: str) -> list[list[str]]:
    """Header row, then one row per category, of the chart's 表格."""
    part = html.split(f'data-testid="{chart_id}-table"')[1].split("</details>")[0]
    parser = _Table()
    parser.feed(part)
    return parser.rows


def _shown(value: Any) -> str:
    return "—" if value is None else plain(value)


def expected_rows(option: dict[str, Any], axis: str) -> list[list[str]]:
    """What a category chart draws: category i has series s's ``data[i]``; read top-down, as a
    horizontal bar chart shows them (its first category is drawn at the bottom)."""
    categories = option[axis]["data"]
    rows = [[str(name), *(_shown(s["data"][i]) for s in option["series"])]
            for i, name in enumerate(categories)]
    return rows[::-1] if axis == "yAxis" else rows


def test_the_board_charts_table_views_hold_exactly_their_data(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    html = client.get("/rectification").text
    trend = chart_option(html, "chart-overdue")
    assert trend["xAxis"]["data"], "the demo has tasks past their deadline"
    header, *rows = table_view(html, "chart-overdue")
    assert header == ["到期月份", "按期完成", "逾期"]
    assert rows == expected_rows(trend, "xAxis")
    rate = chart_option(html, "chart-ontime")
    header, *rows = table_view(html, "chart-ontime")
    assert header == ["单位", "按期完成率（%）"]
    assert rows == expected_rows(rate, "yAxis")


def test_the_dashboard_heatmap_table_view_holds_each_cell(db: Session) -> None:
    make_case(db, "chart-1", rated="2026-02-02 10:00:00")
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    html = client.get("/reviews/dashboard").text
    heat = chart_option(html, "chart-heat")
    months, names = heat["xAxis"]["data"], heat["yAxis"]["data"]
    header, *rows = table_view(html, "chart-heat")
    assert header == ["单位", *months]
    cells = {(r[0], months[i]): v for r in rows for i, v in enumerate(r[1:])}
    drawn = {(names[p["value"][1]], months[p["value"][0]]): plain(p["value"][2])
             for p in heat["series"][0]["data"]}
    assert drawn and {k: v for k, v in cells.items() if v != "—"} == drawn
    levels = chart_option(html, "chart-levels")
    header, *rows = table_view(html, "chart-levels")
    assert header == ["月份", "非常不满意", "不满意", "基本满意", "满意", "非常满意"]
    assert rows == expected_rows(levels, "xAxis")


def test_the_org_page_charts_have_table_views(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    html = client.get("/assessment/bz-counties/2026-03/orgs/511902").text
    trend = chart_option(html, "chart-trend")
    header, *rows = table_view(html, "chart-trend")
    assert header == ["月份", "名次", "总分"]
    assert rows == expected_rows(trend, "xAxis") and len(rows) >= 3
    gap = chart_option(html, "chart-gap")
    header, *rows = table_view(html, "chart-gap")
    assert header == ["指标", "与第一名差距", "与中位数差距"]
    assert rows == expected_rows(gap, "yAxis") and len(rows) > 1


def test_a_chart_without_data_says_so_with_its_period_instead_of_empty_axes(
        db: Session) -> None:
    """A liaison of an org without a task past its deadline: no axes, 暂无数据."""
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="南江县"))
    html = client.get("/rectification").text
    for chart_id in ("chart-overdue", "chart-ontime"):
        assert f'id="{chart_id}"' not in html and f'{chart_id}-table' not in html
        note = html.split(f'data-testid="{chart_id}-empty">')[1].split("</p>")[0]
        assert note.startswith("截至") and note.endswith("到期的任务：暂无数据")


def test_a_series_of_zero_length_makes_the_table_empty() -> None:
    option = {"xAxis": {"type": "category", "data": []}, "yAxis": {"type": "value"},
              "series": [{"name": "逾期", "type": "bar", "data": []}]}
    assert chart_table(option).empty
    heat = {"xAxis": {"type": "category", "data": ["2026-01"]},
            "yAxis": {"type": "category", "data": ["巴州"]},
            "series": [{"type": "heatmap", "data": []}]}
    assert chart_table(heat).empty
