"""Jinja2 environment of the web pages: filters for Shanghai time, periods and Chinese numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.numbers import fixed, plain, signed
from tongban.core.periods import period_label, quarter_label
from tongban.core.privacy import mask_text
from tongban.core.security import session_csrf_token

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "web" / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp shown in the configured zone (Asia/Shanghai)."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime(fmt)


def local_moment(value: datetime | None) -> str:
    """A time as the pages write it, 12月5日 16:37 (the year only when it is not this one)."""
    if value is None:
        return "—"
    at = value.astimezone(ZoneInfo(get_settings().timezone))
    year = "" if at.year == datetime.now(at.tzinfo).year else f"{at.year}年"
    return f"{year}{at.month}月{at.day}日 {at:%H:%M}"


def json_script(value: Any, element_id: str) -> Markup:
    """``value`` as JSON inside ``<script type="application/json" id=…>``: the only way pages
    hand data to scripts (never JSON in an attribute). ``<``, ``>`` and ``&`` are escaped so the
    text can neither close the block nor open a comment; the browser never runs the block."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup('<script type="application/json" id="{}">{}</script>').format(
        element_id, Markup(text))


@dataclass(frozen=True)
class ChartTable:
    """A chart's data as a table: one row per category, one column per series (a heatmap: one
    row per y category, one column per x category). ``empty`` when there is nothing to draw."""

    corner: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]

    @property
    def empty(self) -> bool:
        return not self.rows or not self.columns


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "-":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return plain(value)


def _axes(option: dict[str, Any], key: str) -> list[dict[str, Any]]:
    axis = option.get(key) or {}
    return axis if isinstance(axis, list) else [axis]


def chart_table(option: dict[str, Any], corner: str = "") -> ChartTable:
    """The table view of an ECharts ``option``, read from the same data the chart draws
    (category axis × series, or a heatmap's x × y cells), so screen readers and pages without
    JS show exactly the chart's figures."""
    series = [s for s in option.get("series") or [] if isinstance(s, dict)]
    x_axes, y_axes = _axes(option, "xAxis"), _axes(option, "yAxis")
    x_names = [str(c) for c in x_axes[0].get("data") or []] if x_axes else []
    y_names = [str(c) for c in y_axes[0].get("data") or []] if y_axes else []
    heat = [s for s in series if s.get("type") == "heatmap"]
    if heat:
        cells: dict[tuple[int, int], str] = {}
        for point in heat[0].get("data") or []:
            x, y, v = point["value"] if isinstance(point, dict) else point
            cells[(int(x), int(y))] = _cell(v)
        rows = [(name, [cells.get((i, j), "—") for i in range(len(x_names))])
                for j, name in enumerate(y_names)]
        return ChartTable(corner, x_names, rows if cells else [])
    categories = x_names if x_axes and x_axes[0].get("type") == "category" else y_names
    series = [s for s in series if s.get("data")]
    columns = [str(s.get("name") or "数值") for s in series]
    rows = [(name, [_cell(s["data"][i]) if i < len(s["data"]) else "—" for s in series])
            for i, name in enumerate(categories)]
    if categories is y_names and y_axes and not y_axes[0].get("inverse"):
        rows.reverse()  # a category y axis is drawn bottom-up: the table reads top-down, as seen
    return ChartTable(corner, columns, rows)


def tel_link(phone: str | None) -> Markup:
    """A phone number the viewer may see in full as a ``tel:`` link; a masked one (138****0000)
    or none stays text, since it cannot be dialled. ``Markup.format`` escapes the number shown
    (a citizen's own text), and the link holds only the digits taken from it."""
    text = (phone or "").strip()
    digits = re.sub(r"[^\d+]", "", text)
    if not text or "*" in text or len(digits) < 5:
        return Markup('<span data-testid="phone">{}</span>').format(text or "—")
    return Markup('<a href="tel:{}" data-testid="phone">{}</a>').format(digits, text)


def json_text(value: Any) -> str:
    """JSON shown as text on a page (autoescaped like any other text)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def url_with(request: Request, path: str | None = None, **changes: object) -> str:
    """This page's URL (or ``path``) with its query string changed: ``page=3`` replaces the
    page, ``page=None`` drops it; empty values are left out. Pager and sort links keep the
    filters, search and order this way."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    query += [(k, str(v)) for k, v in changes.items() if v is not None]
    text = urlencode([(k, v) for k, v in query if v != ""])
    return f"{path or request.url.path}?{text}" if text else (path or request.url.path)


templates.env.filters["local_time"] = local_time
templates.env.filters["local_moment"] = local_moment
templates.env.filters["pts"] = plain
templates.env.filters["fixed"] = fixed
templates.env.filters["signed"] = signed
templates.env.filters["json_text"] = json_text
templates.env.filters["pii"] = mask_text
templates.env.filters["tel"] = tel_link
templates.env.filters["audit_label"] = audit.label_of
templates.env.filters["object_label"] = audit.object_label
templates.env.filters["period_label"] = period_label
templates.env.filters["quarter_label"] = quarter_label
templates.env.globals["json_script"] = json_script
templates.env.globals["chart_table"] = chart_table
templates.env.globals["url_with"] = url_with


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A message shown once on the next page."""
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the actor, CSRF token and pending flash messages."""
    ctx: dict[str, Any] = {
        "actor": getattr(request.state, "actor", None),
        "csrf_token": session_csrf_token(request.session),
        "flashes": request.session.pop("flash", []),
        "path": request.url.path,
        "unread": getattr(request.state, "unread", 0),
        "areas": getattr(request.state, "areas", frozenset()),
        "menu_extras": getattr(request.state, "menu_extras", {}),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects: not
    ``//host`` nor ``/\\host``, which browsers read as another host)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) \
            and "\n" not in target and "\r" not in target:
        return target
    return default


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form post (303, so the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)
