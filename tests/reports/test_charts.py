"""Charts are drawn in a CJK font, so Chinese never shows as boxes."""

from __future__ import annotations

import io
import warnings

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from tongban.core.errors import DomainError
from tongban.reports import charts


def test_rank_trend_labels_use_the_cjk_font_and_every_glyph_exists() -> None:
    path = charts.chart_font_path()
    assert "CJK" in path or "Han" in path or "wqy" in path.lower()
    title = "四川省的21个市(州)名次走势"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font"
        png = charts.rank_trend(title, ["1月", "2月", "3月"], {"巴中市": [1, 15, 6]}, of=21)
    assert Image.open(io.BytesIO(png)).size[0] > 600
    font = FT2Font(path)
    for char in set(title + "巴中市名次月第"):
        if not char.isascii():
            assert font.get_char_index(ord(char)) != 0, char
    assert font_manager.FontProperties(fname=path).get_name().startswith(
        ("Noto", "Source Han", "WenQuanYi"))


def test_points_lost_chart_draws_chinese_indicator_names_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = charts.points_lost("失分最多的指标", [("E01 数据共享级联", 2.6), ("A04 异常办事指南", 1.2)])
    assert png.startswith(b"\x89PNG")


def test_without_a_cjk_font_the_chart_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REPORT_CHART_FONTS", "没有这个字体")
    from tongban.core.config import get_settings

    get_settings.cache_clear()
    charts.chart_font_path.cache_clear()
    try:
        with pytest.raises(DomainError, match="fonts-noto-cjk"):
            charts.chart_font_path()
    finally:
        charts.chart_font_path.cache_clear()
