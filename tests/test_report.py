"""`trolyao report`: an agency's tasks as a Word report an official can sign and send.

Read back with python-docx, as a clerk would open it: one row per task of the agency (action, role,
deadline, status against the pinned day) under the document that assigns it (type, number, date,
issuer); the default template in Decree 30/2020's layout; a user's own template with the documented
fields; clear errors that leave no file behind. Tasks come from the text alone, so the reports read
the fast test index (same tasks as with the real model).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document

from test_cli import assert_clean_error, invoke, run

from retrieval.tasks.store import load_registry


def report(index: Path, out: Path, *args: str, env: dict | None = None):
    result = invoke("report", "--index", str(index), "--out", str(out), *args, env=env)
    assert result.exit_code == 0, result.output
    return Document(str(out))


def task_table(doc):
    return next(t for t in doc.tables if t.rows[0].cells[0].text == "STT")


def grouped_rows(doc) -> dict[str, list[dict[str, str]]]:
    """{document heading: [{number, action, role, deadline, status}]}: a merged row names a document."""
    groups: dict[str, list[dict[str, str]]] = {}
    heading = None
    for row in task_table(doc).rows[1:]:
        texts = [c.text for c in row.cells]
        if len(set(texts)) == 1:           # one cell spanning the row: the document's heading
            heading = texts[0].split(". ", 1)[1]
            groups[heading] = []
        else:
            assert heading is not None, "a task row before any document heading"
            groups[heading].append(dict(zip(("number", "action", "role", "deadline", "status"), texts)))
    return groups


def all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def test_every_task_of_the_agency_is_a_row_under_its_source_document(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "syt.docx", "--agency", "so y te", "--today", "2024-05-29")
    groups = grouped_rows(doc)
    expected = load_registry(hashing_index).tasks_of("Sở Y tế", today="2024-05-29")
    assert expected, "the sample weeks give Sở Y tế tasks"
    for match in expected:
        t = match.task
        heading = f"{t.doc_type} số {t.doc_number} ngày {int(t.issued_date[8:])}/{int(t.issued_date[5:7])}/" \
                  f"{t.issued_date[:4]} của {t.issuer}"
        assert heading in groups, (heading, list(groups))
        assert t.action in [row["action"] for row in groups[heading]]
    assert sum(len(rows) for rows in groups.values()) == len(expected)
    rows_704 = groups["Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh"]
    assert len(rows_704) == 4 and {r["role"] for r in rows_704} == {"Chủ trì"}
    assert any("sốt xuất huyết" in r["action"] for r in rows_704)
    numbers = [int(r["number"]) for rows in groups.values() for r in rows]
    assert numbers == list(range(1, len(expected) + 1))
    assert "SỞ Y TẾ" in all_text(doc) and "UBND TỈNH LẠNG SƠN" in all_text(doc)


def test_status_and_deadline_against_the_pinned_day(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Các sở, ban, ngành", "--today", "2024-06-05")
    groups = grouped_rows(doc)
    plan = {r["action"][:40]: r for r in groups["Kế hoạch số 146/KH-UBND ngày 23/6/2022 của UBND tỉnh"]}
    quarter = next(r for a, r in plan.items() if a.startswith("xây dựng kế hoạch triển khai"))
    assert quarter["deadline"] == "trong quý III năm 2022 (tức 30/9/2022)" and quarter["status"] == "Quá hạn"
    review = next(r for r in groups["Công văn số 723/UBND-KT ngày 30/5/2024 của UBND tỉnh"]
                  if r["deadline"] == "trước ngày 10/6/2024")
    assert review["status"] == "Sắp đến hạn"
    standing = groups["Công văn số 703/UBND-NC ngày 27/5/2024 của UBND tỉnh"][0]
    assert (standing["deadline"], standing["status"]) == ("thường xuyên", "Đang thực hiện")
    undated = [r for rows in groups.values() for r in rows if r["deadline"] == "Không nêu thời hạn"]
    assert undated and {r["status"] for r in undated} == {"Đang thực hiện"}
    assert "Tổng số 13 nhiệm vụ, trong đó: 2 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn" in all_text(doc)

    later = grouped_rows(report(hashing_index, tmp_path / "later.docx", "--agency", "Các sở, ban, ngành",
                                "--today", "11/06/2024"))
    assert next(r for r in later["Công văn số 723/UBND-KT ngày 30/5/2024 của UBND tỉnh"]
                if r["deadline"] == "trước ngày 10/6/2024")["status"] == "Quá hạn"


def test_trolyao_today_pins_the_day_when_no_today_is_given(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Các sở, ban, ngành",
                 env={"TROLYAO_TODAY": "2024-06-11"})
    assert "tính đến ngày 11/6/2024" in all_text(doc)
    assert grouped_rows(doc)["Công văn số 723/UBND-KT ngày 30/5/2024 của UBND tỉnh"][0]["status"] == "Quá hạn"


def test_period_keeps_documents_issued_in_it(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Sở Y tế", "--from", "2024-05-01",
                 "--to", "2024-05-31", "--today", "2024-05-29")
    assert list(grouped_rows(doc)) == ["Kế hoạch số 117/KH-UBND ngày 29/5/2024 của UBND tỉnh"]
    assert "(từ ngày 1/5/2024 đến ngày 31/5/2024)" in all_text(doc)


def test_a_period_without_tasks_says_so(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Sở Y tế", "--from", "2023-01-01",
                 "--to", "2023-12-31", "--today", "2024-05-29")
    assert "Không có nhiệm vụ nào được giao trong kỳ báo cáo." in all_text(doc)
    assert len(task_table(doc).rows) == 1 and "Tổng số 0 nhiệm vụ" in all_text(doc)


def test_a_successor_reports_the_work_it_took_over(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Sở KH&CN", "--today", "2024-06-05")
    roles = {r["role"] for rows in grouped_rows(doc).values() for r in rows}
    assert roles == {"Chủ trì (thay Sở Thông tin và Truyền thông)"}
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in all_text(doc)


def test_with_shared_the_tasks_given_to_every_department_are_rows_that_say_so(hashing_index, tmp_path):
    registry = load_registry(hashing_index)
    own = {m.task.action for m in registry.tasks_of("Sở Y tế")}
    shared = {m.task.action for m in registry.shared_tasks_of("Sở Y tế")}
    assert own and shared and not own & shared
    plain = grouped_rows(report(hashing_index, tmp_path / "a.docx", "--agency", "Sở Y tế", "--today", "2024-05-29"))
    wide = grouped_rows(report(hashing_index, tmp_path / "b.docx", "--agency", "Sở Y tế", "--today", "2024-05-29",
                               "--with-shared"))
    assert {r["action"] for rows in plain.values() for r in rows} == own
    rows = [r for rows in wide.values() for r in rows]
    assert {r["action"] for r in rows} == own | shared
    assert all(("(giao chung: Các sở, ban, ngành)" in r["role"]) == (r["action"] in shared) for r in rows)


def test_default_template_follows_decree_30(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "Sở Y tế", "--today", "2024-05-29")
    text = all_text(doc)
    for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Số: …/BC-…",
                 "Lạng Sơn, ngày … tháng … năm …", "BÁO CÁO", "Nơi nhận:"):
        assert line in text
    assert "{{" not in text and "{%" not in text
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 20 <= round(section.top_margin.mm) <= 25 and 20 <= round(section.bottom_margin.mm) <= 25
    assert 30 <= round(section.left_margin.mm) <= 35 and 15 <= round(section.right_margin.mm) <= 20
    # Page numbers from the second page on.
    assert section.different_first_page_header_footer and 'w:instr="PAGE"' in section.header._element.xml
    runs = [r for p in _paragraphs(doc) for r in p.runs if r.text.strip()]
    assert runs and {r.font.name for r in runs} == {"Times New Roman"}
    body = [r for p in _paragraphs(doc) for r in p.runs if r.text.strip() and not _recipients(p)]
    assert all(13 <= r.font.size.pt <= 14 for r in body), {(r.text, r.font.size.pt) for r in body}
    title = next(r for p in doc.paragraphs for r in p.runs if r.text == "BÁO CÁO")
    assert title.bold and title.font.size.pt == 14
    motto = next(r for p in _paragraphs(doc) for r in p.runs if r.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert motto.bold


def _paragraphs(doc):
    yield from doc.paragraphs
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def _recipients(paragraph) -> bool:
    """The "Nơi nhận" block is 12/11 pt by the decree."""
    return paragraph.text.startswith(("Nơi nhận", "- "))


def user_template(path: Path, *lines: str) -> Path:
    doc = Document()
    for line in lines:
        doc.add_paragraph(line)
    doc.save(str(path))
    return path


def test_a_user_template_with_the_documented_fields(hashing_index, tmp_path):
    template = user_template(
        tmp_path / "mau.docx",
        "Báo cáo của {{ agency }} ({{ issuer }}{{ issuer_parent }}), ngày {{ today }}{{ period }}"
        "{{ date_from }}{{ date_to }} cho {{ audience }}",
        "{{ total }} = {{ overdue }} + {{ due_soon }} + {{ open }}",
        "{%p for group in groups %}",
        "{{ group.number }}) {{ group.doc_type }} {{ group.doc_number }}, {{ group.issued_date }}, {{ group.issuer }}"
        " [{{ group.label }} | {{ group.bulletin }} | {{ group.source }}]",
        "{%p for task in group.tasks %}",
        "- {{ task.number }}. {{ task.action }} / {{ task.role }}{{ task.successor_of }} / {{ task.deadline }}"
        "{{ task.deadline_date }} / {{ task.status }} ({{ task.status_key }}) / {{ task.lead }}; "
        "{{ task.partners }} / {{ task.quote }}",
        "{%p endfor %}",
        "{%p endfor %}")
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "so y te", "--today", "2024-05-29",
                 "--template", str(template))
    lines = [p.text for p in doc.paragraphs if p.text]
    assert lines[0] == "Báo cáo của Sở Y tế (SỞ Y TẾUBND TỈNH LẠNG SƠN), ngày 29/5/2024 cho public"
    assert lines[1] == "8 = 0 + 0 + 8"
    assert "1) Công văn 704/UBND-KGVX, 23/6/2022, UBND tỉnh [Công văn số 704/UBND-KGVX ngày 23/6/2022 " \
           "của UBND tỉnh | Chỉ đạo, điều hành nổi bật của UBND tỉnh" in "\n".join(lines)
    tasks = [line for line in lines if line.startswith("- ")]
    assert len(tasks) == 8 and all(" / Chủ trì / " in t and "(open)" not in t for t in tasks)
    assert any(t.startswith("- 7. triển khai thực hiện, thường xuyên") and "/ thường xuyên /" in t for t in tasks)


def test_a_template_with_an_unknown_field_is_refused_and_writes_nothing(hashing_index, tmp_path):
    template = user_template(tmp_path / "mau.docx", "Kính gửi {{ recipient }}", "{{ agency }}")
    out = tmp_path / "out" / "r.docx"
    out.parent.mkdir()
    result = invoke("report", "--index", str(hashing_index), "--agency", "Sở Y tế", "--template", str(template),
                    "--out", str(out))
    assert result.exit_code != 0
    assert "field" in result.stderr and "recipient" in result.stderr
    assert list(out.parent.iterdir()) == []


def test_a_failed_report_leaves_an_earlier_one_untouched(hashing_index, tmp_path):
    out = tmp_path / "r.docx"
    report(hashing_index, out, "--agency", "Sở Y tế", "--today", "2024-05-29")
    before = out.read_bytes()
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip")
    result = invoke("report", "--index", str(hashing_index), "--agency", "Sở Y tế", "--template", str(broken),
                    "--out", str(out))
    assert result.exit_code != 0 and "not a Word .docx file" in result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.docx", "r.docx"]


@pytest.mark.parametrize("args, fragments", [
    (["--agency", "Sở Y tá"], ["unknown agency 'Sở Y tá'", "did you mean: Sở Y tế"]),
    (["--agency", "Sở Y tế", "--from", "31/02/2024"], ["--from", "expected YYYY-MM-DD or DD/MM/YYYY"]),
    (["--agency", "Sở Y tế", "--today", "hôm nay"], ["--today", "expected YYYY-MM-DD or DD/MM/YYYY"]),
    (["--agency", "Sở Y tế", "--from", "2024-06-01", "--to", "2024-05-01"], ["period is empty"]),
])
def test_bad_input_is_a_clear_error_and_no_file(hashing_index, tmp_path, args, fragments):
    out = tmp_path / "r.docx"
    result = invoke("report", "--index", str(hashing_index), "--out", str(out), *args)
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_installed_command_reports_an_unwritable_out_in_one_line(hashing_index, tmp_path):
    missing = tmp_path / "no-such-folder" / "r.docx"
    result = run("report", "--index", str(hashing_index), "--agency", "Sở Y tế", "--out", str(missing))
    assert_clean_error(result, "cannot write", "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_a_document_without_number_is_named_by_its_page(hashing_index, tmp_path):
    doc = report(hashing_index, tmp_path / "r.docx", "--agency", "so ke hoach va dau tu", "--today", "2024-06-05")
    groups = grouped_rows(doc)
    [(heading, rows)] = groups.items()
    assert heading.startswith("Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 27/5")
    assert [(r["deadline"], r["status"]) for r in rows] == [("chậm nhất vào ngày 8/6/2024", "Sắp đến hạn")]


def test_markup_characters_in_a_task_stay_text(tmp_path):
    """Tasks are read from the portal's text: "&" and "<" must not break the report's XML."""
    from retrieval.report.content import build_report
    from retrieval.report.default_template import build_default_template
    from retrieval.report.rendering import render_report
    from retrieval.schema import DocumentRef, Task
    from retrieval.tasks.registry import TaskRegistry

    task = Task(action="nâng cấp hạ tầng <5G> & dữ liệu", lead="Sở Y tế", deadline="trước ngày 30/6/2024",
                deadline_date="2024-06-30", document=DocumentRef("9/UBND-KT", "Công văn", "2024-06-01", "UBND tỉnh"))
    content = build_report(TaskRegistry([task]), "Sở Y tế", today="2024-06-25")
    path = tmp_path / "r.docx"
    path.write_bytes(render_report(content, build_default_template()))
    groups = grouped_rows(Document(str(path)))
    assert groups == {"Công văn số 9/UBND-KT ngày 1/6/2024 của UBND tỉnh": [
        {"number": "1", "action": "nâng cấp hạ tầng <5G> & dữ liệu", "role": "Chủ trì",
         "deadline": "trước ngày 30/6/2024", "status": "Sắp đến hạn"}]}


def test_the_default_template_exported_is_a_starting_point(hashing_index, tmp_path):
    import subprocess
    import sys

    copy = tmp_path / "mau.docx"
    subprocess.run([sys.executable, "-m", "retrieval.report.default_template", str(copy)], check=True)
    own = report(hashing_index, tmp_path / "own.docx", "--agency", "Sở Y tế", "--today", "2024-05-29",
                 "--template", str(copy))
    default = report(hashing_index, tmp_path / "default.docx", "--agency", "Sở Y tế", "--today", "2024-05-29")
    assert grouped_rows(own) == grouped_rows(default) and len(grouped_rows(own)) == 4
