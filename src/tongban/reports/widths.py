"""Column widths of a printed table: headers whole, numbers on one line, on the narrowest page.

Widths are estimated in character units (a Chinese character is 1, a digit or Latin letter
about half), the way a typesetter counts a 公文 line. A header may wrap onto a second line
only between words (see :func:`header_lines`), never inside one; a number never wraps; a long
text (a reason, a task's title) wraps inside its column.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from tongban.reports.document import CellKind, Table

#: Words of the reports' column headers, longest match first: a header breaks only between
#: them (an unknown character is a word of its own).
HEADER_WORDS = frozenset({
    "名次", "单位", "指标", "得分", "加扣分", "总分", "变化", "等次", "代码", "大类", "分值",
    "失分", "单位数", "合计", "平均", "最多", "评价数", "好评数", "好评率", "差评数", "差评率",
    "满意度", "办件量", "主动", "评价率", "应整改", "差评", "按期", "整改", "整改率", "实名",
    "按时", "回访", "回访率", "本周", "新下发", "销号", "未销号", "其中", "逾期", "编号", "任务",
    "责任", "截止", "日期", "天数", "未整改", "条目", "被扣分", "风险", "最近", "期限", "现名次",
    "扣分后", "预计", "依据", "工单", "事项", "状态", "反馈", "类别", "领先", "中位数", "差距",
    "还差", "可挽回", "挽回后", "季度", "平均分", "原因", "来源", "评价", "本周评价", "本周差评",
    "未办结", "该单位",
})
LONGEST_WORD = max(len(w) for w in HEADER_WORDS)

MM_PER_PT = 25.4 / 72
#: Left plus right cell margin and the rule, per column.
CELL_PADDING_MM = 2.2
#: A text column narrower than this many characters would wrap a unit's name.
TEXT_MIN_UNITS = 8.0


def units(text: str) -> float:
    """Width of ``text`` in full-width characters."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.55 for ch in text)


def header_words(label: str) -> list[str]:
    """``label`` cut into words by longest match against :data:`HEADER_WORDS`."""
    words, i = [], 0
    while i < len(label):
        if unicodedata.east_asian_width(label[i]) not in "WF":
            j = i
            while j < len(label) and unicodedata.east_asian_width(label[j]) not in "WF":
                j += 1
            words.append(label[i:j])
            i = j
            continue
        for size in range(min(LONGEST_WORD, len(label) - i), 0, -1):
            if size == 1 or label[i:i + size] in HEADER_WORDS:
                words.append(label[i:i + size])
                i += size
                break
    return words


def header_lines(label: str, most: int) -> list[str]:
    """The header on at most ``most`` lines, broken between words so the widest line is as
    narrow as it can be."""
    words = header_words(label)
    if most < 2 or len(words) < 2:
        return [label]
    best = [label]
    for cut in range(1, len(words)):
        lines = ["".join(words[:cut]), "".join(words[cut:])]
        if max(units(x) for x in lines) < max(units(x) for x in best):
            best = lines
    return best


@dataclass(frozen=True)
class TableLayout:
    """How a table is printed: font size (pt), page orientation, column widths (mm) and each
    header's lines."""

    font_pt: float
    landscape: bool
    widths_mm: list[float]
    headers: list[list[str]]


#: Tried in order until the table fits: (landscape, font size in pt, header lines).
#: 小四 (12 pt) and 五号 (10.5 pt) on a portrait page first, then on a landscape one.
ATTEMPTS = [(False, 12.0, 1), (False, 12.0, 2), (False, 10.5, 1), (False, 10.5, 2),
            (True, 12.0, 1), (True, 12.0, 2), (True, 10.5, 2), (True, 9.0, 2)]


def layout(table: Table, *, portrait_mm: float, landscape_mm: float) -> TableLayout:
    """The first of :data:`ATTEMPTS` on which every header and number fits whole."""
    for landscape, font_pt, most in ATTEMPTS:
        found = _fit(table, landscape_mm if landscape else portrait_mm, font_pt, most)
        if found is not None:
            widths, headers = found
            return TableLayout(font_pt, landscape, widths, headers)
    landscape, font_pt, most = ATTEMPTS[-1]
    headers = [header_lines(c.label, most) for c in table.columns]
    mins = _minimums(table, headers)
    scale = (landscape_mm - CELL_PADDING_MM * len(mins)) / (sum(mins) * font_pt * MM_PER_PT)
    return TableLayout(font_pt, landscape,
                       [m * font_pt * MM_PER_PT * scale + CELL_PADDING_MM for m in mins], headers)


def _minimums(table: Table, headers: list[list[str]]) -> list[float]:
    out = []
    for i, (column, lines) in enumerate(zip(table.columns, headers, strict=True)):
        head = max(units(x) for x in lines)
        widest = max((units(row[i].shown(column.kind)) for row in table.rows), default=0.0)
        cell = min(widest, TEXT_MIN_UNITS) if column.kind is CellKind.text else widest
        out.append(max(head, cell) * 1.04)
    return out


def _fit(table: Table, page_mm: float, font_pt: float,
         most: int) -> tuple[list[float], list[list[str]]] | None:
    headers = [header_lines(c.label, most) for c in table.columns]
    char_mm = font_pt * MM_PER_PT
    mins = [m * char_mm + CELL_PADDING_MM for m in _minimums(table, headers)]
    if sum(mins) > page_mm:
        return None
    wants = []
    for i, column in enumerate(table.columns):
        widest = max((units(row[i].shown(column.kind)) for row in table.rows), default=0.0)
        wants.append(max(mins[i], widest * 1.04 * char_mm + CELL_PADDING_MM))
    spare = page_mm - sum(mins)
    room = sum(w - m for w, m in zip(wants, mins, strict=True))
    if room >= spare:  # long texts take what is left, in proportion to what they want
        widths = [m + (w - m) * spare / room for w, m in zip(wants, mins, strict=True)]
    else:  # everything fits whole: share the rest so the table spans the page
        left = spare - room
        widths = [w + left * w / sum(wants) for w in wants]
    return widths, headers
