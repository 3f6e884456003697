"""A report as data: sections of paragraphs, tables and charts, rendered to DOCX, XLSX, HTML.

Builders fill this model from the services; the renderers never look anything up, so the
three formats cannot disagree. A figure carries the link to the page it came from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from tongban.core.numbers import count, fixed, percent, plain, signed
from tongban.core.privacy import mask_text
from tongban.core.workdays import local_today


class CellKind(StrEnum):
    """How a table value is written and which Excel number format it gets."""

    text = "text"
    integer = "integer"  # whole number
    points = "points"  # score, two decimals
    signed = "signed"  # score change or adjustment, with its sign
    rate = "rate"  # fraction shown as a percentage
    rank = "rank"

    @property
    def excel_format(self) -> str:
        return {"text": "@", "integer": "0", "points": "0.00", "signed": "+0.00;-0.00;0.00",
                "rate": "0.0%", "rank": "0"}[self.value]


@dataclass(frozen=True)
class Cell:
    """A table cell; text is masked (phone and ID numbers) however it got here."""

    value: str | float | int | None
    link: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.value, str):
            object.__setattr__(self, "value", mask_text(self.value))

    def shown(self, kind: CellKind) -> str:
        """The value as printed in the DOCX and HTML (the XLSX keeps the number)."""
        value = self.value
        if value is None or value == "":
            return "—"
        if isinstance(value, str):
            return value
        if kind is CellKind.points:
            return fixed(value)
        if kind is CellKind.signed:
            return signed(value)
        if kind is CellKind.rate:
            return percent(value)
        if kind in (CellKind.integer, CellKind.rank):
            return count(value)
        return plain(value)


@dataclass(frozen=True)
class Column:
    label: str
    kind: CellKind = CellKind.text
    width: float = 12  # Excel column width in characters


@dataclass
class Table:
    """A table; ``sheet`` names its worksheet in the XLSX."""

    title: str
    sheet: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    def add(self, *values: Cell | str | float | int | None) -> None:
        self.rows.append([v if isinstance(v, Cell) else Cell(v) for v in values])


@dataclass(frozen=True)
class Span:
    """A piece of a sentence; a figure links to its source page."""

    text: str
    link: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", mask_text(self.text))


@dataclass
class Paragraph:
    spans: list[Span]
    bullet: bool = False

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes
    caption: str = ""


Block = Paragraph | Table | Chart


@dataclass
class Section:
    heading: str
    blocks: list[Block | Section] = field(default_factory=list)

    def say(self, *parts: str | Span, bullet: bool = False) -> None:
        """Append a paragraph made of plain text and linked figures."""
        self.blocks.append(Paragraph([p if isinstance(p, Span) else Span(p) for p in parts],
                                     bullet=bullet))

    def sub(self, heading: str) -> Section:
        child = Section(heading)
        self.blocks.append(child)
        return child


#: What a draft report prints on every page.
DRAFT_MARK = "草稿：成绩单尚未发布，数字可能变化"


@dataclass
class Document:
    """One report: a title, the issuer and date line, and numbered sections."""

    kind: str
    title: str
    subtitle: str
    issuer: str
    date_line: str
    scope: str
    period_key: str
    file_stem: str
    sections: list[Section] = field(default_factory=list)
    source_sheet_id: int | None = None
    #: Built on a score sheet not yet published: every page of every format says so.
    draft: bool = False
    #: When the live figures (tasks, cases, reviews of a bulletin) were read, said under the
    #: date line: ``数据截至2026年12月1日17:30``. Not part of :meth:`content_key`: the same
    #: figures read later are the same report.
    as_of: str = ""
    #: The 公文 parts (GB/T 9704) the service fills from the settings: the 版头 (the issuer in
    #: red) or none, the 主送机关 line, and the 文号 (巴政数〔2026〕12号), given only when the
    #: report is archived. None of them is part of :meth:`content_key`.
    #: The day the report is dated (成文日期); its year is the 文号's.
    issued_on: date = field(default_factory=local_today)
    masthead: bool = False
    recipients: str = ""
    number: str = ""

    def section(self, heading: str) -> Section:
        found = Section(heading)
        self.sections.append(found)
        return found

    def shown_sections(self) -> list[Section]:
        """The sections with something to say; an empty one is left out of every format."""
        return [s for s in self.sections if s.blocks]

    def tables(self) -> list[Table]:
        out: list[Table] = []

        def walk(blocks: list[Block | Section]) -> None:
            for block in blocks:
                if isinstance(block, Section):
                    walk(block.blocks)
                elif isinstance(block, Table):
                    out.append(block)

        walk(list(self.sections))
        return out

    def content_key(self) -> str:
        """Hash of what the report says: text, table values and chart images (not the date it
        was written on: the same figures regenerated later are the same report, with its
        文号)."""
        def plain(blocks: list[Block | Section]) -> list[object]:
            out: list[object] = []
            for block in blocks:
                if isinstance(block, Section):
                    out.append([block.heading, plain(block.blocks)])
                elif isinstance(block, Paragraph):
                    out.append(block.text)
                elif isinstance(block, Table):
                    out.append([block.title, [c.label for c in block.columns],
                                [[c.value for c in row] for row in block.rows]])
                else:
                    out.append(hashlib.sha256(block.png).hexdigest())
            return out

        payload = [self.kind, self.title, self.subtitle, plain(list(self.sections))]
        text = json.dumps(payload, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()
