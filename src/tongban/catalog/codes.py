"""The codes of a service item, read one way wherever an item list is imported (the city's
catalog and every city's 对标 snapshots): the 基本编码 within a 实施编码, and the 事项类型."""

from __future__ import annotations

import re

from tongban.catalog.enums import ItemType

_TYPE_BY_LABEL = {t.label: t for t in ItemType}
_AREA = re.compile(r"\d{12}")


def base_code_of(impl_code: str, area_code: str = "") -> str:
    """基本编码: the 实施编码 up to its area code (511A0138000000-511602000000-… →
    511A0138000000; G-000007-001-511602000000-… → G-000007-001). The area code is the one
    given (6 or 12 digits), else the first 12-digit part after the first; without either,
    the first part."""
    if area_code and f"-{area_code}" in impl_code:
        return impl_code[:impl_code.index(f"-{area_code}")]
    parts = impl_code.split("-")
    for i, part in enumerate(parts):
        if i and _AREA.fullmatch(part):
            return "-".join(parts[:i])
    return parts[0]


def item_type_of(text: str) -> ItemType:
    """The 事项类型 a cell names: its number (leading zeros allowed: 01 = 1) or its label
    (行政许可); ValueError with the reason otherwise."""
    number = text.lstrip("0") or text
    if number in ItemType._value2member_map_:
        return ItemType(number)
    if text in _TYPE_BY_LABEL:
        return _TYPE_BY_LABEL[text]
    raise ValueError(f"未知的事项类型「{text[:20]}」（填编号 1–10、20 或类型名称，如 行政许可）")
