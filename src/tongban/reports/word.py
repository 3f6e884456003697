"""DOCX laid out as a Chinese official document (GB/T 9704-2012, without a seal).

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm. 版头: the issuer's name in red
方正小标宋简体 over the 文号 and a red line; title 方正小标宋简体 二号 centred; 主送机关 flush
left; body 仿宋_GB2312 三号, 28 pt lines (22 a page) with a two-character first-line indent;
level-1 headings 黑体, level-2 楷体_GB2312; 落款 and 成文日期 at the end, the issuer two
characters from the right and the date two characters right of the issuer's first character;
page numbers "— 1 —" 宋体 四号 on the outer side (odd pages right, even left). Tables keep
every row whole, repeat their header on every page, and get column widths that keep headers
and numbers whole (:mod:`tongban.reports.widths`); a table too wide for the page gets a
landscape page of its own.

The fonts are named, not embedded, as offices have them installed. Where they are not (a
server converting to PDF), :data:`FALLBACK_FONTS` names the Noto CJK font to use instead: it is
written into the DOCX font table as each font's ``w:altName`` and, for LibreOffice, as
fontconfig aliases (:func:`fontconfig_aliases`).
"""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.document import Document as Docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.section import Section as DocxSection
from docx.shared import Length, Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
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
from tongban.reports.widths import layout, units

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
RED = RGBColor(0xC0, 0x00, 0x00)
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
TOP, BOTTOM, LEFT, RIGHT = Mm(37), Mm(35), Mm(28), Mm(26)
#: Width of the text on a portrait page and on a landscape one (margins turned with the page).
PORTRAIT_TEXT_MM = 210 - 28 - 26
LANDSCAPE_TEXT_MM = 297 - 37 - 35

#: The Noto CJK font that stands in for each 公文 font where it is not installed.
FALLBACK_FONTS = {
    TITLE_FONT: "Noto Serif CJK SC",
    BODY_FONT: "Noto Serif CJK SC",
    HEADING1_FONT: "Noto Sans CJK SC",
    HEADING2_FONT: "Noto Serif CJK SC",
    PAGE_NUMBER_FONT: "Noto Serif CJK SC",
}


def _font(element_rpr_owner: Run | ParagraphStyle, name: str, size: Length | None = None,
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


def fontconfig_aliases() -> str:
    """A fontconfig file that makes the 公文 fonts fall back to :data:`FALLBACK_FONTS`, for
    LibreOffice converting a report to PDF on a machine without them (``FONTCONFIG_FILE``)."""
    aliases = "".join(
        f"  <alias binding=\"same\"><family>{name}</family><accept><family>{noto}</family>"
        f"</accept></alias>\n" for name, noto in FALLBACK_FONTS.items())
    return ("<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\n"
            "  <include ignore_missing=\"yes\">/etc/fonts/fonts.conf</include>\n"
            f"{aliases}</fontconfig>\n")


def _font_table(doc: Docx) -> None:
    """Name each 公文 font in the font table with its Noto CJK stand-in (``w:altName``)."""
    part = next(p for p in doc.part.package.iter_parts()
                if str(p.partname) == "/word/fontTable.xml")
    root = parse_xml(part.blob)
    for name, noto in FALLBACK_FONTS.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", noto), ("w:charset", "86"), ("w:family", "modern"),
                           ("w:pitch", "fixed")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    part._blob = serialize_part_xml(root)


def _page(section: DocxSection, *, landscape: bool = False) -> None:
    if landscape:  # turned a quarter: the binding edge (left) becomes the top
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = PAGE_HEIGHT, PAGE_WIDTH
        section.top_margin, section.bottom_margin = LEFT, RIGHT
        section.left_margin, section.right_margin = TOP, BOTTOM
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        section.top_margin, section.bottom_margin = TOP, BOTTOM
        section.left_margin, section.right_margin = LEFT, RIGHT
    section.footer_distance = Mm(20)


def _setup(doc: Docx) -> None:
    _page(doc.sections[0])
    _font_table(doc)

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
    """A draft's page header, on every page (odd and even): 草稿 in red."""
    section = doc.sections[0]
    for header in (section.header, section.even_page_header):
        paragraph = header.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = paragraph.add_run(DRAFT_MARK)
        _font(run, HEADING1_FONT, SI_HAO)
        run.font.color.rgb = RED


def _page_number(paragraph: DocxParagraph) -> None:
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


def _page_numbers(doc: Docx) -> None:
    """Footer "— N —" (宋体 四号) on the outer side, one character in: odd pages on the
    right, even pages on the left."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    odd = section.footer.paragraphs[0]
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = SI_HAO
    _page_number(odd)
    even = section.even_page_footer.paragraphs[0]
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = SI_HAO
    _page_number(even)


def _line(doc: Docx, text: str = "", *, font: str = BODY_FONT, size: Length = SAN_HAO,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT, right_chars: float = 0,
          spacing: Length | None = None) -> DocxParagraph:
    """A paragraph without first-line indent (title block, 主送机关, 落款)."""
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(0)
    if right_chars:
        fmt.right_indent = Pt(16 * right_chars)
    if spacing is not None:
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, spacing
    if text:
        _font(paragraph.add_run(text), font, size)
    return paragraph


def _red_rule(paragraph: DocxParagraph) -> None:
    """The red separator line of the 版头, under ``paragraph`` and as wide as the text."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for attr, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "8"),
                        ("w:color", "C00000")):
        bottom.set(qn(attr), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _masthead(doc: Docx, document: Document) -> None:
    """版头: the issuer in red 小标宋 as large as fits one line (at most 小初, 36 pt), the
    文号 centred under it and the red line."""
    if document.masthead:
        size = Pt(min(36, int(PORTRAIT_TEXT_MM / 25.4 * 72 * 0.92 / units(document.issuer))))
        name = _line(doc, document.issuer, font=TITLE_FONT, size=size,
                     align=WD_ALIGN_PARAGRAPH.CENTER, spacing=Pt(size.pt * 1.4))
        name.paragraph_format.space_before = Pt(28)
        name.runs[0].font.color.rgb = RED
        _line(doc)
    if document.number or document.masthead:
        number = _line(doc, document.number, align=WD_ALIGN_PARAGRAPH.CENTER)
        if document.masthead:
            _red_rule(number)
        _line(doc)


#: Full-width characters of 2号 on the 156 mm line of an A4 page with the standard margins.
TITLE_LINE_CHARS = 20


def title_lines(title: str, per_line: float = TITLE_LINE_CHARS) -> list[str]:
    """The title as it breaks on the page: whole, or in two lines at a natural point (after
    its period: 2026年第一季度 | 四川省的21个市(州)考评调度情况), the halves as even as they
    can be, never mid-word as a line that merely runs out would."""
    if units(title) <= per_line:
        return [title]
    cuts = [i + 1 for i, ch in enumerate(title[:-1])
            if ch in "年度月周）)" and not title[i + 1].isdigit()]
    fitting = [i for i in cuts if units(title[:i]) <= per_line and units(title[i:]) <= per_line]
    if not fitting:
        return [title]
    best = min(fitting, key=lambda i: abs(units(title[:i]) - units(title[i:])))
    return [title[:best], title[best:]]


def _title(doc: Docx, document: Document) -> None:
    heading = _line(doc, font=TITLE_FONT, size=ER_HAO, align=WD_ALIGN_PARAGRAPH.CENTER,
                    spacing=Pt(35))
    for n, part in enumerate(title_lines(document.title)):
        run = heading.add_run(part)
        _font(run, TITLE_FONT, ER_HAO)
        if n == 0 and part != document.title:
            run.add_break()
    if document.subtitle:
        _line(doc, document.subtitle, font=HEADING2_FONT, align=WD_ALIGN_PARAGRAPH.CENTER)
    if document.as_of:
        _line(doc, document.as_of, font=HEADING2_FONT, size=XIAO_SI,
              align=WD_ALIGN_PARAGRAPH.CENTER, spacing=Pt(20))
    _line(doc)
    if document.recipients:
        _line(doc, document.recipients + "：")


def _keep_with_signature(doc: Docx) -> None:
    """GB/T 9704: the 落款 never stands alone on a page — the body's last paragraph (or the
    last row of a closing table) moves to the next page with it."""
    body = [child for child in doc.element.body.iterchildren()
            if child.tag in (qn("w:p"), qn("w:tbl"))]
    if not body:
        return
    last = body[-1]
    if last.tag == qn("w:tbl"):
        rows = last.findall(qn("w:tr"))
        paragraphs = rows[-1].iter(qn("w:p")) if rows else iter(())
    else:
        paragraphs = iter((last,))
    for paragraph in paragraphs:
        DocxParagraph(paragraph, doc).paragraph_format.keep_with_next = True


def _signature(doc: Docx, document: Document) -> None:
    """落款 without a seal: the issuer two characters from the right, the date under it
    starting two characters right of the issuer's first character (if the date is the longer,
    the date two characters from the right and the issuer moved to match)."""
    issuer, dated = units(document.issuer), units(document.date_line)
    issuer_right, date_right = 2.0, issuer - dated
    if date_right < 2:
        date_right = 2.0
        issuer_right = date_right + dated + 2 - issuer
    _line(doc).paragraph_format.keep_with_next = True
    name = _line(doc, document.issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=issuer_right)
    name.paragraph_format.keep_with_next = True
    _line(doc, document.date_line, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=date_right)


def _paragraph(doc: Docx, block: Paragraph) -> None:
    _portrait(doc)
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(32)
    paragraph.add_run(("· " if block.bullet else "") + block.text)


def _row_properties(row_pr: object, *, header: bool) -> None:
    """Keep the row whole on one page; repeat it on every page if it is the header."""
    for tag, wanted in (("w:cantSplit", True), ("w:tblHeader", header)):
        if wanted:
            element = OxmlElement(tag)
            element.set(qn("w:val"), "true")
            row_pr.append(element)  # type: ignore[attr-defined]


def _fixed_widths(table_xml: object, widths: list[Length]) -> None:
    """A fixed layout with these column widths and 1 mm cell margins."""
    tbl_pr = table_xml.tblPr  # type: ignore[attr-defined]
    fixed = OxmlElement("w:tblLayout")
    fixed.set(qn("w:type"), "fixed")
    tbl_pr.append(fixed)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(Mm(1).twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    tbl_pr.append(margins)
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(sum(w.twips for w in widths)))
    width.set(qn("w:type"), "dxa")
    for old in tbl_pr.findall(qn("w:tblW")):
        tbl_pr.remove(old)
    tbl_pr.append(width)


def _cell_paragraph(paragraph: DocxParagraph, size: Length) -> None:
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(0)
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(size.pt * 1.35)


def _table(doc: Docx, block: Table) -> None:
    """A table with its caption and note; on a landscape page of its own when it is too wide
    for a portrait one."""
    shape = layout(block, portrait_mm=PORTRAIT_TEXT_MM, landscape_mm=LANDSCAPE_TEXT_MM)
    if shape.landscape and not _landscape(doc):
        _page(doc.add_section(WD_SECTION.NEW_PAGE), landscape=True)
    elif not shape.landscape:
        _portrait(doc)
    size = Pt(shape.font_pt)
    widths: list[Length] = [Mm(w) for w in shape.widths_mm]
    caption = _line(doc, block.title, font=HEADING1_FONT, size=SI_HAO,
                    align=WD_ALIGN_PARAGRAPH.CENTER)
    caption.paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=len(block.columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _fixed_widths(table._tbl, widths)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for cell, lines, width in zip(table.rows[0].cells, shape.headers, widths, strict=True):
        cell.width = width
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _cell_paragraph(paragraph, size)
        run = paragraph.add_run(lines[0])
        for line in lines[1:]:
            run.add_break()
            run.add_text(line)
        _font(run, HEADING1_FONT, size)
    _row_properties(table.rows[0]._tr.get_or_add_trPr(), header=True)
    for row in block.rows:
        added = table.add_row()
        _row_properties(added._tr.get_or_add_trPr(), header=False)
        for cell, value, column, width in zip(added.cells, row, block.columns, widths,
                                              strict=True):
            cell.width = width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = cell.paragraphs[0]
            _cell_paragraph(paragraph, size)
            if column.kind is not CellKind.text:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(paragraph.add_run(value.shown(column.kind)), BODY_FONT, size)
    if block.note:
        note = _line(doc, block.note, size=XIAO_SI, spacing=Pt(20))
        note.paragraph_format.space_before = Pt(4)


def _landscape(doc: Docx) -> bool:
    return doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE


def _portrait(doc: Docx) -> None:
    """Back to portrait pages after a landscape table; the 落款 stays with the last table."""
    if _landscape(doc):
        _page(doc.add_section(WD_SECTION.NEW_PAGE))


def _chart(doc: Docx, block: Chart) -> None:
    _portrait(doc)
    doc.add_picture(io.BytesIO(block.png), width=Mm(150))
    picture = doc.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    picture.paragraph_format.first_line_indent = Pt(0)
    picture.paragraph_format.keep_with_next = bool(block.caption)
    if block.caption:
        _line(doc, block.caption, size=XIAO_SI, align=WD_ALIGN_PARAGRAPH.CENTER)


def _blocks(doc: Docx, blocks: list[Block | Section]) -> None:
    subsection = 0
    for block in blocks:
        if isinstance(block, Section):
            if not block.blocks:
                continue
            subsection += 1
            _portrait(doc)
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
    if document.number:
        doc.core_properties.identifier = document.number
    _masthead(doc, document)
    _title(doc, document)
    for i, section in enumerate(document.shown_sections()):
        _portrait(doc)
        doc.add_paragraph(f"{CHINESE_NUMERALS[i % 10]}、{section.heading}", style="Heading 1")
        _blocks(doc, section.blocks)
    _keep_with_signature(doc)
    _signature(doc, document)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
