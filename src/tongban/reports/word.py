"""DOCX laid out as a Chinese official document (GB/T 9704-2012).

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; title 方正小标宋简体 二号 centred;
body 仿宋_GB2312 三号 with a two-character first-line indent; level-1 headings 黑体, level-2
楷体_GB2312; page numbers "— 1 —" at the foot; tables repeat their header row on every page.
The fonts are named, not embedded, as offices have them installed.
"""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.document import Document as Docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from tongban.reports.document import (
    DRAFT_MARK,
    Block,
    CellKind,
    Chart,
    Document,
    Paragraph,
    Section,
    Table,
)

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
ER_HAO = Pt(22)  # 二号
SAN_HAO = Pt(16)  # 三号
SI_HAO = Pt(14)  # 四号
XIAO_SI = Pt(12)  # 小四
LINE = Pt(28)  # 22 lines on a page
CHINESE_NUMERALS = "一二三四五六七八九十"


def _font(element_rpr_owner: Run | ParagraphStyle, name: str, size: Pt | None = None,
          bold: bool | None = None) -> None:
    """Set Latin and East Asian font names (Word picks ``w:eastAsia`` for Chinese text)."""
    font = element_rpr_owner.font
    font.name = name
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    rpr = element_rpr_owner.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _setup(doc: Docx) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(20)

    normal = doc.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _font(normal, BODY_FONT, SAN_HAO)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    fmt.space_before = fmt.space_after = Pt(0)
    for style_name, font in (("Heading 1", HEADING1_FONT), ("Heading 2", HEADING2_FONT)):
        style = doc.styles[style_name]
        assert isinstance(style, ParagraphStyle)
        _font(style, font, SAN_HAO, bold=False)
        style.font.color.rgb = None
        style.font.italic = False
        style.paragraph_format.first_line_indent = Pt(32)
        style.paragraph_format.space_before = style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        style.paragraph_format.line_spacing = LINE
        style.paragraph_format.keep_with_next = True
    _page_numbers(doc)


def _draft_header(doc: Docx) -> None:
    """A draft's page header, on every page: 草稿 in red."""
    paragraph = doc.sections[0].header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(DRAFT_MARK)
    _font(run, HEADING1_FONT, SI_HAO)
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def _page_numbers(doc: Docx) -> None:
    """Footer "— N —" (宋体 四号), centred."""
    paragraph = doc.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("— "), PAGE_NUMBER_FONT, SI_HAO)
    run = paragraph.add_run()
    _font(run, PAGE_NUMBER_FONT, SI_HAO)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, None),
                       ("end", None)):
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            shown = OxmlElement("w:t")
            shown.text = "1"
            run._r.append(shown)
    _font(paragraph.add_run(" —"), PAGE_NUMBER_FONT, SI_HAO)


def _centred(doc: Docx, text: str, font: str, size: Pt) -> DocxParagraph:
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)
    _font(paragraph.add_run(text), font, size)
    return paragraph


def _paragraph(doc: Docx, block: Paragraph) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(32)
    paragraph.add_run(("· " if block.bullet else "") + block.text)


def _repeat_header(table: DocxTable) -> None:
    row_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_pr.append(header)


def _table(doc: Docx, block: Table) -> None:
    caption = _centred(doc, block.title, HEADING1_FONT, SI_HAO)
    caption.paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=len(block.columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, column in zip(table.rows[0].cells, block.columns, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(column.label), HEADING1_FONT, XIAO_SI)
    _repeat_header(table)
    for row in block.rows:
        cells = table.add_row().cells
        for cell, value, column in zip(cells, row, block.columns, strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.first_line_indent = Pt(0)
            paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            if column.kind is not CellKind.text:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(paragraph.add_run(value.shown(column.kind)), BODY_FONT, XIAO_SI)
    if block.note:
        note = doc.add_paragraph()
        _font(note.add_run(block.note), BODY_FONT, XIAO_SI)


def _chart(doc: Docx, block: Chart) -> None:
    doc.add_picture(io.BytesIO(block.png), width=Mm(150))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.paragraphs[-1].paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    doc.paragraphs[-1].paragraph_format.first_line_indent = Pt(0)
    if block.caption:
        _centred(doc, block.caption, BODY_FONT, XIAO_SI)


def _blocks(doc: Docx, blocks: list[Block | Section]) -> None:
    subsection = 0
    for block in blocks:
        if isinstance(block, Section):
            subsection += 1
            doc.add_paragraph(f"（{CHINESE_NUMERALS[(subsection - 1) % 10]}）{block.heading}",
                              style="Heading 2")
            _blocks(doc, block.blocks)
        elif isinstance(block, Paragraph):
            _paragraph(doc, block)
        elif isinstance(block, Table):
            _table(doc, block)
        else:
            _chart(doc, block)


def render(document: Document) -> bytes:
    """The report as a DOCX file."""
    doc = new_docx()
    _setup(doc)
    if document.draft:
        _draft_header(doc)
    doc.core_properties.title = document.title
    doc.core_properties.author = document.issuer
    _centred(doc, document.title, TITLE_FONT, ER_HAO)
    if document.subtitle:
        _centred(doc, document.subtitle, HEADING2_FONT, SAN_HAO)
    _centred(doc, f"{document.issuer}　{document.date_line}", BODY_FONT, SAN_HAO)
    if document.as_of:
        _centred(doc, document.as_of, BODY_FONT, SI_HAO)
    for i, section in enumerate(document.sections):
        doc.add_paragraph(f"{CHINESE_NUMERALS[i % 10]}、{section.heading}", style="Heading 1")
        _blocks(doc, section.blocks)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
