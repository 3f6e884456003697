"""Where each figure of a report comes from: the page that shows its source."""

from __future__ import annotations

from urllib.parse import urlencode


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
