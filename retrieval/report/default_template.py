"""The default report template, built with python-docx in the administrative format of Decree
30/2020/NĐ-CP (Appendix I): A4, margins 20/20/30/15 mm, Times New Roman; the issuing body beside
the national motto, number/symbol and place-date left for the clerk to fill in, "BÁO CÁO" and its
subject, a table of the tasks grouped by document, recipients and the signature block.

Built in memory on each run (a few milliseconds) rather than committed as a binary; its jinja tags
are the fields of ``Report.context()``, each written in one run so Word never splits a tag.
"""
from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FONT = "Times New Roman"
BODY_PT = 13
TITLE_PT = 14
# Decree 30/2020, Appendix I: top and bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TASK_COLUMNS = [("STT", 12), ("Nội dung nhiệm vụ", 68), ("Vai trò", 22), ("Thời hạn", 33), ("Tình trạng", 30)]


def build_default_template() -> bytes:
    """The default template as .docx bytes."""
    doc = Document()
    _page(doc)
    _fonts(doc)
    _header_block(doc)
    _title(doc)
    _body(doc)
    _tasks_table(doc)
    _closing(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _page(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    # Page numbers: top centre, from the second page on (the decree's rule).
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    number._p.append(field)


def _fonts(doc) -> None:
    for name in ("Normal", "Table Grid"):
        style = doc.styles[name]
        style.font.name = FONT
        style.font.size = Pt(BODY_PT)
        # Word picks the font of Vietnamese letters from the east-Asian and complex-script slots too.
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(slot), FONT)
    normal = doc.styles["Normal"].paragraph_format
    normal.space_before, normal.space_after = Pt(0), Pt(0)


def _run(paragraph, text: str, size: int = BODY_PT, bold: bool = False, italic: bool = False):
    run = paragraph.add_run(text)
    run.font.name, run.font.size, run.bold, run.italic = FONT, Pt(size), bold, italic
    return run


def _centered(cell_or_doc, text: str = "", **style):
    paragraph = cell_or_doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if text:
        _run(paragraph, text, **style)
    return paragraph


def _rule_below(paragraph, indent_mm: float) -> None:
    """A short solid line under a centred line (under the slogan and the issuer's name)."""
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Mm(indent_mm)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    # Word rejects a file whose paragraph properties are out of the schema's order.
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_PBDR)


_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
               "w:rPr", "w:sectPr", "w:pPrChange")


def _header_block(doc) -> None:
    """Issuer (left) beside the national motto (right), then number/symbol and place-date."""
    table = doc.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _widths(table, (65, 100))
    issuer, motto = table.rows[0].cells
    issuer.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(issuer.paragraphs[0], "{{ issuer_parent }}")
    _rule_below(_centered(issuer, "{{ issuer }}", bold=True), indent_mm=20)
    motto.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(motto.paragraphs[0], "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    _rule_below(_centered(motto, "Độc lập - Tự do - Hạnh phúc", size=TITLE_PT, bold=True), indent_mm=15)
    number, place = table.rows[1].cells
    number.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number.paragraphs[0], "Số: …/BC-…")
    place.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(place.paragraphs[0], "Lạng Sơn, ngày … tháng … năm …", italic=True)


def _title(doc) -> None:
    _centered(doc)
    _centered(doc, "BÁO CÁO", size=TITLE_PT, bold=True)
    subject = _centered(doc, "Tình hình thực hiện nhiệm vụ UBND tỉnh giao", size=TITLE_PT, bold=True)
    _run(subject, "{% if period %} ({{ period }}){% endif %}", size=TITLE_PT, bold=True)
    _rule_below(_centered(doc), indent_mm=60)
    _centered(doc)


def _body(doc) -> None:
    intro = doc.add_paragraph()
    intro.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    intro.paragraph_format.first_line_indent = Mm(10)
    _run(intro, "{{ agency }} báo cáo tình hình thực hiện các nhiệm vụ được giao theo các văn bản chỉ đạo, "
                "điều hành của UBND tỉnh{% if period %} ban hành {{ period }}{% endif %}, tính đến ngày {{ today }}, "
                "như sau:")
    summary = doc.add_paragraph()
    summary.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    summary.paragraph_format.first_line_indent = Mm(10)
    _run(summary, "Tổng số {{ total }} nhiệm vụ, trong đó: {{ overdue }} nhiệm vụ quá hạn, "
                  "{{ due_soon }} nhiệm vụ sắp đến hạn (trong 7 ngày tới), {{ open }} nhiệm vụ đang thực hiện."
                  "{% if internal %} Có {{ internal }} nhiệm vụ theo văn bản nội bộ (đánh dấu [Nội bộ]): "
                  "không công bố ra ngoài.{% endif %}")
    empty = doc.add_paragraph()
    empty.paragraph_format.first_line_indent = Mm(10)
    _run(empty, "{%p if not groups %}")
    message = doc.add_paragraph()
    message.paragraph_format.first_line_indent = Mm(10)
    _run(message, "Không có nhiệm vụ nào được giao trong kỳ báo cáo.")
    doc.add_paragraph().add_run("{%p endif %}")


def _tasks_table(doc) -> None:
    """Header, then per document a merged row naming it and one row per task (docxtpl's {%tr %})."""
    table = doc.add_table(rows=7, cols=len(TASK_COLUMNS))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _widths(table, [width for _, width in TASK_COLUMNS])
    for cell, (heading, _) in zip(table.rows[0].cells, TASK_COLUMNS):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], heading, bold=True)
    _repeat_as_header(table.rows[0])
    _run(table.rows[1].cells[0].paragraphs[0], "{%tr for group in groups %}")
    document = table.rows[2].cells[0].merge(table.rows[2].cells[-1])
    _run(document.paragraphs[0], "{{ group.number }}. {{ group.label }}", bold=True)
    _run(table.rows[3].cells[0].paragraphs[0], "{%tr for task in group.tasks %}")
    number, action, role, deadline, status = table.rows[4].cells
    number.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number.paragraphs[0], "{{ task.number }}")
    _run(action.paragraphs[0], "{{ task.action }}")
    _run(role.paragraphs[0], "{{ task.role }}{% if task.successor_of %} (thay {{ task.successor_of }}){% endif %}"
                             "{% if task.shared_as %} (giao chung: {{ task.shared_as }}){% endif %}")
    _run(deadline.paragraphs[0], "{% if task.deadline %}{{ task.deadline }}{% else %}Không nêu thời hạn{% endif %}")
    _run(status.paragraphs[0], "{{ task.status }}")
    # docxtpl replaces a whole {%tr %} row by its one tag: each loop closes in a row of its own.
    _run(table.rows[5].cells[0].paragraphs[0], "{%tr endfor %}")
    _run(table.rows[6].cells[0].paragraphs[0], "{%tr endfor %}")


def _widths(table, millimetres) -> None:
    """Column widths in both places: the grid (LibreOffice reads it) and each cell (Word reads those)."""
    for column, width in zip(table.columns, millimetres):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)


def _repeat_as_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _closing(doc) -> None:
    doc.add_paragraph()
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    recipients, signature = table.rows[0].cells
    _widths(table, (85, 80))
    _run(recipients.paragraphs[0], "Nơi nhận:", size=12, bold=True, italic=True)
    for line in ("- UBND tỉnh (b/c);", "- Văn phòng UBND tỉnh;", "- Lưu: VT."):
        _run(recipients.add_paragraph(), line, size=11)
    signature.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(signature.paragraphs[0], "THỦ TRƯỞNG CƠ QUAN", bold=True)
    _centered(signature, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True)


if __name__ == "__main__":
    # `python -m retrieval.report.default_template FILE.docx`: a copy to start a template of your own.
    import sys
    from pathlib import Path

    from retrieval.report.rendering import write_atomically

    if len(sys.argv) != 2 or not sys.argv[1].endswith(".docx"):
        sys.exit("usage: python -m retrieval.report.default_template FILE.docx")
    write_atomically(Path(sys.argv[1]), build_default_template())
