"""Kinds of report, output formats and what triggered a report."""

from __future__ import annotations

from enum import StrEnum


class ReportKind(StrEnum):
    """The three rhythms of the programme."""

    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"

    @property
    def label(self) -> str:
        return {"weekly": "周通报", "monthly": "月考评", "quarterly": "季调度"}[self.value]


class ReportFormat(StrEnum):
    docx = "docx"
    xlsx = "xlsx"
    html = "html"

    @property
    def label(self) -> str:
        return {"docx": "Word", "xlsx": "Excel", "html": "网页"}[self.value]

    @property
    def media_type(self) -> str:
        return {
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "html": "text/html; charset=utf-8",
        }[self.value]


class ReportTrigger(StrEnum):
    manual = "manual"
    job = "job"

    @property
    def label(self) -> str:
        return {"manual": "手动生成", "job": "定时生成"}[self.value]
