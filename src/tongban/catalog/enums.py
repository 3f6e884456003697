"""Kinds of service items, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class ItemType(Choice):
    """事项类型, as the national catalog codes them (政务服务事项基本目录: 01–10 the kinds of
    administrative power, 20 public service); province platforms export the number."""

    licensing = "1", "行政许可"
    penalty = "2", "行政处罚"
    enforcement = "3", "行政强制"
    levy = "4", "行政征收"
    benefit = "5", "行政给付"
    inspection = "6", "行政检查"
    confirmation = "7", "行政确认"
    award = "8", "行政奖励"
    ruling = "9", "行政裁决"
    other_power = "10", "其他行政权力"
    public_service = "20", "公共服务"


class CatalogWork(Choice):
    """What a user may do with the catalog beyond reading it."""

    import_items = "import", "导入事项目录"
