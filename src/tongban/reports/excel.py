"""XLSX: one worksheet per table, header frozen, numbers as numbers with their formats, and
every text as a text cell (never a formula; see :func:`write_cell`)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from tongban.core.export import sheet_title, write_cell
from tongban.reports.document import DRAFT_MARK, CellKind, Document

HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def _write_row(sheet: Worksheet, row: int, values: list[str | float | int | None]) -> None:
    for column, value in enumerate(values, start=1):
        write_cell(sheet, row, column, value)


def render(document: Document) -> bytes:
    """The report's tables as a workbook; the first sheet says what the report is and carries
    the tables' notes, so every table sheet holds only its header and rows."""
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "说明"
    lines = [*([DRAFT_MARK] if document.draft else []), document.title,
             *(line for line in (document.subtitle,
                                 f"文号：{document.number}" if document.number else "",
                                 f"主送：{document.recipients}" if document.recipients else "",
                                 f"{document.issuer}　{document.date_line}",
                                 document.as_of,
                                 "各表数字与同期 Word 版一致；比率以小数存储、按百分比显示。") if line)]
    cover["A1"].font = Font(bold=True, size=14)
    cover.column_dimensions["A"].width = 80
    taken = {"说明"}
    for table in document.tables():
        sheet = book.create_sheet(sheet_title(table.sheet, taken))
        if document.draft:  # printed at the top of every page of the sheet
            sheet.oddHeader.center.text = DRAFT_MARK
            sheet.oddHeader.center.color = "C00000"
        _write_row(sheet, 1, [c.label for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for number, row in enumerate(table.rows, start=2):
            _write_row(sheet, number, [None if c.value == "" else c.value for c in row])
        for col, column in enumerate(table.columns, start=1):
            letter = get_column_letter(col)
            sheet.column_dimensions[letter].width = column.width
            if column.kind is CellKind.text:
                continue
            for (cell,) in sheet.iter_rows(min_row=2, min_col=col, max_col=col):
                if isinstance(cell.value, int | float):
                    cell.number_format = column.kind.excel_format
        sheet.freeze_panes = "A2"
        if table.rows:
            sheet.auto_filter.ref = sheet.dimensions
        if table.note:
            lines.append(f"表「{sheet.title}」：{table.note}")
    for number, line in enumerate(lines, start=1):
        write_cell(cover, number, 1, line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
