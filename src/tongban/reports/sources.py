"""Where each figure of a report comes from: the page that shows its source."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tongban.assessment.service import SheetAdjustment
from tongban.core.periods import period_label


def league(cohort: str, period: str) -> str:
    return "/assessment?" + urlencode({"cohort": cohort, "period": period})


def org_sheet(cohort: str, period: str, org_code: str) -> str:
    return f"/assessment/{cohort}/{period}/orgs/{org_code}"


def adjustments() -> str:
    return "/assessment/adjustments"


def task(task_id: int) -> str:
    return f"/rectification/tasks/{task_id}"


def tasks() -> str:
    return "/rectification"


def risk() -> str:
    return "/rectification/risk"


def case(case_id: int) -> str:
    return f"/reviews/cases/{case_id}"


def cases() -> str:
    return "/reviews"


def review_dashboard() -> str:
    return "/reviews/dashboard"


def cited(adjustment: SheetAdjustment, period: str) -> str:
    """The source of an adjustment by name, as a document cites it (来源：2026年3月省考核通报),
    never a file and its line."""
    if adjustment.source == "province-sheet":
        return f"{period_label(period)}省考核通报"
    kind, _, ref = adjustment.source_ref.partition(":")
    if adjustment.source == "rectification" and kind == "rectification_task" and ref:
        return f"整改任务#{ref}"
    if adjustment.source_ref and not LINE_REF.search(adjustment.source_ref):
        return adjustment.source_ref
    return {"rectification": "整改督办", "manual": "人工录入"}.get(adjustment.source, "加扣分登记")


#: A reference to a file's line (通报.xlsx 第5行), which a document never prints.
LINE_REF = re.compile(r"\.(xlsx|xls|csv|json|jsonl)\b|第\d+行", re.IGNORECASE)
