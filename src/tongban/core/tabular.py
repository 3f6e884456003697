"""Reading CSV and XLSX files row by row, with row numbers as a spreadsheet shows them.

CSV may be UTF-8 (with or without BOM) or GB18030, as Chinese Excel saves it. XLSX is read in
read-only mode so that large files stream. Headers are matched through aliases (Chinese or
English) to canonical column names.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from tongban.core.errors import RowError, ValidationFailed

Cell = str | float | int | datetime | date | None


@dataclass
class Table:
    """A file's header (canonical names where an alias matched) and its rows."""

    filename: str
    header: list[str]
    rows: Iterator[tuple[int, dict[str, Cell]]]
    encoding: str | None = None  # a CSV's (utf-8-sig or gb18030)
    _text: io.TextIOWrapper | None = None
    _aliases: Mapping[str, str] | None = None

    def rewind(self, stream: IO[bytes]) -> Table:
        """The same CSV read afresh from its start (after its stream was read elsewhere)."""
        if self._text is not None:
            self._text.detach()  # else closing the old reader would close the stream
        stream.seek(0)
        return _csv_rows(stream, self.filename, self._aliases or {})


def _canonical(header: list[str], aliases: Mapping[str, str]) -> list[str]:
    lowered = {k.strip().lower(): v for k, v in aliases.items()}
    return [lowered.get(h.strip().lower(), h.strip()) for h in header]


def csv_encoding(stream: IO[bytes]) -> str:
    """``utf-8-sig`` or ``gb18030``, judged from the first 64 KiB (the stream is rewound)."""
    head = stream.read(64 * 1024)
    stream.seek(0)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.decode(head, encoding)
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a multi-byte character cut by the sample
                return encoding
            continue
        return encoding
    return "utf-8-sig"


def _csv_rows(stream: IO[bytes], filename: str, aliases: Mapping[str, str]) -> Table:
    encoding = csv_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed(errors=[RowError(1, None, "文件为空", filename)],
                               summary=f"{filename} 无法导入") from None
    columns = _canonical(header, aliases)

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        for lineno, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            values: dict[str, Cell] = {}
            for i, column in enumerate(columns):
                values[column] = raw[i].strip() if i < len(raw) else ""
            if len(raw) > len(columns) and any(c.strip() for c in raw[len(columns):]):
                values["__extra__"] = "、".join(c for c in raw[len(columns):] if c.strip())
            yield lineno, values

    return Table(filename, columns, rows(), encoding, text, aliases)


def _xlsx_cell(cell: object) -> Cell:
    if cell is None or isinstance(cell, int | float | datetime | date):
        return cell
    return str(cell).strip()


def _xlsx_rows(stream: IO[bytes], filename: str, aliases: Mapping[str, str]) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationFailed(errors=[RowError(None, None, f"不是有效的 XLSX 文件（{exc}）",
                                                filename)],
                               summary=f"{filename} 无法导入") from exc
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    header_row: tuple[Any, ...] | None = None
    header_line = 0
    for header_line, candidate in enumerate(iterator, start=1):  # noqa: B007
        if candidate and any(c not in (None, "") for c in candidate):
            header_row = candidate
            break
    if header_row is None:
        raise ValidationFailed(errors=[RowError(1, None, "文件为空", filename)],
                               summary=f"{filename} 无法导入")
    columns = _canonical(["" if c is None else str(c) for c in header_row], aliases)

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        for lineno, raw in enumerate(iterator, start=header_line + 1):
            if not raw or all(c in (None, "") for c in raw):
                continue
            values: dict[str, Cell] = {}
            for i, column in enumerate(columns):
                cell = raw[i] if i < len(raw) else None
                values[column] = _xlsx_cell(cell)
            yield lineno, values
        workbook.close()

    return Table(filename, columns, rows())


def open_table(path_or_stream: Path | IO[bytes], *, filename: str | None = None,
               aliases: Mapping[str, str] | None = None) -> Table:
    """Open a CSV or XLSX file for row-by-row reading."""
    if isinstance(path_or_stream, Path):
        filename = filename or path_or_stream.name
        stream: IO[bytes] = path_or_stream.open("rb")
    else:
        stream = path_or_stream
        filename = filename or "上传文件"
    if filename.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx_rows(stream, filename, aliases or {})
    if filename.lower().endswith((".csv", ".txt")):
        return _csv_rows(stream, filename, aliases or {})
    raise ValidationFailed(errors=[RowError(None, None, "只支持 .csv 和 .xlsx 文件", filename)],
                           summary=f"{filename} 无法导入")


def cell_text(value: Cell) -> str:
    """A cell as text (numbers without a trailing .0, dates as YYYY-MM-DD)."""
    if type(value) is str:  # every CSV cell: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def cell_number(value: Cell) -> float | None:
    """A cell as a number, or None when it is not one ("1,234.5" and "95%" are numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = cell_text(value).replace(",", "").replace("，", "")
    if not text:
        return None
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        return None


def cell_period(value: Cell) -> str:
    """A cell as a YYYY-MM period: 2026-02, 2026/2, 2026年2月, or an Excel date."""
    if isinstance(value, datetime | date):
        return f"{value.year}-{value.month:02d}"
    text = cell_text(value).replace("年", "-").replace("月", "").replace("/", "-").replace(".", "-")
    parts = text.split("-")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and len(parts[0]) == 4:
        month = int(parts[1])
        if 1 <= month <= 12:
            return f"{parts[0]}-{month:02d}"
    return text
