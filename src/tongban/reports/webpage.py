"""HTML of a report: the in-app preview and the self-contained archived page share one body."""

from __future__ import annotations

import base64

from tongban.core.templating import templates
from tongban.reports.document import DRAFT_MARK, Chart, Document, Paragraph, Section, Table


def block_kind(block: object) -> str:
    if isinstance(block, Section):
        return "section"
    if isinstance(block, Paragraph):
        return "paragraph"
    if isinstance(block, Table):
        return "table"
    assert isinstance(block, Chart)
    return "chart"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


templates.env.globals["report_block_kind"] = block_kind
templates.env.filters["data_uri"] = data_uri
templates.env.globals["draft_mark"] = DRAFT_MARK


def render(document: Document, *, link_base: str) -> str:
    """A standalone, printable page; links to source pages start with ``link_base``."""
    template = templates.env.get_template("reports/standalone.html")
    return template.render(doc=document, link_base=link_base.rstrip("/"))
