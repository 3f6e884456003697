"""The checks of a delivery, cell by cell, against its dataset's field definitions.

A cell is *invalid* when it is not empty and fails its type or its format, *missing* when a
required cell is empty; a row whose primary key repeats an earlier row's is a *duplicate*.
Types are read by frictionless's field readers (the Frictionless table-schema types: integer,
number, date); formats by libraries made for them: python-stdnum for 统一社会信用代码 (GB
32100-2015) and 身份证号 (GB 11643, birth date and check digit), phonenumbers for mobile numbers,
the national division data for 行政区划代码. No hand-written patterns.

The file streams (``core.tabular``): memory holds the field counters, the first bad rows and
one 8-byte digest per distinct primary key. Checking is pure: it reads no database, so a
delivery's file is checked before the transaction that records it begins.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import phonenumbers
from frictionless import fields as frictionless_fields
from stdnum.cn import ric, uscc

from tongban.core.privacy import mask_text
from tongban.core.tabular import Cell
from tongban.datasharing.enums import FieldFormat, FieldType
from tongban.org.service import is_division_code

#: Bad rows kept as examples (the first ones of a delivery).
SAMPLE_ROWS = 20
#: Formats whose values are personal numbers: masked in every example shown.
PERSONAL = {FieldFormat.id_card, FieldFormat.mobile}

Reader = Callable[[Any], tuple[Any, Any]]


def _readers(frictionless_field: Any, *formats: str) -> list[Reader]:
    readers = []
    for fmt in formats:
        copy = type(frictionless_field)(name="x", format=fmt)
        readers.append(copy.create_cell_reader())
    return readers


_INTEGER = frictionless_fields.IntegerField(name="x").create_cell_reader()
_NUMBER = frictionless_fields.NumberField(name="x").create_cell_reader()
#: ISO dates first, then the ways Chinese offices write them (2026/3/1, 20260301, 2026年3月1日).
_DATES = _readers(frictionless_fields.DateField(name="x"), "default", "%Y/%m/%d", "%Y%m%d",
                  "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S")


def _reads(readers: Iterable[Reader], text: str) -> bool:
    return any(reader(text)[1] is None for reader in readers)


@functools.lru_cache(maxsize=1 << 16)
def valid_credit_code(text: str) -> bool:
    """A 统一社会信用代码 with its structure and check character right (python-stdnum)."""
    return bool(uscc.is_valid(text))


@functools.lru_cache(maxsize=1 << 16)
def valid_id_card(text: str) -> bool:
    """A 居民身份证号 (python-stdnum): 18 characters, its check digit right, a real birth date,
    and a birth place that was a county in the birth year. The place is looked up once per
    county and year (stdnum's own look-up costs a millisecond a number, every number)."""
    if len(text) != 18 or not text[:17].isdigit() or ric.calc_check_digit(text) != text[-1]:
        return False
    try:
        born = ric.get_birth_date(text)
    except ric.ValidationError:
        return False
    return _county_then(text[:6], born.year)


@functools.lru_cache(maxsize=1 << 14)
def _county_then(area: str, year: int) -> bool:
    """Whether ``area`` named a county in ``year`` (stdnum's table of 区划代码 and their years)."""
    probe = f"{area}{year}0101000"
    try:
        ric.get_birth_place(probe + ric.calc_check_digit(probe + "0"))
    except ric.ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=1 << 12)
def _mobile(text: str) -> bool:
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


@functools.lru_cache(maxsize=1 << 14)
def _mobile_block(block: str) -> bool:
    return _mobile(block + "000000")


def valid_mobile(text: str) -> bool:
    """A mainland mobile number (phonenumbers' metadata, with or without +86). The numbering
    plan opens mobile numbers by their leading digits: the library's answer for a plain
    11-digit number is the same for all numbers of its first five digits, so it is asked once
    per block (tests/datasharing/test_checks.py holds this against every block)."""
    if len(text) == 11 and text.isascii() and text.isdigit() and text[0] == "1":
        return _mobile_block(text[:5])
    return _mobile(text)


def valid_date(text: str) -> bool:
    """A date that exists, as ISO (``2026-03-01``) or as offices write it (``_DATES``)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:
            date.fromisoformat(text)
        except ValueError:
            return False
        return True
    return _reads(_DATES, text)


#: Division codes repeat in a delivery (a few hundred places): looked up once each.
_division = functools.lru_cache(maxsize=1 << 14)(is_division_code)


FORMAT_CHECKS: dict[FieldFormat, Callable[[str], bool]] = {
    FieldFormat.credit_code: valid_credit_code,
    FieldFormat.id_card: valid_id_card,
    FieldFormat.mobile: valid_mobile,
    FieldFormat.date: valid_date,
    FieldFormat.division: _division,
}
FORMAT_REASONS = {
    FieldFormat.credit_code: "不是有效的统一社会信用代码（结构或校验码不符）",
    FieldFormat.id_card: "不是有效的身份证号（出生日期或校验码不符）",
    FieldFormat.mobile: "不是手机号",
    FieldFormat.date: "不是存在的日期",
    FieldFormat.division: "不在全国行政区划代码中",
}


@dataclass(frozen=True)
class FieldSpec:
    """What a field's cells must be."""

    name: str
    type: FieldType
    required: bool = False
    format: FieldFormat = FieldFormat.none
    primary_key: bool = False


def type_error(spec: FieldSpec, value: Cell) -> str | None:
    """Why a non-empty cell is not of its field's type, or None."""
    if spec.type is FieldType.text:
        return None
    if spec.type is FieldType.date:
        if isinstance(value, date | datetime):
            return None
        return None if valid_date(str(value).strip()) else "不是存在的日期"
    if isinstance(value, bool):
        return "不是数字"
    if spec.type is FieldType.integer:
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return None
        text = str(value).strip()
        if text.isascii() and text.isdigit():  # what frictionless takes too, faster
            return None
        return None if _INTEGER(text)[1] is None else "不是整数"
    if isinstance(value, int | float):
        return None
    text = str(value).strip()
    whole, _, part = text.partition(".")
    if whole.isascii() and whole.isdigit() and (not part or (part.isascii() and part.isdigit())):
        return None
    return None if _NUMBER(text)[1] is None else "不是数字"


def format_error(spec: FieldSpec, value: Cell) -> str | None:
    if spec.format is FieldFormat.none:
        return None
    if spec.format is FieldFormat.date and isinstance(value, date | datetime):
        return None
    text = str(value).strip().upper() if spec.format is FieldFormat.credit_code \
        or spec.format is FieldFormat.id_card else str(value).strip()
    return None if FORMAT_CHECKS[spec.format](text) else FORMAT_REASONS[spec.format]


def shown(spec: FieldSpec, value: Cell) -> str:
    """A cell as an example shows it: personal numbers masked however they look."""
    text = str(value).strip()[:60]
    if spec.format in PERSONAL and len(text) > 4:
        return text[:3] + "*" * (len(text) - 5) + text[-2:]
    return mask_text(text)


@dataclass
class FieldCount:
    invalid: int = 0
    missing: int = 0


@dataclass
class DeliveryCheck:
    """What a delivery's checks found."""

    rows: int = 0
    cells: int = 0
    invalid_cells: int = 0
    missing_required: int = 0
    duplicate_keys: int = 0
    fields: dict[str, FieldCount] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """0–100: the share of checked cells that are neither invalid nor missing, times the
        share of rows that repeat no earlier key."""
        if not self.rows or not self.cells:
            return 0.0
        sound = 1 - (self.invalid_cells + self.missing_required) / self.cells
        unique = 1 - self.duplicate_keys / self.rows
        return round(100 * max(0.0, sound) * unique, 2)

    def field_counts(self) -> dict[str, dict[str, int]]:
        return {name: {"invalid": c.invalid, "missing": c.missing}
                for name, c in self.fields.items()}


def _empty(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_rows(specs: list[FieldSpec], header: list[str],
               rows: Iterator[tuple[int, dict[str, Cell]]],
               progress: Callable[[int], None] | None = None) -> DeliveryCheck:
    """Check every row of a delivery against ``specs``; a field the file lacks counts every
    row's cell as missing (when required) and is named in ``absent_columns``."""
    result = DeliveryCheck(fields={s.name: FieldCount() for s in specs})
    present = set(header)
    result.absent_columns = [s.name for s in specs if s.name not in present]
    result.unknown_columns = [h for h in header if h and h not in {s.name for s in specs}]
    keys = [s for s in specs if s.primary_key]
    seen: set[bytes] = set()
    for number, values in rows:
        result.rows += 1
        problems: list[dict[str, str]] = []
        for spec in specs:
            value = values.get(spec.name)
            result.cells += 1
            if _empty(value):
                if spec.required:
                    result.missing_required += 1
                    result.fields[spec.name].missing += 1
                    problems.append({"field": spec.name, "value": "", "reason": "必填项为空"})
                continue
            reason = type_error(spec, value) or format_error(spec, value)
            if reason is not None:
                result.invalid_cells += 1
                result.fields[spec.name].invalid += 1
                problems.append({"field": spec.name, "value": shown(spec, value),
                                 "reason": reason})
        if keys:
            parts = [str(values.get(k.name) or "").strip() for k in keys]
            if all(parts):
                digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
                if digest in seen:
                    result.duplicate_keys += 1
                    problems.append({"field": "、".join(k.name for k in keys),
                                     "value": shown(keys[0], parts[0]),
                                     "reason": "主键与前面的行重复"})
                else:
                    seen.add(digest)
        if problems and len(result.samples) < SAMPLE_ROWS:
            result.samples.append({"row": number, "problems": problems})
        if progress is not None and result.rows % 10_000 == 0:
            progress(result.rows)
    if progress is not None:
        progress(result.rows)
    return result
