"""Kinds of organisations, with the labels the UI shows."""

from __future__ import annotations

from tongban.core.choices import Choice


class OrgLevel(Choice):
    """Administrative level of an org; the order is the tree's depth."""

    province = "province", "省"
    city = "city", "市(州)"
    county = "county", "县(市、区)"
    department = "department", "市级部门"
    township = "township", "乡镇(街道)"


class DeptClass(Choice):
    """Evaluation class of a municipal department (B: few items on the platform)."""

    A = "A", "市级A类"
    B = "B", "市级B类"
