"""Kinds of report, output formats and what triggered a report."""

from __future__ import annotations

from tongban.core.choices import Choice


class ReportKind(Choice):
    """The three rhythms of the programme."""

    weekly = "weekly", "周通报"
    monthly = "monthly", "月考评"
    quarterly = "quarterly", "季调度"


class ReportFormat(Choice):
    docx = "docx", "Word"
    xlsx = "xlsx", "Excel"
    html = "html", "网页"

    @property
    def media_type(self) -> str:
        return {
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "html": "text/html; charset=utf-8",
        }[self.value]


class ReportTrigger(Choice):
    manual = "manual", "手动生成"
    job = "job", "定时生成"
