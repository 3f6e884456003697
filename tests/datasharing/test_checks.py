"""Each check of a delivery on crafted files, and the check digits on real-format numbers: real
Sichuan credit codes and 巴中 ID numbers pass, the same with a wrong check digit or an
impossible date fail."""

from __future__ import annotations

import io
import random

import pytest

from tongban.core.tabular import open_table
from tongban.datasharing import checks
from tongban.datasharing.checks import FieldSpec, check_rows
from tongban.datasharing.enums import FieldFormat, FieldType
from tongban.demo.datasharing import CREDIT_CODES, _credit_code, _id_card

SPECS = [FieldSpec("代码", FieldType.text, True, FieldFormat.credit_code, True),
         FieldSpec("名称", FieldType.text, True),
         FieldSpec("日期", FieldType.date, True),
         FieldSpec("人数", FieldType.integer),
         FieldSpec("金额", FieldType.number),
         FieldSpec("身份证号", FieldType.text, False, FieldFormat.id_card),
         FieldSpec("电话", FieldType.text, False, FieldFormat.mobile),
         FieldSpec("区划", FieldType.text, False, FieldFormat.division)]
GOOD = "11511301008778255F"


def check(*rows: str, header: str = "代码,名称,日期,人数,金额,身份证号,电话,区划") -> checks.DeliveryCheck:
    text = "\n".join([header, *rows]) + "\n"
    table = open_table(io.BytesIO(text.encode()), filename="交付.csv")
    return check_rows(SPECS, table.header, table.rows)


def test_a_clean_row_is_clean() -> None:
    found = check(f"{GOOD},某局,2026-03-01,12,3.5,{_id_card(random.Random(1))},13912345678,511902")
    assert (found.rows, found.invalid_cells, found.missing_required, found.duplicate_keys) \
        == (1, 0, 0, 0)
    assert found.score == 100.0 and found.samples == []


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("代码", "11511301008778255G", "统一社会信用代码"),
    ("日期", "2026-02-30", "不是存在的日期"),
    ("日期", "2026-13-01", "不是存在的日期"),
    ("人数", "1.5", "不是整数"),
    ("人数", "十二", "不是整数"),
    ("金额", "abc", "不是数字"),
    ("身份证号", "511902200101011230", "身份证号"),
    ("身份证号", "511902200102300011", "身份证号"),
    ("电话", "12345678901", "不是手机号"),
    ("电话", "0827-5261234", "不是手机号"),
    ("区划", "999999", "不在全国行政区划代码中"),
    ("区划", "511999", "不在全国行政区划代码中"),
])
def test_a_cell_failing_its_type_or_format_is_invalid(column: str, value: str,
                                                      reason: str) -> None:
    cells = {"代码": GOOD, "名称": "某局", "日期": "2026-03-01", "人数": "1", "金额": "1",
             "身份证号": "", "电话": "", "区划": ""}
    cells[column] = value
    found = check(",".join(cells.values()))
    assert found.invalid_cells == 1 and found.fields[column].invalid == 1
    [sample] = found.samples
    assert sample["row"] == 2 and reason in sample["problems"][0]["reason"]


def test_empty_required_cells_are_missing_and_empty_optional_ones_are_fine() -> None:
    found = check(f"{GOOD},,,,,,,", ",某局,2026-03-01,,,,,")
    assert found.missing_required == 3 and found.invalid_cells == 0
    assert (found.fields["名称"].missing, found.fields["日期"].missing,
            found.fields["代码"].missing) == (1, 1, 1)


def test_rows_repeating_an_earlier_key_are_duplicates() -> None:
    row = f"{GOOD},某局,2026-03-01,1,1,,,"
    other = f"{CREDIT_CODES[1]},某局,2026-03-01,1,1,,,"
    found = check(row, other, row, row)
    assert found.duplicate_keys == 2 and found.rows == 4


def test_a_column_the_file_lacks_counts_its_required_cells_as_missing() -> None:
    found = check(f"{GOOD},某局", header="代码,名称")
    assert found.absent_columns == ["日期", "人数", "金额", "身份证号", "电话", "区划"]
    assert found.missing_required == 1
    assert check(f"{GOOD},某局,2026-03-01,1,1,,,,x",
                 header="代码,名称,日期,人数,金额,身份证号,电话,区划,备注").unknown_columns == ["备注"]


def test_real_sichuan_credit_codes_and_baxhong_ids_pass_and_a_changed_digit_fails() -> None:
    for code in [*CREDIT_CODES, _credit_code(123), _credit_code(9_999_999)]:
        assert checks.valid_credit_code(code), code
        changed = code[:-1] + ("0" if code[-1] != "0" else "1")
        assert not checks.valid_credit_code(changed), changed
    rng = random.Random(7)
    for _ in range(200):
        number = _id_card(rng)
        assert checks.valid_id_card(number), number
        assert not checks.valid_id_card(number[:-1] + ("0" if number[-1] != "0" else "1"))


def test_an_id_whose_county_did_not_exist_in_its_birth_year_fails() -> None:
    """巴中 became 5119 in 2000; a 1990 birth registered there carried 巴中地区's 5137."""
    body = "51190219900101123"
    from stdnum.cn import ric

    assert not checks.valid_id_card(body + ric.calc_check_digit(body + "0"))


@pytest.mark.parametrize(("code", "ok"), [("511902", True), ("511900", True), ("510000", True),
                                          ("511902001", True), ("511902001000", True),
                                          ("511902", True), ("51190", False), ("5119021", False),
                                          ("511902999", False), ("abcdef", False)])
def test_division_codes_are_read_against_the_national_data(code: str, ok: bool) -> None:
    assert checks.FORMAT_CHECKS[FieldFormat.division](code) is ok


def test_personal_numbers_are_masked_in_the_examples() -> None:
    number = _id_card(random.Random(3))
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    found = check(f"{GOOD},某局,2026-03-01,1,1,{bad},12345678901,")
    shown = [p["value"] for p in found.samples[0]["problems"]]
    assert bad not in shown and "12345678901" not in shown
    assert all("*" in v for v in shown)


def test_an_xlsx_delivery_reads_typed_cells() -> None:
    from datetime import date

    from tests.security.import_paths import xlsx_bytes

    data = xlsx_bytes([["代码", "名称", "日期", "人数", "金额"],
                       [GOOD, "某局", date(2026, 3, 1), 12, 3.5],  # type: ignore[list-item]
                       [GOOD + "X", "某局", "2026-02-30", 1.5, "x"]])  # type: ignore[list-item]
    table = open_table(io.BytesIO(data), filename="交付.xlsx")
    found = check_rows(SPECS[:5], table.header, table.rows)
    assert found.invalid_cells == 4 and found.duplicate_keys == 0


def test_the_mobile_block_shortcut_agrees_with_the_library() -> None:
    """A plain 11-digit number is asked of phonenumbers once per block of its first five
    digits: for a number drawn in every block (and 30,000 drawn anywhere), the answer is the
    library's for the number itself. A library upgrade that splits a block fails here."""
    rng = random.Random(11)
    numbers = [f"1{b:04d}{rng.randint(0, 999_999):06d}" for b in range(10_000)]
    numbers += [f"1{rng.randint(0, 9_999_999_999):010d}" for _ in range(30_000)]
    disagree = [n for n in numbers if checks.valid_mobile(n) != checks._mobile.__wrapped__(n)]
    assert disagree == []
    assert 1_000 < sum(map(checks.valid_mobile, numbers[:10_000])) < 9_000  # both answers


@pytest.mark.parametrize("text", ["12", "007", "1.50", "0.5", ".5", "5.", "1e3", "-3", "+4",
                                  "1,000", "١٢", "12.3.4", "nan", "inf", " 7"])
def test_the_number_shortcut_agrees_with_frictionless(text: str) -> None:
    for kind, reader in ((FieldType.integer, checks._INTEGER), (FieldType.number, checks._NUMBER)):
        library = reader(text.strip())[1] is None
        assert (checks.type_error(FieldSpec("x", kind), text) is None) is library, (kind, text)


@pytest.mark.parametrize("text", ["2026-03-01", "2026-02-29", "2024-02-29", "2026-13-01",
                                  "2026-00-10", "0000-01-01", "2026-3-1", "２０２６-03-01"])
def test_the_iso_date_shortcut_agrees_with_frictionless(text: str) -> None:
    assert checks.valid_date(text) is checks._reads(checks._DATES, text)
