"""对标 suggestions as an XLSX workbook: one sheet per department, text cells only."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from tongban.core.export import sheet_title, write_cell

COLUMNS = (("department", "实施部门"), ("item", "事项名称"), ("kind", "类型"),
           ("material", "材料"), ("detail", "建议依据"), ("cities", "参照城市"))


def suggestions_xlsx(rows: Sequence[dict[str, Any]]) -> bytes:
    """The suggestions, a sheet per 实施部门 (sheet names cut to Excel's 31 characters)."""
    book = Workbook()
    default = book.active
    by_department: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_department.setdefault(row["department"] or "未注明部门", []).append(row)
    used: set[str] = set()
    for department, items in sorted(by_department.items()):
        sheet = book.create_sheet(sheet_title(department, used))
        for column, (_, header) in enumerate(COLUMNS, start=1):
            write_cell(sheet, 1, column, header)
        for r, item in enumerate(items, start=2):
            for column, (key, _) in enumerate(COLUMNS, start=1):
                write_cell(sheet, r, column, str(item[key]))
    if book.worksheets[1:] and default is not None:
        book.remove(default)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()
