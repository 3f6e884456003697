"""Charts for the reports as PNG images, drawn with matplotlib in a CJK font.

The font comes from the system (Debian's fonts-noto-cjk), chosen from the setting
``report_chart_fonts``; without one the chart is refused rather than drawn with boxes.
"""

from __future__ import annotations

import io
from functools import lru_cache

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.numbers import plain

DPI = 150
PALETTE = ["#c0392b", "#1f6fb2", "#2e8b57", "#d98c1f", "#7d4fa0", "#2b9fa3", "#8c6d46",
           "#e0609a", "#5d6d7e", "#9aab3a"]


def _find_font(families: list[str]) -> str | None:
    for family in families:
        try:
            return str(font_manager.findfont(font_manager.FontProperties(family=family),
                                             fallback_to_default=False))
        except ValueError:
            continue
    return None


def _add_fonts_installed_since_cache() -> None:
    """Register system fonts that matplotlib's cached font list predates (an apt install
    after the first run), so that they are found without deleting the cache by hand."""
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # a font file matplotlib cannot read is simply not offered


@lru_cache
def chart_font_path() -> str:
    """The file of the first configured CJK font that is installed."""
    wanted = get_settings().report_chart_font_list
    found = _find_font(wanted)
    if found is None:
        _add_fonts_installed_since_cache()
        found = _find_font(wanted)
    if found is not None:
        return found
    raise DomainError(f"未找到中文字体（{'、'.join(wanted)}），图表中的中文会显示为方框；"
                      f"请安装 fonts-noto-cjk（apt install fonts-noto-cjk）")


def chart_font() -> font_manager.FontProperties:
    return font_manager.FontProperties(fname=chart_font_path())


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def rank_trend(title: str, months: list[str], series: dict[str, list[int | None]],
               of: int) -> bytes:
    """Ranks per month, one line per org, rank 1 at the top."""
    font = chart_font()
    figure = _figure(7.2, 3.6)
    axes = figure.add_subplot()
    x = list(range(len(months)))
    for i, (name, ranks) in enumerate(series.items()):
        points = [(xi, r) for xi, r in zip(x, ranks, strict=True) if r is not None]
        if not points:
            continue
        colour = PALETTE[i % len(PALETTE)]
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colour,
                  linewidth=2, label=name)
        if len(series) <= 3:
            for xi, r in points:
                axes.annotate(f"第{r}名", (xi, r), textcoords="offset points", xytext=(0, 8),
                              ha="center", fontproperties=font, fontsize=9, color=colour)
    axes.set_ylim(of + 0.5, 0.5)
    axes.set_xticks(x, months, fontproperties=font)
    step = max(1, of // 8)
    axes.set_yticks(sorted({1, *range(step, of + 1, step)}))
    axes.set_ylabel("名次", fontproperties=font)
    axes.set_title(title, fontproperties=font, fontsize=12)
    axes.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        axes.legend(prop=font, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
                    frameon=False)
    return _png(figure)


def points_lost(title: str, items: list[tuple[str, float]]) -> bytes:
    """Horizontal bars of points lost, largest at the top."""
    font = chart_font()
    figure = _figure(7.2, max(2.2, 0.42 * len(items) + 1.0))
    axes = figure.add_subplot()
    labels = [label for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    bars = axes.barh(range(len(items)), values, color="#c0392b", height=0.6)
    axes.set_yticks(range(len(items)), labels, fontproperties=font, fontsize=9)
    for bar, value in zip(bars, values, strict=True):
        axes.annotate(plain(value),
                      (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                      textcoords="offset points", xytext=(4, 0), va="center", fontsize=8)
    axes.set_xlabel("失分", fontproperties=font)
    axes.set_title(title, fontproperties=font, fontsize=12)
    axes.margins(x=0.15)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)
