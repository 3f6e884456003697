"""Reading CSV, XLSX and JSON-lines files row by row, with row numbers as a spreadsheet (or an
editor, for JSON lines) shows them.

CSV may be UTF-8 (with or without BOM) or GB18030, as Chinese Excel saves it. XLSX is read in
read-only mode so that large files stream. JSON lines (.jsonl, .ndjson) hold one flat object
per line, in UTF-8. Headers are matched through aliases (Chinese or English) to canonical
column names.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import pickle
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from tongban.core.config import get_settings
from tongban.core.errors import RowError, ValidationFailed
from tongban.core.periods import month_of, period_of

Cell = str | float | int | datetime | date | None


@dataclass
class Table:
    """A file's header (canonical names where an alias matched) and its rows.

    Reading the rows may raise :class:`ValidationFailed` part-way: a line that does not decode
    (the encoding changes after the sample it was judged from), a NUL byte, a cell over the CSV
    field limit, too many columns, a damaged XLSX. Importers validate every row before they
    write, so such a file imports nothing.
    """

    filename: str
    header: list[str]
    rows: Iterator[tuple[int, dict[str, Cell]]]
    encoding: str | None = None  # a CSV's (utf-8-sig or gb18030)
    _aliases: Mapping[str, str] | None = None
    row_count: int | None = None  # known once the rows were read ahead (XLSX, JSON lines)

    def rewind(self, stream: IO[bytes]) -> Table:
        """The same CSV read afresh from its start (after its stream was read elsewhere)."""
        stream.seek(0)
        return _csv_rows(stream, self.filename, self._aliases or {})


_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GB18030"}


class _Unreadable(Exception):
    """A line of a CSV file that cannot be read; ``reason`` says why, in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refused(filename: str, row: int | None, reason: str) -> ValidationFailed:
    """A file that cannot be read whole: nothing of it is imported."""
    return ValidationFailed(errors=[RowError(row, None, reason, filename)],
                            summary=f"{filename} 无法完整读取，未导入任何数据")


def _canonical(header: list[str], aliases: Mapping[str, str], *, filename: str = "",
               row: int = 1) -> list[str]:
    """The header's canonical names; a column named twice (or by two aliases of one name) is
    refused naming both: a row would otherwise keep one of the two cells silently."""
    lowered = {k.strip().lower(): v for k, v in aliases.items()}
    columns = [lowered.get(str(h).strip().lower(), str(h).strip()) for h in header]
    first: dict[str, int] = {}
    for index, column in enumerate(columns, start=1):
        if not column:
            continue
        if column in first:
            given = (str(header[first[column] - 1]).strip(), str(header[index - 1]).strip())
            named = f"「{given[0]}」" if given[0] == given[1] else f"「{given[0]}」和「{given[1]}」"
            raise _refused(filename, row, f"表头有重复的列{named}（第{first[column]}列和第{index}列）："
                                          "请删除或改名其中一列")
        first[column] = index
    return columns


def _check_width(filename: str, row: int, width: int, limit: int) -> None:
    """Refuse a row wider than the setting ``import_columns_max``."""
    if width > limit:
        raise _refused(filename, row, f"有 {width} 列，超过上限 {limit} 列")


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


def _csv_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """The stream's lines, each decoded on its own (line ends kept, as ``csv`` wants them).

    The encoding is judged from the file's start; a later line in another encoding, or one
    holding a NUL byte, raises :class:`_Unreadable` while the reader is at that line's row.
    Line ends are \\n, \\r\\n or \\r; no byte of a UTF-8 or GB18030 character is one of them.
    """
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    first = True

    def decode(line: bytes) -> str:
        nonlocal first
        if b"\x00" in line:
            raise _Unreadable("含有空字符（NUL），不是文本格式的 CSV 文件，或文件已损坏")
        try:
            text = line.decode(codec)
        except UnicodeDecodeError:
            raise _Unreadable(f"编码与文件开头不同（文件开头按 {_ENCODING_NAMES[encoding]} 读取）："
                              "请把整个文件另存为 UTF-8 或 GB18030 编码后再导入") from None
        if first:
            first = False
            return text.removeprefix("\ufeff")
        return text

    pending: list[bytes] = []  # the start of a line that goes on in the next block
    while block := stream.read(1 << 16):
        if pending and pending[-1].endswith(b"\r"):  # a line ended by \r, or by \r\n split
            if block.startswith(b"\n"):
                pending.append(b"\n")
                block = block[1:]
            yield decode(b"".join(pending))
            pending = []
        lines = block.splitlines(keepends=True)
        tail = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        if lines and pending:
            lines[0] = b"".join((*pending, lines[0]))
            pending = []
        for line in lines:
            yield decode(line)
        if tail:
            pending.append(tail)
    if pending:
        yield decode(b"".join(pending))


def _next_record(reader: Iterator[list[str]], filename: str, row: int) -> list[str] | None:
    """The next record of ``reader`` (the file's row ``row``), None at the end."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except _Unreadable as exc:
        raise _refused(filename, row, exc.reason) from None
    except csv.Error as exc:
        if "field limit" in str(exc):
            reason = f"有单元格超过 {csv.field_size_limit()} 个字符（128 KiB）的上限"
        else:
            reason = "不是有效的 CSV 格式"
        raise _refused(filename, row, reason) from None


def _csv_rows(stream: IO[bytes], filename: str, aliases: Mapping[str, str]) -> Table:
    encoding = csv_encoding(stream)
    reader = csv.reader(_csv_lines(stream, encoding))
    header = _next_record(reader, filename, 1)
    if header is None:
        raise ValidationFailed(errors=[RowError(1, None, "文件为空", filename)],
                               summary=f"{filename} 无法导入")
    limit = get_settings().import_columns_max
    _check_width(filename, 1, len(header), limit)
    columns = _canonical(header, aliases, filename=filename)

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        for lineno in itertools.count(2):
            raw = _next_record(reader, filename, lineno)
            if raw is None:
                return
            if not any(cell.strip() for cell in raw):
                continue
            _check_width(filename, lineno, len(raw), limit)
            values: dict[str, Cell] = {}
            for i, column in enumerate(columns):
                values[column] = raw[i].strip() if i < len(raw) else ""
            if len(raw) > len(columns) and any(c.strip() for c in raw[len(columns):]):
                values["__extra__"] = "、".join(c for c in raw[len(columns):] if c.strip())
            yield lineno, values

    return Table(filename, columns, rows(), encoding, aliases)


def _xlsx_cell(cell: object) -> Cell:
    if cell is None or isinstance(cell, int | float | datetime | date):
        return cell
    return str(cell).strip()


#: An XLSX part may unpack to at most this many times its packed size (sheet XML packs 10–20
#: times; a zip bomb thousands of times), and all parts together to at most this many bytes.
XLSX_MAX_RATIO = 200
XLSX_MAX_UNPACKED = 2 * 1024**3
#: The shared strings are held in memory whole (several times their size as Python text),
#: unlike the rows, which stream: a larger file should come as CSV.
XLSX_MAX_SHARED_STRINGS = 64 * 1024**2


def _refuse_zip_bomb(stream: IO[bytes], filename: str) -> None:
    """Refuse an XLSX whose parts would unpack to far more than it holds (before any is read).
    Entity expansion inside the XML is refused by defusedxml, which openpyxl uses."""
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # not a zip at all: load_workbook says so in its own words below
    finally:
        stream.seek(0)
    if any(p.filename.endswith("sharedStrings.xml") and p.file_size > XLSX_MAX_SHARED_STRINGS
           for p in parts):
        raise ValidationFailed(
            errors=[RowError(None, None, "文件中的文字过多（超过64 MB），请另存为 CSV（UTF-8）后导入",
                             filename)],
            summary=f"{filename} 无法导入")
    swollen = [p for p in parts if p.file_size > XLSX_MAX_RATIO * max(p.compress_size, 1024)]
    if swollen or sum(p.file_size for p in parts) > XLSX_MAX_UNPACKED:
        raise ValidationFailed(
            errors=[RowError(None, None, "文件解压后异常庞大（疑似压缩炸弹），拒绝读取", filename)],
            summary=f"{filename} 无法导入")


#: How far down a sheet its header is looked for (title rows, a blank line, two header rows).
HEADER_SEARCH_ROWS = 12


def _filled(row: tuple[Any, ...] | None) -> bool:
    return bool(row) and any(c not in (None, "") for c in row or ())


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _xlsx_header(found: Iterator[tuple[int, tuple[Any, ...]]], filename: str,
                 hint: Callable[[str], bool] | None,
                 ) -> tuple[int, list[str], list[tuple[int, tuple[Any, ...]]]]:
    """The header line, its column names and the rows read past it while looking.

    Without a ``hint`` the header is the first non-empty row. With one (``hint(name)`` says a
    cell is a column this import knows), it is the row among the first
    :data:`HEADER_SEARCH_ROWS` with the most known names: a title row above it is skipped,
    and where the header is two rows deep (merged category cells over indicator names) the
    names of the row below fill the columns a category spans, and a cell empty in the header
    takes the name above it.
    """
    seen: list[tuple[int, tuple[Any, ...]]] = []
    for lineno, raw in found:
        if _filled(raw):
            seen.append((lineno, raw))
            if hint is None or len(seen) >= HEADER_SEARCH_ROWS:
                break
    if not seen:
        raise ValidationFailed(errors=[RowError(1, None, "文件为空", filename)],
                               summary=f"{filename} 无法导入")
    chosen = 0
    if hint is not None:
        scores = [sum(1 for c in raw if hint(_text(c))) for _, raw in seen]
        best = max(range(len(seen)), key=lambda i: (scores[i], -i))
        chosen = best if scores[best] >= 2 else 0
    line, raw = seen[chosen]
    header = [_text(c) for c in raw]
    last = chosen
    if hint is not None and chosen + 1 < len(seen) and seen[chosen + 1][0] == line + 1:
        # Indicator names under merged category cells: the row below names the columns its
        # category cell spans, where the chosen row holds nothing this import knows.
        lower = [_text(c) for c in seen[chosen + 1][1]]
        named = [i for i, c in enumerate(lower) if c]
        if any(hint(lower[i]) for i in named) and all(
                i >= len(header) or not header[i] or not hint(header[i]) for i in named):
            header += [""] * max(0, len(lower) - len(header))
            header = [lower[i] if i < len(lower) and lower[i] else h
                      for i, h in enumerate(header)]
            last, line = chosen + 1, seen[chosen + 1][0]
    above = seen[chosen - 1] if chosen > 0 else None
    if above is not None and above[0] == seen[chosen][0] - 1:
        upper = [_text(c) for c in above[1]]
        header += [""] * max(0, len(upper) - len(header))
        header = [h or (upper[i] if i < len(upper) else "") for i, h in enumerate(header)]
    while header and not header[-1]:  # empty cells a writer styled, not columns
        header.pop()
    return line, header, seen[last + 1:]


def _xlsx_rows(stream: IO[bytes], filename: str, aliases: Mapping[str, str],
               header_hint: Callable[[str], bool] | None = None,
               sheet_name: str | None = None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    _refuse_zip_bomb(stream, filename)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationFailed(
            errors=[RowError(None, None, "不是有效的 XLSX 文件：请用 Excel 或 WPS 打开后另存为"
                                         "“Excel 工作簿（.xlsx）”再导入", filename)],
            summary=f"{filename} 无法导入") from exc
    if not workbook.worksheets:
        workbook.close()
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有工作表", filename)],
                               summary=f"{filename} 无法导入")
    if sheet_name is not None and sheet_name not in workbook.sheetnames:
        workbook.close()
        raise ValidationFailed(errors=[RowError(None, None, f"没有名为「{sheet_name}」的工作表",
                                                filename)], summary=f"{filename} 无法导入")
    sheet = workbook[sheet_name] if sheet_name is not None else workbook.worksheets[0]
    assert isinstance(sheet, ReadOnlyWorksheet)
    # Read-only mode stops at the size the file's <dimension> states, which writers may
    # under-state: forget it, and read every row and cell the sheet holds.
    sheet.reset_dimensions()

    def records() -> Iterator[tuple[int, tuple[Any, ...]]]:
        lineno = 0
        iterator = sheet.iter_rows(values_only=True)
        try:
            while True:
                lineno += 1
                try:
                    raw = next(iterator)
                except StopIteration:
                    return
                except Exception as exc:  # a damaged sheet fails part-way in many ways
                    raise _refused(filename, lineno,
                                   "XLSX 文件已损坏，无法读取此行及以后的内容") from exc
                yield lineno, raw
        finally:
            workbook.close()

    found = records()
    header_line, header, ahead = _xlsx_header(found, filename, header_hint)
    _check_width(filename, header_line, len(header), get_settings().import_columns_max)
    columns = _canonical(header, aliases, filename=filename, row=header_line)

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        for lineno, raw in itertools.chain(ahead, found):
            if not raw or all(c in (None, "") for c in raw):
                continue
            values: dict[str, Cell] = {}
            for i, column in enumerate(columns):
                cell = raw[i] if i < len(raw) else None
                values[column] = _xlsx_cell(cell)
            yield lineno, values

    return read_ahead(Table(filename, columns, rows()))


#: A JSON line may be at most this many bytes (a record of the 好差评 exchange is under 4 KiB),
#: and a file at most this many lines.
JSON_LINE_MAX = 256 * 1024
JSON_LINES_MAX = 10_000_000


def _bad_line(filename: str, lineno: int, reason: str) -> ValidationFailed:
    """A JSON line that cannot be read: the file is refused naming the line."""
    return _refused(filename, lineno, reason)


def _json_cell(value: object) -> Cell | None:
    """A JSON value as a cell; None for one that is no cell (an object or an array)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return value
    return None


def _json_constant(name: str) -> float:
    raise ValueError(name)  # NaN, Infinity: no number a file may hold


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different (``json`` would keep the last of two)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def _json_record(line: bytes, filename: str, lineno: int) -> dict[str, Any] | None:
    """One line's object, None for a blank line; refuses anything else naming the line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_line(filename, lineno, "该行不是 UTF-8 编码（JSON 行文件须为 UTF-8）") from None
    if lineno == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return None
    try:
        record = json.loads(text, parse_constant=_json_constant, object_pairs_hook=_unique_keys)
    except _RepeatedKey as exc:
        raise _bad_line(filename, lineno, f"字段「{exc.key[:40]}」在该行出现了两次") from None
    except (ValueError, RecursionError):
        raise _bad_line(filename, lineno, "该行不是有效的 JSON") from None
    if not isinstance(record, dict):
        raise _bad_line(filename, lineno, "该行不是 JSON 对象：每行应为一个 {\"字段\": 值} 对象")
    return record


def _json_lines(stream: IO[bytes], filename: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON-lines stream with their line numbers (blank lines skipped)."""
    for lineno in itertools.count(1):
        line = stream.readline(JSON_LINE_MAX + 1)
        if not line:
            return
        if len(line) > JSON_LINE_MAX:
            raise _bad_line(filename, lineno, f"该行超过 {JSON_LINE_MAX // 1024} KiB 的上限")
        if lineno > JSON_LINES_MAX:
            raise _bad_line(filename, lineno, f"文件超出 {JSON_LINES_MAX:,} 行的上限，请分成几个文件导入")
        record = _json_record(line, filename, lineno)
        if record is not None:
            yield lineno, record


def _json_lines_rows(stream: IO[bytes], filename: str, aliases: Mapping[str, str]) -> Table:
    """A JSON-lines file as a table: the first object's keys are the header; every line is a
    flat object (values text, numbers, true/false or null), its keys at most
    ``import_columns_max``; a key the first object lacks is read all the same."""
    records = _json_lines(stream, filename)
    first = next(records, None)
    if first is None:
        raise ValidationFailed(errors=[RowError(1, None, "文件为空", filename)],
                               summary=f"{filename} 无法导入")
    limit = get_settings().import_columns_max
    lowered = {k.strip().lower(): v for k, v in aliases.items()}
    names: dict[str, str] = {}

    def canonical(key: str) -> str:
        if key not in names:
            names[key] = lowered.get(key.strip().lower(), key.strip())
        return names[key]

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        for lineno, record in itertools.chain([first], records):
            _check_width(filename, lineno, len(record), limit)
            values: dict[str, Cell] = {}
            for key, value in record.items():
                cell = _json_cell(value)
                if cell is None and value is not None:
                    raise _bad_line(filename, lineno, f"字段「{key[:40]}」的值是对象或数组，应为文字或数字")
                if isinstance(cell, str) and "\x00" in cell:
                    raise _bad_line(filename, lineno, "该行含有空字符（NUL）")
                name = canonical(key)
                if name in values:
                    raise _bad_line(filename, lineno, f"字段「{key[:40]}」与该行另一字段是同一列「{name}」")
                values[name] = cell
            if any(v not in (None, "") for v in values.values()):
                yield lineno, values

    header = [canonical(str(key)) for key in first[1]]
    _check_width(filename, first[0], len(header), limit)
    _canonical(header, {}, filename=filename, row=first[0])
    return read_ahead(Table(filename, header, rows()))


#: Rows a read-ahead spool keeps in memory at once (then it goes on in a temporary file).
SPOOL_CHUNK = 2000


def read_ahead(table: Table) -> Table:
    """``table`` with every row read to its end at once, kept in a temporary file.

    Parsing an XLSX or JSON-lines file is the slow part of an import (about a minute for a
    million XLSX rows). Read ahead, a file that cannot be read whole is refused before the
    importer queries anything, and the transaction that checks and writes never holds the
    database while the file is parsed (on SQLite the write lock, which would stop every
    public rating meanwhile). Memory stays flat: rows go to disk in pickled chunks."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (the rows below close it)
    count = 0
    try:
        while chunk := list(itertools.islice(table.rows, SPOOL_CHUNK)):
            pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
            count += len(chunk)
    except BaseException:
        spool.close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, Cell]]]:
        try:
            spool.seek(0)
            while True:
                try:
                    loaded = pickle.load(spool)
                except EOFError:
                    return
                yield from loaded
        finally:
            spool.close()

    return replace(table, rows=rows(), row_count=count)


def open_table(path_or_stream: Path | IO[bytes], *, filename: str | None = None,
               aliases: Mapping[str, str] | None = None,
               header_hint: Callable[[str], bool] | None = None,
               sheet: str | None = None) -> Table:
    """Open a CSV, XLSX or JSON-lines file for row-by-row reading; with ``header_hint``, an XLSX's header
    is found below its title rows, two rows deep where it is (see :func:`_xlsx_header`); an
    XLSX's first sheet, or the one named ``sheet``."""
    if isinstance(path_or_stream, Path):
        filename = filename or path_or_stream.name
        stream: IO[bytes] = path_or_stream.open("rb")
    else:
        stream = path_or_stream
        filename = filename or "上传文件"
    if filename.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx_rows(stream, filename, aliases or {}, header_hint, sheet)
    if filename.lower().endswith((".csv", ".txt")):
        return _csv_rows(stream, filename, aliases or {})
    if filename.lower().endswith((".jsonl", ".ndjson")):
        return _json_lines_rows(stream, filename, aliases or {})
    raise ValidationFailed(errors=[RowError(None, None, "只支持 .csv、.xlsx 和 .jsonl 文件", filename)],
                           summary=f"{filename} 无法导入")


def decode_text(raw: bytes, *, filename: str) -> str:
    """A whole text file (a scheme's YAML) as UTF-8 or GB18030, as Chinese editors save it; a
    file in neither is refused in plain words."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(errors=[RowError(None, None, "文件编码无法识别，请另存为 UTF-8", filename)],
                           summary=f"{filename} 无法读取")


def xlsx_sheet_names(raw: bytes, *, filename: str) -> list[str]:
    """The sheet names of an XLSX workbook ([] when it is not one; a zip bomb is refused)."""
    from openpyxl import load_workbook

    stream = io.BytesIO(raw)
    _refuse_zip_bomb(stream, filename)
    try:
        workbook = load_workbook(stream, read_only=True)
    except Exception:  # a broken file is refused by open_table with its reason
        return []
    names = list(workbook.sheetnames)
    workbook.close()
    return names


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
    """A cell as a finite number, or None when it is not one ("1,234.5" and "95%" are numbers;
    inf, NaN and 1e999, which would score as if infinitely good or bad, are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number: float | int = value
    else:
        text = cell_text(value).replace(",", "").replace("，", "")
        if not text:
            return None
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1], 0.01
        try:
            number = float(text) * scale
        except ValueError:
            return None
    try:
        result = float(number)
    except OverflowError:  # an integer beyond any float
        return None
    return result if math.isfinite(result) else None


def cell_period(value: Cell) -> str:
    """A cell as a YYYY-MM period: 2026-02, 2026/2, 2026年2月, or an Excel date."""
    if isinstance(value, datetime | date):
        return month_of(value)
    text = cell_text(value).replace("年", "-").replace("月", "").replace("/", "-").replace(".", "-")
    parts = text.split("-")
    if (len(parts) >= 2 and len(parts[0]) == 4 and 1 <= len(parts[1]) <= 2
            and parts[0].isdecimal() and parts[1].isdecimal()):
        month = int(parts[1])
        if 1 <= month <= 12:
            return period_of(int(parts[0]), month)
    return text


@dataclass
class ImportCounts:
    """What an idempotent import did: rows added, changed, and found as they were."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
