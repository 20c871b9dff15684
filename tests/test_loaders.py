"""Loaders: every input format, format sniffing, decoding, and every error with its message."""
from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest

from retrieval.errors import InputError
from retrieval.ingest import expand_paths, load_path
from retrieval.ingest.loaders import RawDocument, load
from retrieval.ingest.loaders.paragraphs import rebuild_paragraphs
from retrieval.schema import Passage, SourceDocument

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"


# --------------------------------------------------------------------------- helpers


def make_pdf(path: Path, pages: list[list[str]], text_layer: bool = True) -> Path:
    """A minimal PDF written by hand: one simple font whose ToUnicode CMap maps one-byte codes to
    the (Vietnamese) characters used, so pypdf reads the text layer back exactly. With
    ``text_layer=False`` pages hold only vector drawing, like a scan without OCR."""
    chars = sorted({ch for page in pages for line in page for ch in line}) or ["x"]
    code = {ch: i + 1 for i, ch in enumerate(chars)}
    objects: list[bytes] = []

    def add(body: bytes | None) -> int:
        objects.append(body or b"")
        return len(objects)

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    pairs = "\n".join(f"<{code[c]:02X}> <{ord(c):04X}>" for c in chars)
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T def /CMapType 2 def\n"
            "1 begincodespacerange <01> <FF> endcodespacerange\n"
            f"{len(chars)} beginbfchar\n{pairs}\nendbfchar\nendcmap CMapName currentdict /CMap defineresource "
            "pop end end").encode()
    catalog, pages_id = add(None), add(None)
    cmap_id = add(stream(cmap))
    font_id = add((f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 1 /LastChar {len(chars)} "
                   f"/Widths [{' '.join(['500'] * len(chars))}] /ToUnicode {cmap_id} 0 R >>").encode())
    kids = []
    for page in pages:
        if text_layer:
            ops = ["BT /F1 10 Tf 14 TL 40 800 Td"]
            ops += [("<" + "".join(f"{code[c]:02X}" for c in line) + "> Tj T*") if line else "T*" for line in page]
            ops.append("ET")
        else:
            ops = ["0 0 m 200 200 l S"]
        content = add(stream("\n".join(ops).encode()))
        kids.append(add((f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 595 842] /Resources "
                         f"<< /Font << /F1 {font_id} 0 R >> >> /Contents {content} 0 R >>").encode()))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    objects[pages_id - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                             f"/Count {len(kids)} >>").encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Kế hoạch chuyển đổi số"
    document.add_heading("Kế hoạch chuyển đổi số", level=0)
    document.add_heading("I. MỤC ĐÍCH, YÊU CẦU", level=1)
    document.add_paragraph("Nâng cao hiệu quả chỉ đạo, điều hành của UBND tỉnh.")
    document.add_heading("II. NHIỆM VỤ", level=1)
    document.add_paragraph("Sở Khoa học và Công nghệ chủ trì, thực hiện Quyết định số 924/QĐ-UBND ngày 27/5/2024.")
    table = document.add_table(rows=2, cols=3)
    for row, cells in zip(table.rows, [("Nhiệm vụ", "Chủ trì", "Thời hạn"),
                                       ("Xây dựng Trợ lý ảo", "Sở KH&CN", "Trước ngày 30/6/2025")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    bold = document.add_paragraph()
    bold.add_run("III. TỔ CHỨC THỰC HIỆN").bold = True
    document.add_paragraph("Các sở, ban, ngành triển khai thực hiện.")
    document.save(path)
    return path


def cp1258(text: str) -> bytes:
    """Encode Vietnamese the way Windows-1258 does: base letter + combining tone mark."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += (base + tones).encode("cp1258")
    return bytes(out)


def error_of(path) -> str:
    with pytest.raises(InputError) as info:
        load_path(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def loaded_lines(path: Path, text: str) -> list[str]:
    path.write_text(text, encoding="utf-8")
    return load(path).lines


SAMPLE = "Kế hoạch số 143/KH-UBND\n\nUBND tỉnh ban hành Kế hoạch thực hiện Đề án.\n"


# --------------------------------------------------------------------------- text and encodings


def test_corpus_bulletin_loads_as_text(tmp_path):
    raw = load(CORPUS / "langson-chi-dao-dieu-hanh-2022-06-20.txt")
    assert isinstance(raw, RawDocument) and raw.kind == "text"
    assert raw.lines[0] == "Nhảy đến nội dung"
    assert all(line == line.strip() and line for line in raw.lines)


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),
    lambda t: t.encode("utf-16-le"),
    cp1258,
    lambda t: unicodedata.normalize("NFD", t).encode("utf-8"),
], ids=["utf8", "utf8-bom", "utf16-bom", "utf16le-nobom", "cp1258", "utf8-nfd"])
def test_text_encodings(tmp_path, encode):
    path = tmp_path / "doc.txt"
    path.write_bytes(encode(SAMPLE))
    raw = load(path)
    assert raw.lines == ["Kế hoạch số 143/KH-UBND", "UBND tỉnh ban hành Kế hoạch thực hiện Đề án."]
    assert all(unicodedata.is_normalized("NFC", line) for line in raw.lines)


def test_hard_wrapped_text_is_rejoined(tmp_path):
    assert loaded_lines(tmp_path / "wrapped.txt", (
        "Kế hoạch phòng, chống dịch\n\nUBND tỉnh yêu cầu các sở, ban, ngành và UBND các\n"
        "huyện, thành phố tăng cường kiểm tra.\nSở Y tế chủ trì thực hiện, báo cáo kết quả\n"
        "trước ngày 10/6/2024.\n")) == [
        "Kế hoạch phòng, chống dịch",
        "UBND tỉnh yêu cầu các sở, ban, ngành và UBND các huyện, thành phố tăng cường kiểm tra.",
        "Sở Y tế chủ trì thực hiện, báo cáo kết quả trước ngày 10/6/2024."]


def test_rebuild_paragraphs_hyphens_and_dashes():
    assert rebuild_paragraphs(["the infor-", "mation system and kinh tế -", "xã hội."]) == [
        "the information system and kinh tế - xã hội."]


def test_markdown(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Ghi chú chỉ đạo\n---\n# Tiêu đề lớn\n\nĐoạn **một** có [liên kết](http://x.vn)\n"
                    "tiếp tục dòng.\n\n## Mục hai\n\n- Ý thứ nhất.\n- Ý thứ hai.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n",
                    encoding="utf-8")
    raw = load(path)
    assert raw.kind == "markdown" and raw.title == "Ghi chú chỉ đạo"
    assert raw.lines == ["Tiêu đề lớn", "Đoạn một có liên kết tiếp tục dòng.", "Mục hai", "Ý thứ nhất.",
                         "Ý thứ hai.", "A | B", "1 | 2"]
    assert raw.headings == ["Tiêu đề lớn", "Mục hai"]
    doc = load_path(path)
    assert isinstance(doc, SourceDocument) and doc.kind == "markdown"
    assert [i.heading for i in doc.items] == ["Tiêu đề lớn", "Mục hai"]


def test_markdown_inline_markup_and_wrapped_numbers(tmp_path):
    """markdown-it reads inline markup (snake_case names stay whole, entities decoded); a year
    wrapped to the start of a line ("2025.") is prose, not an empty list item."""
    assert loaded_lines(tmp_path / "ghi-chu.md", (
        "Đặt `TELEGRAM_BOT_TOKEN` và chạy test_archive_parsing.py &amp; báo cáo.\n\n"
        "1. Sở Khoa học và Công nghệ chủ trì nâng cấp nền tảng, hoàn thành trong quý III năm\n"
        "2025.\n2. Sở Tài chính bố trí kinh phí.\n")) == [
        "Đặt TELEGRAM_BOT_TOKEN và chạy test_archive_parsing.py & báo cáo.",
        "1. Sở Khoa học và Công nghệ chủ trì nâng cấp nền tảng, hoàn thành trong quý III năm 2025.",
        "2. Sở Tài chính bố trí kinh phí."]


# --------------------------------------------------------------------------- HTML


def test_html_without_article_uses_largest_text_block(tmp_path):
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Tin tức | Trang thông tin điện tử huyện</title></head><body>"
        "<div id='top'><ul class='menu'><li>Trang chủ</li><li>Liên hệ</li></ul></div>"
        "<table><tr><td class='left'><a>Văn bản</a><br><a>Lịch công tác</a></td>"
        "<td class='content'><h2>Thông báo kết luận</h2>"
        "<p>UBND huyện thông báo kết luận của Chủ tịch UBND huyện tại buổi làm việc với các xã về công tác "
        "giải phóng mặt bằng.</p><p>Các xã hoàn thành việc kiểm đếm trước ngày 15/7/2024.</p></td></tr></table>"
        "<div class='footer'>Bản quyền thuộc UBND huyện</div></body></html>", encoding="utf-8")
    raw = load(path)
    assert raw.kind == "html"
    assert raw.lines[0] == "Tin tức"     # page title, site name stripped
    assert "Thông báo kết luận" in raw.lines and "Thông báo kết luận" in raw.headings
    assert raw.lines[-1] == "Các xã hoàn thành việc kiểm đếm trước ngày 15/7/2024."
    assert not any("Trang chủ" in line or "Bản quyền" in line or "Lịch công tác" in line for line in raw.lines)


def test_html_saved_as_txt_is_sniffed(tmp_path):
    path = tmp_path / "saved-page.txt"
    path.write_text("<!DOCTYPE html><html><body><nav>Trang chủ</nav><article><h1>Tiêu đề</h1>"
                    "<p>Nội dung chính của bài viết về chỉ đạo điều hành của UBND tỉnh trong tuần qua, "
                    "bao gồm nhiều văn bản quan trọng.</p></article></body></html>", encoding="utf-8")
    raw = load(path)
    assert raw.kind == "html" and raw.lines[0] == "Tiêu đề" and "Trang chủ" not in raw.lines


def test_html_without_extension(tmp_path):
    path = tmp_path / "capture"
    path.write_text("<html><body><p>Một</p><p>Hai</p><div>Ba</div><p>Bốn</p><p>Năm</p></body></html>",
                    encoding="utf-8")
    raw = load(path)
    assert raw.kind == "html" and raw.lines == ["Một", "Hai", "Ba", "Bốn", "Năm"]


# --------------------------------------------------------------------------- DOCX and PDF


def test_docx(tmp_path):
    path = make_docx(tmp_path / "ke-hoach.docx")
    raw = load(path)
    assert raw.kind == "docx" and raw.title == "Kế hoạch chuyển đổi số"
    assert "Nhiệm vụ | Chủ trì | Thời hạn" in raw.lines
    assert "Xây dựng Trợ lý ảo | Sở KH&CN | Trước ngày 30/6/2025" in raw.lines
    assert {"I. MỤC ĐÍCH, YÊU CẦU", "II. NHIỆM VỤ", "III. TỔ CHỨC THỰC HIỆN"} <= set(raw.headings)
    doc = load_path(path)
    assert [i.heading for i in doc.items] == ["MỤC ĐÍCH, YÊU CẦU", "NHIỆM VỤ", "TỔ CHỨC THỰC HIỆN"]
    assert doc.items[1].paragraphs[-1] == "Xây dựng Trợ lý ảo | Sở KH&CN | Trước ngày 30/6/2025"


def test_docx_named_otherwise_is_sniffed(tmp_path):
    path = make_docx(tmp_path / "ke-hoach.docx")
    renamed = path.rename(tmp_path / "ke-hoach.txt")
    assert load(renamed).kind == "docx"


def test_pdf(tmp_path):
    path = make_pdf(tmp_path / "cong-van.pdf", [
        ["Công văn về phòng chống dịch", "UBND tỉnh yêu cầu Sở Y tế chủ trì, phối hợp với các cơ quan liên quan",
         "triển khai các biện pháp phòng, chống dịch bệnh trên địa bàn tỉnh và xây dựng hệ thống infor-",
         "mation chung.", "1"],
        ["Đồng chí Lương Trọng Quỳnh chỉ đạo kiểm tra.", "2"],
    ])
    raw = load(path)
    assert raw.kind == "pdf"
    assert raw.lines == [
        "Công văn về phòng chống dịch",
        "UBND tỉnh yêu cầu Sở Y tế chủ trì, phối hợp với các cơ quan liên quan triển khai các biện pháp phòng, "
        "chống dịch bệnh trên địa bàn tỉnh và xây dựng hệ thống information chung.",
        "Đồng chí Lương Trọng Quỳnh chỉ đạo kiểm tra."]
    assert isinstance(load_path(path), SourceDocument)


def test_pdf_with_txt_extension_is_sniffed(tmp_path):
    path = make_pdf(tmp_path / "scan.txt", [["Một dòng văn bản."]])
    assert load(path).kind == "pdf"


# --------------------------------------------------------------------------- JSONL


def test_jsonl_passages(tmp_path):
    path = tmp_path / "passages.jsonl"
    lines = [
        {"id": "a00042", "text": "Chào bạn! Bạn vẫn có thể tiêm.", "relevant": ["q1"]},
        {"id": " x:01 ", "text": "Kế hoạch số 143", "doc_number": "143 /kh-ubnd", "issued_date": "20/6/2022",
         "title": "Tuần 20/6", "issuer": "UBND tỉnh", "mentions": ["221/qđ-ttg"]},
        {"id": 7, "text": "Số nguyên làm id.", "issued_date": "không rõ"},
    ]
    path.write_text("\ufeff" + "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    passages = load_path(path)
    assert [p.id for p in passages] == ["a00042", " x:01 ", "7"]
    assert all(isinstance(p, Passage) for p in passages)
    assert passages[0].extra == {"relevant": ["q1"]} and passages[0].source == "passages.jsonl"
    second = passages[1]
    assert (second.doc_number, second.issued_date, second.title, second.issuer) == (
        "143/KH-UBND", "2022-06-20", "Tuần 20/6", "UBND tỉnh")
    assert second.mentions == ["221/QĐ-TTg"]
    assert passages[2].issued_date is None and passages[2].extra == {"issued_date": "không rõ"}


def test_benchmark_corpus_shape(tmp_path):
    bench = CORPUS.parent / "benchmarks" / "vicov19qa" / "corpus.jsonl"
    if not bench.exists():
        pytest.skip("benchmark not present")
    sample = tmp_path / "corpus.jsonl"
    sample.write_text("".join(bench.read_text(encoding="utf-8").splitlines(keepends=True)[:50]), encoding="utf-8")
    passages = load_path(sample)
    assert len(passages) == 50 and passages[0].id.startswith("a")


def test_json_array(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": "1", "text": "một"}, {"id": "2", "text": "hai"}]), encoding="utf-8")
    assert [p.text for p in load_path(path)] == ["một", "hai"]


def test_jsonl_content_in_txt_is_sniffed(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text('{"id": "1", "text": "một"}\n', encoding="utf-8")
    assert load_path(path)[0].id == "1"


# --------------------------------------------------------------------------- directories


def test_directory_expands_to_supported_files_sorted(tmp_path):
    for name in ["b.txt", "a.md", "c.pdf.part", "sub/d.html", ".hidden/e.txt", "~$lock.docx", "f.xlsx", "g.jsonl"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    files = expand_paths([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a.md", "b.txt", "g.jsonl", "sub/d.html"]
    assert expand_paths([tmp_path / "b.txt", tmp_path / "b.txt"]) == [tmp_path / "b.txt"]


def test_directory_error(tmp_path):
    (tmp_path / "sheet.xlsx").write_bytes(b"x")
    with pytest.raises(InputError, match=r"directory holds no supported files"):
        expand_paths([tmp_path])


def test_missing_path_in_expand(tmp_path):
    with pytest.raises(InputError, match=r"no such file or directory"):
        expand_paths([tmp_path / "nope"])


# --------------------------------------------------------------------------- errors


def test_error_missing_file(tmp_path):
    message = error_of(tmp_path / "khong-co.txt")
    assert "khong-co.txt" in message and "no such file" in message


def test_error_directory_given_to_load_path(tmp_path):
    assert "is a directory" in error_of(tmp_path)


def test_error_unsupported_xlsx(tmp_path):
    path = tmp_path / "bang.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    message = error_of(path)
    assert "bang.xlsx" in message and "unsupported format '.xlsx'" in message and "Excel" in message


def test_error_unsupported_png(tmp_path):
    path = tmp_path / "anh.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    message = error_of(path)
    assert "anh.png" in message and "unsupported format '.png'" in message


def test_error_binary_with_text_extension(tmp_path):
    path = tmp_path / "anh.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert "PNG image" in error_of(path)


def test_error_unknown_text_extension(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "unsupported format '.csv'" in error_of(path)


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  ", "\ufeff  \n".encode("utf-8")], ids=["empty", "spaces", "bom"])
def test_error_empty(tmp_path, content):
    path = tmp_path / "rong.txt"
    path.write_bytes(content)
    message = error_of(path)
    assert "rong.txt" in message and "file is empty" in message


@pytest.mark.parametrize("body, expected", [
    ('{"id": "1", "text": "a"}\n{"id": "2", "text": \n', "line 2 is not valid JSON"),
    ('{"id": "1", "text": "a"}\n\n["x"]\n', "line 3 is not a JSON object"),
    ('{"id": "1", "text": "a"}\n{"text": "b"}\n', "line 2 has no 'id'"),
    ('{"id": "1"}\n', "line 1 has no 'text'"),
    ('{"id": "1", "text": "   "}\n', "line 1 has an empty or non-string 'text'"),
    ('{"id": "1", "text": "a"}\n{"id": "2", "text": "b"}\n{"id": "1", "text": "c"}\n', "duplicate id '1' (lines 1 and 3)"),
])
def test_error_jsonl(tmp_path, body, expected):
    path = tmp_path / "p.jsonl"
    path.write_text(body, encoding="utf-8")
    message = error_of(path)
    assert "p.jsonl" in message and expected in message


def test_error_pdf_without_text_layer(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", [["x"]], text_layer=False)
    message = error_of(path)
    assert "scan.pdf" in message and "no text layer" in message


def test_error_corrupt_pdf(tmp_path):
    path = tmp_path / "hong.pdf"
    path.write_bytes(b"this is not a pdf at all")
    message = error_of(path)
    assert "hong.pdf" in message and "cannot read PDF" in message


def test_error_truncated_pdf(tmp_path):
    good = make_pdf(tmp_path / "ok.pdf", [["Một dòng văn bản."]]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(good[: len(good) // 3])
    message = error_of(path)
    assert "cut.pdf" in message and ("cannot read PDF" in message or "no text layer" in message)


def test_error_corrupt_docx(tmp_path):
    path = tmp_path / "hong.docx"
    path.write_bytes(b"PK\x03\x04 broken zip")
    message = error_of(path)
    assert "hong.docx" in message and "cannot read DOCX" in message


def test_error_docx_that_is_some_other_zip(tmp_path):
    path = tmp_path / "khac.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "cannot read DOCX" in error_of(path)


def test_error_html_without_text(tmp_path):
    path = tmp_path / "rong.html"
    path.write_text("<html><head><script>var a;</script></head><body><nav>Trang chủ</nav></body></html>",
                    encoding="utf-8")
    assert "no text found" in error_of(path)


def test_jsonl_ids_are_not_normalised(tmp_path):
    path = tmp_path / "ids.jsonl"
    odd = "a\u00a0b\u200bc" + unicodedata.normalize("NFD", "ế")
    path.write_text(json.dumps({"id": odd, "text": unicodedata.normalize("NFD", "Kế hoạch")}) + "\r\n",
                    encoding="utf-8")
    (passage,) = load_path(path)
    assert passage.id == odd
    assert passage.text == "Kế hoạch" and unicodedata.is_normalized("NFC", passage.text)


def test_import_loads_no_format_library():
    """retrieval.ingest is imported by the NLU components in .venv-rasa, which has none of the
    format libraries: they are imported when a file of their format is read, never before."""
    code = ("import sys, retrieval.ingest, retrieval.ingest.loaders; "
            "print(sorted(m for m in ('markdown_it', 'bs4', 'docx', 'pypdf', 'lxml') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[1])
    assert result.stdout.strip() == "[]"
