"""Hostile files on every import path: the whole file is read, or it is refused with a Chinese
error naming the row, and nothing of it is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import located
from tests.security.import_paths import PATHS, ImportPath, csv_bytes, understated, with_sheet
from tongban.cli import app as cli
from tongban.core.errors import ValidationFailed


@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def path(request: pytest.FixtureRequest) -> ImportPath:
    return request.param  # type: ignore[no-any-return]


def refusal(db: Session, path: ImportPath, data: bytes, name: str) -> ValidationFailed:
    before = path.stored(db)
    with pytest.raises(ValidationFailed) as excinfo:
        path.run(db, data, name)
    assert path.stored(db) == before, "a refused file must store nothing"
    return excinfo.value


def valid_before(path: ImportPath) -> int:
    """Rows enough for 70 KiB, and more than the row-by-row reviews import stores at once."""
    return max(2500, 70 * 1024 // len(csv_bytes([path.row(1)])) + 1)


def with_bad_row(path: ImportPath, bad: bytes) -> tuple[bytes, int]:
    """Many valid rows, then ``bad`` (a whole CSV line), then a few more valid rows; and the
    row number of ``bad``."""
    count = valid_before(path)
    data = (path.csv(path.rows(count)) + bad
            + csv_bytes([path.row(n) for n in range(count + 2, count + 12)]))
    return data, count + 2


def header_and_first_row(path: ImportPath) -> str:
    """A ``<dimension>`` for the header and one row: what a careless writer may state."""
    return f"A1:{get_column_letter(len(path.header))}2"


@pytest.mark.parametrize("ref", ["header-and-first-row", "A1:B2"])
def test_an_xlsx_whose_dimension_understates_it_is_read_to_the_end(
        db: Session, path: ImportPath, ref: str) -> None:
    claimed = header_and_first_row(path) if ref == "header-and-first-row" else ref
    before = path.stored(db)
    path.run(db, understated(path.xlsx(path.rows(100)), claimed), "sec.xlsx")
    assert path.stored(db) - before == 100


def test_an_error_beyond_the_stated_dimension_is_found(db: Session, path: ImportPath) -> None:
    rows = path.rows(100)
    rows[-1] = [*rows[-1][:-1], "这一格不对"]
    failure = refusal(db, path, understated(path.xlsx(rows), header_and_first_row(path)),
                      "sec.xlsx")
    assert [row for row, _, _ in located(failure)] == [101]


def test_a_line_in_another_encoding_after_64_kib_refuses_the_file_at_its_row(
        db: Session, path: ImportPath) -> None:
    bad = csv_bytes([path.row(valid_before(path) + 1)], encoding="gb18030")
    data, bad_row = with_bad_row(path, bad)
    assert data.index(bad) > 64 * 1024
    failure = refusal(db, path, data, "sec.csv")
    [(row, column, reason)] = located(failure)
    assert (row, column) == (bad_row, None)
    assert reason.startswith("编码与文件开头不同（文件开头按 UTF-8 读取）")
    assert failure.summary == "sec.csv 无法完整读取，未导入任何数据"


def test_a_cell_over_128_kib_refuses_the_file_at_its_row(db: Session, path: ImportPath) -> None:
    row = path.row(valid_before(path) + 1)
    data, bad_row = with_bad_row(path, csv_bytes([[*row[:-1], "长" * 200_000]]))
    failure = refusal(db, path, data, "sec.csv")
    assert located(failure) == [(bad_row, None, "有单元格超过 131072 个字符（128 KiB）的上限")]


def test_a_nul_byte_refuses_the_file_at_its_row(db: Session, path: ImportPath) -> None:
    row = path.row(valid_before(path) + 1)
    data, bad_row = with_bad_row(path, csv_bytes([[*row[:-1], f"{row[-1]}\x00"]]))
    failure = refusal(db, path, data, "sec.csv")
    assert located(failure) == [
        (bad_row, None, "含有空字符（NUL），不是文本格式的 CSV 文件，或文件已损坏")]


def test_a_million_columns_are_refused_at_the_header(db: Session, path: ImportPath) -> None:
    header = ",".join(path.header) + "," * 1_000_000 + "\r\n"
    data = header.encode() + csv_bytes(path.rows(3))
    failure = refusal(db, path, data, "sec.csv")
    width = len(path.header) + 1_000_000
    assert located(failure) == [(1, None, f"有 {width} 列，超过上限 1000 列")]


def test_the_column_limit_is_a_setting(db: Session, path: ImportPath,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.core.config import get_settings

    monkeypatch.setenv("TONGBAN_IMPORT_COLUMNS_MAX", "20")
    get_settings.cache_clear()
    rows = path.rows(3)
    rows[1] += [""] * 30  # row 3
    failure = refusal(db, path, path.csv(rows), "sec.csv")
    assert located(failure) == [(3, None, f"有 {len(path.header) + 30} 列，超过上限 20 列")]


def test_a_file_that_is_not_a_zip_is_no_xlsx(db: Session, path: ImportPath) -> None:
    failure = refusal(db, path, path.csv(path.rows(3)), "sec.xlsx")
    [(row, _, reason)] = located(failure)
    assert row is None and reason == ("不是有效的 XLSX 文件：请用 Excel 或 WPS 打开后另存为"
                                      "“Excel 工作簿（.xlsx）”再导入")


def test_a_damaged_sheet_is_refused(db: Session, path: ImportPath) -> None:
    data = with_sheet(path.xlsx(path.rows(3)),
                      lambda body: body.replace(b"</sheetData>", b"<c>&#0;</c></sheetData>"))
    failure = refusal(db, path, data, "sec.xlsx")
    [(_, _, reason)] = located(failure)
    assert reason == "XLSX 文件已损坏，无法读取此行及以后的内容"


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(("name", "data"), [("空.csv", b""), ("假.xlsx", b"id,name\n1,2\n")])
def test_cli_reviews_import_refuses_a_bad_file_in_chinese_without_a_traceback(
        db: Session, tmp_path: Path, name: str, data: bytes) -> None:
    file = tmp_path / name
    file.write_bytes(data)
    result = CliRunner().invoke(cli, ["reviews", "import", str(file)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"错误：{name} 无法导入" in result.output
    as_json = CliRunner().invoke(cli, ["reviews", "import", str(file), "--json"])
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert payload["imported"] == 0 and payload["errors"][0]["file"] == name


def test_cli_skip_invalid_leaves_no_rejects_file_when_the_file_is_refused(
        db: Session, tmp_path: Path) -> None:
    reviews = next(p for p in PATHS if p.name == "reviews")
    file = tmp_path / "sec.csv"
    file.write_bytes(with_bad_row(reviews, b"sec,x,\xcd\xf8\xd5\xbe,\x00\r\n")[0])
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(cli, ["reviews", "import", str(file), "--skip-invalid",
                                      str(rejects)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "sec.csv 无法完整读取，未导入任何数据" in result.output
    assert not rejects.exists()
    assert reviews.stored(db) == 0


def test_cli_calendar_import_reads_a_gb18030_notice(db: Session, tmp_path: Path) -> None:
    file = tmp_path / "2031.csv"
    file.write_bytes("date,kind,note\n2031-01-01,休,元旦\n".encode("gb18030"))
    result = CliRunner().invoke(cli, ["calendar", "import", str(file)])
    assert result.exit_code == 0, result.output
    assert "导入完成：1 天有变更" in result.output
