"""XLSX exports: the one writer of a list's rows (every list page's 导出 link) and the cell rule
every exported spreadsheet keeps.

A list page answers ``?format=xlsx`` (with its other query parameters unchanged) by calling its
service with ``params.for_export()`` — the same filters, search, order and org scope, every
page at once, refused above ``TONGBAN_EXPORT_ROWS_MAX`` rows — and handing the rows to
:func:`xlsx_response` with the columns it shows. Headers are Chinese, values are names (the
caller's columns say how to read a row), every text goes through ``privacy.mask_text`` and is
written as a text cell, never a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from tongban.core import privacy
from tongban.core.workdays import local_today, local_zone

T = TypeVar("T")

#: What makes Excel, WPS or LibreOffice take typed text for a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell value before it is written: dates and times become text (local time, minutes).
Value = str | int | float | date | datetime | None


def write_cell(sheet: Worksheet, row: int, column: int, value: str | float | int | None) -> None:
    """Write one value: a number as a number, any text as a text cell, exactly as it reads.

    openpyxl stores a text starting with ``=`` as a live formula (and ``#N/A`` as an error);
    an adjustment reason, a task title or an imported note must never run. So a text is
    always a text cell (Excel and WPS show ``=HYPERLINK(...)`` as those characters, and
    the value read back is unchanged). A text starting with = + - @, a tab or a CR also
    gets the cell's quote prefix, which is what typing ``'=...`` in Excel does: the
    apostrophe is not shown and not part of the value, and the text stays text when a user
    edits the cell. Characters XML cannot hold (control characters) are dropped.
    """
    cell = sheet.cell(row=row, column=column)
    if not isinstance(value, str):
        cell.value = value
        return
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True


#: What Excel refuses in a sheet's name.
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_MAX = 31


def sheet_title(name: str, taken: set[str] | None = None) -> str:
    """A worksheet name Excel and openpyxl accept, from any text (an org's, a department's,
    a user's filter): no ``[]:*?/\\``, no control characters, no apostrophe at either end,
    at most 31 characters, never empty, and (with ``taken``) unlike the names already used,
    which it joins."""
    base = _BAD_SHEET_CHARS.sub("_", ILLEGAL_CHARACTERS_RE.sub("", name)).strip().strip("'")
    base = base[:SHEET_TITLE_MAX] or "表"
    if taken is None:
        return base
    candidate, n = base, 1
    while candidate.casefold() in {t.casefold() for t in taken}:
        n += 1
        suffix = f"_{n}"
        candidate = base[:SHEET_TITLE_MAX - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


@dataclass(frozen=True)
class Field(Generic[T]):
    """One exported column: its Chinese header and how a row reads in it."""

    header: str
    value: Callable[[T], Value]


def _plain(value: Value) -> str | int | float | None:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return privacy.mask_text(value)
    return value


def list_xlsx(rows: Iterable[T], fields: Sequence[Field[T]], *, title: str) -> bytes:
    """The rows as one worksheet: a bold header row (frozen), then one row per item."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title(title)
    for column, field_ in enumerate(fields, start=1):
        write_cell(sheet, 1, column, field_.header)
        sheet.cell(row=1, column=column).font = Font(bold=True)
    for number, item in enumerate(rows, start=2):
        for column, field_ in enumerate(fields, start=1):
            write_cell(sheet, number, column, _plain(field_.value(item)))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(rows: Iterable[T], fields: Sequence[Field[T]], *, title: str) -> Response:
    """A download of :func:`list_xlsx`, named for the list and today's date."""
    return xlsx_download(f"{file_name(title)}-{local_today().isoformat()}.xlsx",
                         list_xlsx(rows, fields, title=title))


def file_responses(*media_types: str, description: str = "文件") -> dict[int | str, dict[str, Any]]:
    """A download route's 200 in OpenAPI: the file's real media types, as binary."""
    return {200: {"description": description, "content": {
        media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
        for media in media_types}}}


def file_name(text: str) -> str:
    """A download's name from any text: no path separators, control characters or quotes."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", text).strip(". ") or "导出"


def xlsx_download(name: str, body: bytes) -> Response:
    """An XLSX file the browser saves as ``name`` (never cached: it may hold personal data)."""
    return Response(body, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})
