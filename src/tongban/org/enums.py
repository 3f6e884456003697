"""Kinds of organisations, with the labels the UI shows."""

from __future__ import annotations

from enum import StrEnum


class OrgLevel(StrEnum):
    """Administrative level of an org; the order is the tree's depth."""

    province = "province"
    city = "city"
    county = "county"
    department = "department"
    township = "township"

    @property
    def label(self) -> str:
        return ORG_LEVEL_LABELS[self]


ORG_LEVEL_LABELS: dict[OrgLevel, str] = {
    OrgLevel.province: "省",
    OrgLevel.city: "市(州)",
    OrgLevel.county: "县(市、区)",
    OrgLevel.department: "市级部门",
    OrgLevel.township: "乡镇(街道)",
}


class DeptClass(StrEnum):
    """Evaluation class of a municipal department (B: few items on the platform)."""

    A = "A"
    B = "B"

    @property
    def label(self) -> str:
        return "市级A类" if self is DeptClass.A else "市级B类"
