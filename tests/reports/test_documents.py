"""The generated DOCX, XLSX and HTML: layout, headings, tables against the score sheets."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR
from tongban.reports import service
from tongban.reports.enums import ReportFormat, ReportKind
from tongban.reports.service import ReportRequest

MONTHLY = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")


def rendered(db: Session, request: ReportRequest) -> dict[ReportFormat, bytes]:
    return service.render(service.build(db, actor=SYSTEM_ACTOR, request=request))


def docx_text(doc: object) -> str:
    parts = [p.text for p in doc.paragraphs]  # type: ignore[attr-defined]
    for table in doc.tables:  # type: ignore[attr-defined]
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def table_titled(doc: object, title: str) -> list[list[str]]:
    """Rows of the DOCX table whose caption paragraph (just before it) is ``title``."""
    body = doc.element.body  # type: ignore[attr-defined]
    previous = None
    for child in body.iterchildren():
        if child.tag == qn("w:tbl") and previous == title:
            return [[c.xpath("string(.)") for c in row.iterchildren(qn("w:tc"))]
                    for row in child.iterchildren(qn("w:tr"))]
        if child.tag == qn("w:p"):
            previous = child.xpath("string(.)")
    raise AssertionError(f"没有标题为「{title}」的表格")


def test_monthly_docx_is_laid_out_as_an_official_document(db: Session) -> None:
    doc = open_docx(io.BytesIO(rendered(db, MONTHLY)[ReportFormat.docx]))
    section = doc.sections[0]
    def mm(length: object) -> float:
        return round(length.mm, 1)  # type: ignore[attr-defined]

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.bottom_margin)) == (37, 35)
    assert (mm(section.left_margin), mm(section.right_margin)) == (28, 26)
    masthead = doc.paragraphs[0]
    assert masthead.text == "巴中市政务服务和大数据管理局"
    assert masthead.runs[0].font.color.rgb == RGBColor(0xC0, 0x00, 0x00)
    assert masthead.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    rule = next(p for p in doc.paragraphs if p._p.xpath("./w:pPr/w:pBdr/w:bottom"))
    assert rule._p.xpath("string(./w:pPr/w:pBdr/w:bottom/@w:color)") == "C00000"
    title = next(p for p in doc.paragraphs if p.text == "2026年3月巴中市县区类考评情况通报")
    assert title.alignment == 1  # centred
    title_font = title.runs[0].font
    assert title_font.size == Pt(22)
    assert title.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert doc.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["Heading 2"].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    texts = [p.text for p in doc.paragraphs]
    assert texts[texts.index(title.text) + 3] == "各县（区）政务服务和大数据管理局，市级各部门："
    issuer, dated = doc.paragraphs[-2], doc.paragraphs[-1]
    assert (issuer.text, issuer.alignment) == ("巴中市政务服务和大数据管理局", 2)
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", dated.text) and dated.alignment == 2
    for footer, side in ((section.footer, 2), (section.even_page_footer, 0)):  # outer side
        number = footer.paragraphs[0]
        assert number.text.startswith("— ") and number.text.endswith(" —")
        assert number.alignment == side
        assert "PAGE" in number._p.xpath("string(.//w:instrText)")
    assert doc.settings.odd_and_even_pages_header_footer


def test_monthly_docx_has_the_headings_and_the_league_table_of_the_sheet(db: Session) -> None:
    doc = open_docx(io.BytesIO(rendered(db, MONTHLY)[ReportFormat.docx]))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、总体情况", "二、排名情况", "三、失分情况", "四、加扣分情况",
                        "五、等次为“差”的单位", "六、好差评指标"]
    sheet = assessment.require_sheet(db, cohort_code="bz-counties", period="2026-03")
    rows = table_titled(doc, "巴中市县区类2026年3月考评排名")
    assert rows[0] == ["名次", "单位", "总分", "名次变化", "等次"]  # nothing was adjusted
    expected = sorted(sheet.lines, key=lambda ln: (ln.rank, ln.org.code))
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        (str(ln.rank), ln.org.name, f"{ln.total:.2f}") for ln in expected]
    grades = {"good": "好", "fair": "中", "poor": "差"}
    assert [r[4] for r in rows[1:]] == [grades[ln.grade] for ln in expected]
    header = doc.tables[0].rows[0]._tr
    assert header.trPr.find(qn("w:tblHeader")) is not None
    for table in doc.tables:
        assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)


def test_monthly_docx_is_chinese_with_an_embedded_chart_and_no_template_residue(db: Session) -> None:
    doc = open_docx(io.BytesIO(rendered(db, MONTHLY)[ReportFormat.docx]))
    text = docx_text(doc)
    assert "参评" in text and "失分最多的是" in text
    assert "{" not in text and "}" not in text and "None" not in text
    assert len(doc.inline_shapes) >= 1
    image = doc.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    assert doc.part.related_parts[image].content_type == "image/png"


def test_monthly_xlsx_has_one_sheet_per_table_with_the_same_numbers(db: Session) -> None:
    files = rendered(db, MONTHLY)
    book = load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    assert book.sheetnames[:4] == ["说明", "排名", "指标失分", "好差评"] or \
        book.sheetnames[:3] == ["说明", "排名", "指标失分"]
    ranking = book["排名"]
    assert ranking.freeze_panes == "A2"
    assert [c.value for c in ranking[1]] == ["名次", "单位", "总分", "名次变化", "等次"]
    sheet = assessment.require_sheet(db, cohort_code="bz-counties", period="2026-03")
    expected = sorted(sheet.lines, key=lambda ln: (ln.rank, ln.org.code))
    values = [[c.value for c in row] for row in ranking.iter_rows(min_row=2)]
    assert [(v[0], v[1], v[2]) for v in values] == [(ln.rank, ln.org.name, ln.total)
                                                      for ln in expected]
    assert ranking.cell(row=2, column=3).number_format == "0.00"
    docx_rows = table_titled(open_docx(io.BytesIO(files[ReportFormat.docx])),
                             "巴中市县区类2026年3月考评排名")
    assert [r[2] for r in docx_rows[1:]] == [f"{v[2]:.2f}" for v in values]
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and ("{" in v or "}" in v) for v in row)


def test_html_links_every_figure_to_its_source_page(db: Session) -> None:
    html = rendered(db, MONTHLY)[ReportFormat.html].decode()
    assert "<title>2026年3月巴中市县区类考评情况通报</title>" in html
    assert 'href="http://127.0.0.1:8000/assessment?cohort=bz-counties&amp;period=2026-03"' in html
    assert re.search(r'href="http://127\.0\.0\.1:8000/assessment/bz-counties/2026-03/orgs/\d+"', html)
    assert "data:image/png;base64," in html
    body = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert "{" not in body and "}" not in body


def test_quarterly_tells_what_the_deduction_cost_the_city(db: Session) -> None:
    document = service.build(db, actor=SYSTEM_ACTOR, request=ReportRequest(
        ReportKind.quarterly, cohort="sichuan-cities", period="2026Q1"))
    doc = open_docx(io.BytesIO(service.render(document)[ReportFormat.docx]))
    text = docx_text(doc)
    assert "本季度1—3月，巴中市在全省分别排第1名、第15名" in text
    assert re.search(r"若未扣2\.6分（[^）]+），2月可保持全省第1名（实际第15名", text)
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、排名走势", "二、优势与短板", "三、假设分析", "四、与第一方阵的距离",
                        "五、可挽回分值优先清单", "六、各单位情况"]
    trajectory = table_titled(doc, "四川省的21个市(州)各月名次")
    city = next(r for r in trajectory if r[0] == "巴中市")
    ranks = [assessment.line_of(db, actor=SYSTEM_ACTOR, sheet=assessment.require_sheet(
        db, cohort_code="sichuan-cities", period=p), org_ref="巴中").rank
        for p in ("2026-01", "2026-02", "2026-03")]
    assert city[1:4] == [str(r) for r in ranks]
    assert len(trajectory) == 22
    assert len(doc.inline_shapes) >= 1


def test_quarterly_of_a_city_cohort_has_a_paragraph_per_org(db: Session) -> None:
    document = service.build(db, actor=SYSTEM_ACTOR, request=ReportRequest(
        ReportKind.quarterly, cohort="bz-counties", period="2026Q1"))
    per_org = next(s for s in document.sections if s.heading == "各单位情况")
    sheet = assessment.require_sheet(db, cohort_code="bz-counties", period="2026-03")
    names = {ln.org.name for ln in sheet.lines}
    starts = {p.text.split("：")[0] for p in per_org.blocks}  # type: ignore[union-attr]
    assert starts == names


def test_weekly_bulletin_counts_the_tasks_of_its_week(db: Session) -> None:
    from tongban.org import service as org_service
    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskSource

    request = ReportRequest(ReportKind.weekly, as_of=date(2026, 12, 7))
    before = service.build(db, actor=SYSTEM_ACTOR, request=request)
    rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="事项认领",
        title="认领遗漏事项", org=org_service.resolve_org(db, ref="恩阳区"),
        issued_on=date(2026, 12, 1), due_on=date(2026, 12, 4),
        lines=[rectification.LineInput("", "事项", "未认领")])
    after = service.build(db, actor=SYSTEM_ACTOR, request=request)
    assert after.subtitle == "（2026年第49周：11月30日至12月6日）"

    def row(document: object) -> list[object]:
        table = next(t for t in document.tables() if t.sheet == "整改任务")  # type: ignore[attr-defined]
        found = [r for r in table.rows if r[0].value == "恩阳区"]
        return [c.value for c in found[0][1:]] if found else [0, 0, 0, 0]

    assert [a - b for a, b in zip(row(after), row(before), strict=True)] == [1, 0, 1, 1]
    overview = after.sections[0].blocks[0].text  # type: ignore[union-attr]
    assert "本周（11月30日至12月6日），新下发整改任务" in overview
    late = next(t for t in after.tables() if t.sheet == "逾期任务")
    assert any(r[1].value == "认领遗漏事项" and r[4].value == 3 for r in late.rows)


@pytest.mark.parametrize("bad", [
    ReportRequest(ReportKind.quarterly, cohort="bz-counties", period="2026-Q5"),
    ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-13"),
    ReportRequest(ReportKind.monthly, cohort="", period="2026-03"),
])
def test_bad_requests_are_refused_in_chinese(db: Session, bad: ReportRequest) -> None:
    from tongban.core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        service.build(db, actor=SYSTEM_ACTOR, request=bad)
    assert re.search(r"[\u4e00-\u9fff]", exc.value.message)


def test_the_weekly_bulletin_quotes_the_newest_published_sheet_not_a_draft(db: Session) -> None:
    """The demo's 2026-04 sheet of the province's cities is a draft: the bulletin quotes March."""
    request = ReportRequest(ReportKind.weekly, as_of=date(2026, 12, 7))
    text = "".join(str(getattr(b, "text", "")) for s in service.build(
        db, actor=SYSTEM_ACTOR, request=request).sections for b in s.blocks)
    assert "在最新发布的一期（2026年3月）四川省的21个市(州)成绩单中，巴中市得" in text
    assert "最新一期（2026年4月）" not in text  # the draft may warn (marked), never rank
