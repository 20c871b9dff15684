"""Bulletin parsing: the two real captures, plus synthetic layouts of the same family."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from retrieval.ingest import load_path
from retrieval.ingest.bulletin import is_chrome, parse_bulletin, parse_document, parse_week
from retrieval.schema import SourceDocument

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
BULLETIN_2022 = "langson-chi-dao-dieu-hanh-2022-06-20.txt"
BULLETIN_2024 = "langson-chi-dao-dieu-hanh-2024-05-27.txt"

# Page furniture seen on the portal over the years: none of it may reach an item.
CHROME_SNIPPETS = [
    "Nhảy đến nội dung", "Tăng tương phản", "Giảm tương phản", "A- A A+", "Tổng số điểm của bài viết",
    "Click để đánh giá", "Quyết tâm thực hiện thắng lợi", "Chia sẻ:", "In bài viết", "Tin liên quan",
    "lượt xem", "Trang chủ", "Cơ quan chủ quản", "Giới thiệu", "Địa chỉ:",
]
# Words that content may use too ("mạng xã hội như Facebook, Zalo"): chrome only as whole lines.
CHROME_LINES = {"Cổng thông tin điện tử", "Tỉnh Lạng Sơn", "Chia sẻ", "Facebook", "Zalo", "Facebook Zalo"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_no_chrome(doc: SourceDocument) -> None:
    for item in doc.items:
        for text in [item.heading, *item.paragraphs]:
            assert text not in CHROME_LINES, text
            for snippet in CHROME_SNIPPETS:
                assert snippet not in text, (snippet, text)


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, Path]:
    """The seed bulletins copied aside (the originals are read-only and must stay untouched)."""
    target = tmp_path_factory.mktemp("corpus")
    return {name: Path(shutil.copy(CORPUS / name, target / name)) for name in (BULLETIN_2022, BULLETIN_2024)}


@pytest.fixture(scope="module")
def b2022(copies) -> SourceDocument:
    return load_path(copies[BULLETIN_2022])


@pytest.fixture(scope="module")
def b2024(copies) -> SourceDocument:
    return load_path(copies[BULLETIN_2024])


# --------------------------------------------------------------------------- 2022-06-20


def test_2022_title_week_summary(b2022):
    assert b2022.kind == "bulletin"
    assert b2022.title == "Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (ngày 20/6 đến ngày 26/6/2022)"
    assert (b2022.week_start, b2022.week_end) == ("2022-06-20", "2022-06-26")
    assert b2022.summary.startswith("Kế hoạch thực hiện Quyết định số 221/QĐ-TTg")
    assert b2022.summary.endswith("từ 12 tuổi đến 17 tuổi.")


def test_2022_items(b2022):
    assert len(b2022.items) == 9
    headings = [item.heading for item in b2022.items]
    assert headings[1] == "Chỉ đạo tăng cường công tác phòng, chống sốt xuất huyết"
    assert headings[-1] == "Chỉ đạo tiêm vắc xin phòng COVID-19 liều nhắc lại cho trẻ em từ 12 tuổi đến 17 tuổi"
    primaries = [item.primary.number for item in b2022.items]
    assert primaries == ["143/KH-UBND", "704/UBND-KGVX", "146/KH-UBND", "145/KH-UBND", "714/UBND-KGVX",
                         "706/UBND-KGVX", "1066/QĐ-UBND", "1073/QĐ-UBND", "2792/VP-KGVX"]
    first = b2022.items[0]
    assert first.primary.doc_type == "Kế hoạch" and first.primary.issued_date == "2022-06-20"
    assert first.primary.issuer == "UBND tỉnh"
    assert [d.number for d in first.documents[1:]] == ["221/QĐ-TTg", "200/QĐ-TTg"]
    assert first.documents[1].issuer == "Thủ tướng Chính phủ"
    assert len(first.paragraphs) == 3


def test_2022_named_vice_chairman_signs_vp_document(b2022):
    ref = b2022.items[-1].primary
    assert (ref.number, ref.doc_type, ref.issued_date) == ("2792/VP-KGVX", "Công văn", "2022-06-24")
    assert ref.issuer == "Văn phòng UBND tỉnh"
    assert ref.signer == "Dương Xuân Huyên, Phó Chủ tịch Thường trực UBND tỉnh"


def test_2022_other_documents(b2022):
    item = b2022.items[4]   # implements Thông báo 180/TB-VPCP
    assert [d.number for d in item.documents] == ["714/UBND-KGVX", "180/TB-VPCP", "128/NQ-CP"]
    assert item.documents[1].issuer == "Văn phòng Chính phủ"


# --------------------------------------------------------------------------- 2024-05-27


def test_2024_title_week_summary(b2024):
    assert (b2024.week_start, b2024.week_end) == ("2024-05-27", "2024-06-02")
    assert b2024.title.startswith("Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần")
    assert b2024.summary.startswith("UBND tỉnh họp phiên thường kỳ tháng 5 (kỳ 2);")
    assert b2024.summary.count(";") == 13


def test_2024_items(b2024):
    # The capture has 14 headings, one per segment of its 14-segment summary.
    assert len(b2024.items) == 14
    assert b2024.items[0].heading == "UBND tỉnh họp phiên thường kỳ tháng 5 (kỳ 2)"
    assert b2024.items[0].paragraphs[0].startswith("Ngày 31/5/2024, UBND tỉnh họp")
    assert len(b2024.items[0].paragraphs) == 9
    assert b2024.items[4].heading.startswith("Quy định phạm vi, tuyến đường")
    assert b2024.items[4].heading.endswith("Đền Quan Giám sát, Đền Chầu Lục")


def test_2024_meeting_has_no_own_document(b2024):
    meeting = b2024.items[0]
    assert meeting.primary is None
    assert meeting.documents == []


def test_2024_primaries_with_typos(b2024):
    by_number = {item.primary.number: item.primary for item in b2024.items if item.primary}
    assert set(by_number) == {
        "924/QĐ-UBND", "115/KH-UBND", "703/UBND-NC", "962/QĐ-UBND", "2625/VP-KT", "80/KH-BCĐCCHC",
        "2648/VP-KT", "117/KH-UBND", "727/UBND-KT", "731/UBND-KT", "723/UBND-KT", "122/KH-UBND",
        "124/KH-UBND"}
    assert by_number["924/QĐ-UBND"].issued_date == "2024-05-27"
    assert by_number["924/QĐ-UBND"].doc_type == "Quyết định"
    assert by_number["924/QĐ-UBND"].issuer == "UBND tỉnh"
    assert by_number["703/UBND-NC"].issued_date == "2024-05-27"
    assert by_number["703/UBND-NC"].doc_type == "Công văn"
    assert by_number["723/UBND-KT"].issued_date == "2024-05-30"


def test_2024_vp_document_directed_by_vice_chairman(b2024):
    item = next(i for i in b2024.items if i.primary and i.primary.number == "2625/VP-KT")
    ref = item.primary
    assert ref.issuer == "Văn phòng UBND tỉnh"
    assert ref.signer == "Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh"
    assert ref.issued_date == "2024-05-29" and ref.doc_type == "Công văn"
    assert [d.number for d in item.documents[1:]] == ["2198/BXD-HĐXD", "62/2020/QH14"]


def test_2024_other_body_issues_plan(b2024):
    item = next(i for i in b2024.items if i.primary and i.primary.number == "80/KH-BCĐCCHC")
    assert item.primary.issuer == "Ban Chỉ đạo cải cách hành chính tỉnh"
    assert item.primary.signer is None
    assert [d.number for d in item.documents[1:]] == ["60-NQ/TU", "249/KH-UBND", "04/KH-UBND", "87/KH-UBND"]


def test_2024_plan_implementing_national_documents(b2024):
    item = next(i for i in b2024.items if i.primary and i.primary.number == "117/KH-UBND")
    assert [d.number for d in item.documents[1:]] == ["281/QĐ-TTg", "161-KH/TU", "25-CT/TW"]


def test_no_chrome_in_items(b2022, b2024):
    _assert_no_chrome(b2022)
    _assert_no_chrome(b2024)


def test_input_bytes_unchanged(copies):
    originals = {name: _sha(CORPUS / name) for name in copies}
    before = {name: _sha(path) for name, path in copies.items()}
    for path in copies.values():
        load_path(path)
    load_path(CORPUS / BULLETIN_2024)   # reading the shared original must not touch it either
    assert {name: _sha(path) for name, path in copies.items()} == before
    assert {name: _sha(CORPUS / name) for name in copies} == originals == before


# --------------------------------------------------------------------------- weeks and chrome


@pytest.mark.parametrize("title, week", [
    ("Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (ngày 20/6 đến ngày 26/6/2022)", ("2022-06-20", "2022-06-26")),
    ("… trong tuần (từ ngày 27/5 đến ngày 02/6/2024)", ("2024-05-27", "2024-06-02")),
    ("… trong tuần (từ ngày 30/12/2024 đến ngày 05/01/2025)", ("2024-12-30", "2025-01-05")),
    ("… trong tuần (từ ngày 30/12 đến ngày 05/01/2025)", ("2024-12-30", "2025-01-05")),
    ("… tuần từ 20/6 - 26/6/2022", ("2022-06-20", "2022-06-26")),
    ("… trong tuần (từ ngày 3 đến ngày 9/6/2024)", ("2024-06-03", "2024-06-09")),
    ("… trong tuần", (None, None)),
])
def test_parse_week(title, week):
    assert parse_week(title) == week


@pytest.mark.parametrize("line", [
    "Nhảy đến nội dung", "Cổng thông tin điện tử", "Tỉnh Lạng Sơn", "A- A A+ | Tăng tương phản Giảm tương phản",
    "Tổng số điểm của bài viết là: 0 trong 0 đánh giá", "Click để đánh giá bài viết",
    "Trang chủ > Tin tức > Chỉ đạo điều hành", "Chia sẻ: Facebook Zalo", "In bài viết",
    "06/01/2025 08:30 | 1.234 lượt xem", "Lượt xem: 1234", "Thứ Hai, 27/05/2024 - 15:30",
    "Quyết tâm thực hiện thắng lợi Nghị quyết Đại hội đại biểu Đảng bộ tỉnh Lạng Sơn lần thứ XVII, nhiệm kỳ 2020 - 2025",
    "Nguồn: Văn phòng UBND tỉnh",
])
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize("line", [
    "UBND tỉnh họp phiên thường kỳ tháng 5 (kỳ 2)",
    "Thời gian kiểm tra hoàn thành trong tháng 6 năm 2024.",
    "Quyết định này có hiệu lực thi hành kể từ ngày ký.",
    "Chỉ đạo tăng cường công tác phòng, chống sốt xuất huyết",
])
def test_content_is_not_chrome(line):
    assert not is_chrome(line)


def test_not_a_bulletin():
    assert parse_bulletin(["Báo cáo tình hình kinh tế", "Nội dung báo cáo."], "x.txt") is None


# --------------------------------------------------------------------------- synthetic layouts

HTML_CAPTURE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 30/12/2024 đến ngày 05/01/2025) - Cổng thông tin điện tử tỉnh Lạng Sơn</title>
<script>var menu = "Trang chủ";</script><style>.x { color: red }</style></head>
<body>
<a class="skip" href="#content">Nhảy đến nội dung</a>
<header class="site-header"><div class="logo">Cổng thông tin điện tử</div><div>Tỉnh Lạng Sơn</div>
<div class="slogan">Quyết tâm thực hiện thắng lợi Nghị quyết Đại hội đại biểu Đảng bộ tỉnh Lạng Sơn lần thứ XVII</div>
<div class="tools">A- A A+ | Tăng tương phản Giảm tương phản</div></header>
<nav class="main-menu"><ul><li><a href="/">Trang chủ</a></li><li>Giới thiệu</li><li>Tin tức - Sự kiện</li></ul></nav>
<div class="breadcrumb">Trang chủ &gt; Chỉ đạo điều hành &gt; Chỉ đạo, điều hành nổi bật</div>
<main id="content"><article class="news-detail">
<h1 class="title">Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 30/12/2024 đến ngày 05/01/2025)</h1>
<div class="meta">06/01/2025 08:30 | 1.234 lượt xem</div>
<div class="share-top"><a>Chia sẻ</a> <a>Facebook</a> <a>Zalo</a></div>
<p class="sapo"><strong>Kế hoạch phát triển du lịch năm 2025; chỉ đạo bảo đảm trật tự an toàn giao thông dịp Tết;
Quyết định công bố thủ tục hành chính.</strong></p>
<p><strong>Kế hoạch phát triển du lịch năm 2025</strong></p>
<p>UBND tỉnh ban hành Kế hoạch phát triển du lịch năm 2025
(Kế hoạch số 01/KH-UBND, ngày 02/01/2025).</p>
<p>Sở Văn hóa, Thể thao và Du lịch chủ trì, phối hợp với các sở, ngành<br>triển khai thực hiện Kế hoạch.</p>
<p><strong>Chỉ đạo bảo đảm trật tự an toàn giao thông dịp Tết</strong></p>
<p>Đồng chí Đoàn Thu Hà, Phó Chủ tịch UBND tỉnh chỉ đạo (Công văn số 15/VP-KT, ngày 31/12/2024) bảo đảm trật tự an toàn giao thông dịp Tết Nguyên đán.</p>
<p>Công an tỉnh chủ trì tăng cường tuần tra, kiểm soát theo Chỉ thị số 37/CT-TTg của Thủ tướng Chính phủ.</p>
<p><strong>Quyết định công bố thủ tục hành chính</strong></p>
<p>Chủ tịch UBND tỉnh ban hành Quyết định công bố danh mục thủ tục hành chính (Quyết định số 3/QĐ-UBND, ngày 03/01/2025).</p>
<p>Quyết định có hiệu lực kể từ ngày ký.</p>
<div class="share"><span>Chia sẻ:</span> <a>Facebook</a> <a>Zalo</a> <a>In bài viết</a></div>
<div class="rating">Tổng số điểm của bài viết là: 0 trong 0 đánh giá<br>Click để đánh giá bài viết</div>
</article>
<section class="related"><h3>Tin liên quan</h3><ul>
<li><a>Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 23/12 đến ngày 29/12/2024)</a></li></ul></section>
</main>
<footer><p>Cơ quan chủ quản: UBND tỉnh Lạng Sơn</p><p>Địa chỉ: số 2 đường Hùng Vương</p></footer>
</body></html>
"""


def test_html_capture_with_menus_and_footer(tmp_path):
    path = tmp_path / "tuan-2024-12-30.html"
    path.write_text(HTML_CAPTURE, encoding="utf-8")
    doc = load_path(path)
    assert doc.kind == "bulletin"
    assert (doc.week_start, doc.week_end) == ("2024-12-30", "2025-01-05")
    assert doc.summary.startswith("Kế hoạch phát triển du lịch năm 2025; chỉ đạo")
    assert [i.heading for i in doc.items] == [
        "Kế hoạch phát triển du lịch năm 2025", "Chỉ đạo bảo đảm trật tự an toàn giao thông dịp Tết",
        "Quyết định công bố thủ tục hành chính"]
    assert doc.items[0].paragraphs[0].endswith("(Kế hoạch số 01/KH-UBND, ngày 02/01/2025).")
    assert [i.primary.number for i in doc.items] == ["01/KH-UBND", "15/VP-KT", "3/QĐ-UBND"]
    assert doc.items[1].primary.signer == "Đoàn Thu Hà, Phó Chủ tịch UBND tỉnh"
    assert doc.items[1].primary.issuer == "Văn phòng UBND tỉnh"
    assert doc.items[1].primary.issued_date == "2024-12-31"
    assert doc.items[2].primary.signer == "Chủ tịch UBND tỉnh"
    assert [d.number for d in doc.items[1].documents[1:]] == ["37/CT-TTg"]
    assert doc.items[2].paragraphs[-1] == "Quyết định có hiệu lực kể từ ngày ký."
    assert doc.items[0].paragraphs[1] == ("Sở Văn hóa, Thể thao và Du lịch chủ trì, phối hợp với các sở, ngành "
                                          "triển khai thực hiện Kế hoạch.")   # a <br> mid-sentence
    _assert_no_chrome(doc)


NUMBERED = """Trang chủ » Chỉ đạo điều hành
Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 03/6 đến ngày 09/6/2024)
03/06/2024 16:20
I. LĨNH VỰC KINH TẾ
1. Kế hoạch tổ chức Ngày hội văn hóa các dân tộc
UBND tỉnh ban hành Kế hoạch tổ chức Ngày hội văn hóa các dân tộc năm 2024 (Kế hoạch số 130/KH-UBND, ngày 04/6/2024).
Sở Văn hóa, Thể thao và Du lịch chủ trì tổ chức; thời gian hoàn thành trước ngày 30/6/2024.
2. Chỉ đạo phòng, chống thiên tai mùa mưa bão
Đồng chí Đoàn Thu Hà, Phó Chủ tịch UBND tỉnh chỉ đạo (Công văn số 2700/VP-KT, ngày 05/6/2024) về phòng, chống thiên tai.
Các huyện, thành phố rà soát các điểm có nguy cơ sạt lở.
II. LĨNH VỰC VĂN HÓA - XÃ HỘI
3. Quyết định thành lập Hội đồng thẩm định
Chủ tịch UBND tỉnh ban hành (Quyết định số 1001/QĐ-UBND ngày 06/6/2024) thành lập Hội đồng thẩm định.
Hội đồng tự giải thể sau khi hoàn thành nhiệm vụ.
Chia sẻ
In bài viết
"""


def test_numbered_headings_without_summary():
    doc = parse_bulletin(NUMBERED.splitlines(), "numbered.txt")
    # Section headings ("I. LĨNH VỰC KINH TẾ") are no items; their words stay, in the page's outline.
    assert doc is not None and doc.summary == "LĨNH VỰC KINH TẾ\nLĨNH VỰC VĂN HÓA - XÃ HỘI"
    assert (doc.week_start, doc.week_end) == ("2024-06-03", "2024-06-09")
    assert [i.heading for i in doc.items] == [
        "Kế hoạch tổ chức Ngày hội văn hóa các dân tộc", "Chỉ đạo phòng, chống thiên tai mùa mưa bão",
        "Quyết định thành lập Hội đồng thẩm định"]
    assert [len(i.paragraphs) for i in doc.items] == [2, 2, 2]
    assert [i.primary.number for i in doc.items] == ["130/KH-UBND", "2700/VP-KT", "1001/QĐ-UBND"]
    assert doc.items[2].primary.issued_date == "2024-06-06"
    _assert_no_chrome(doc)


POST_2025 = """Cổng thông tin điện tử
Tỉnh Lạng Sơn
Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 07/7 đến ngày 13/7/2025)
Chỉ đạo bảo đảm vận hành chính quyền địa phương hai cấp; Kế hoạch chuyển đổi số năm 2025 của Sở Khoa học và Công nghệ; chỉ đạo phòng, chống dịch tả lợn châu Phi.
Chỉ đạo bảo đảm vận hành chính quyền địa phương hai cấp
UBND tỉnh chỉ đạo (Công văn số 1234/UBND-NC, ngày 08/7/2025) bảo đảm vận hành thông suốt chính quyền địa phương hai cấp.
Chủ tịch UBND các xã, phường chịu trách nhiệm trước Chủ tịch UBND tỉnh về việc giải quyết thủ tục hành chính; Sở Nội vụ chủ trì hướng dẫn.
UBND các xã, phường rà soát, bố trí cán bộ, công chức theo vị trí việc làm.
Kế hoạch chuyển đổi số năm 2025 của Sở Khoa học và Công nghệ
Sở Khoa học và Công nghệ ban hành Kế hoạch chuyển đổi số năm 2025 (Kế hoạch số 45/KH-SKHCN, ngày 10/7/2025).
Các sở, ban, ngành và UBND các xã, phường triển khai thực hiện.
Chỉ đạo phòng, chống dịch tả lợn châu Phi
UBND tỉnh ban hành văn bản chỉ đạo phòng, chống dịch tả lợn châu Phi (Công văn số 1250/UBND-KT, ngày 11/7/2025).
Sở Nông nghiệp và Môi trường chủ trì, phối hợp với UBND các xã, phường tổ chức tiêu hủy lợn bệnh; thực hiện Công điện số 12/CĐ-TTg ngày 01/7/2025 của Thủ tướng Chính phủ.
Tổng số điểm của bài viết là: 0 trong 0 đánh giá
Click để đánh giá bài viết
Tin liên quan
Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 30/6 đến ngày 06/7/2025)
"""


def test_post_2025_layout(tmp_path):
    path = tmp_path / "tuan-2025-07-07.txt"
    path.write_text(POST_2025, encoding="utf-8")
    doc = load_path(path)
    assert doc.kind == "bulletin" and len(doc.items) == 3
    assert [len(i.paragraphs) for i in doc.items] == [3, 2, 2]
    first, plan, pigs = doc.items
    assert first.primary.number == "1234/UBND-NC" and first.primary.issuer == "UBND tỉnh"
    assert plan.primary.number == "45/KH-SKHCN"
    assert plan.primary.issuer == "Sở Khoa học và Công nghệ"
    assert pigs.primary.number == "1250/UBND-KT"
    assert [(d.number, d.issuer) for d in pigs.documents[1:]] == [("12/CĐ-TTg", "Thủ tướng Chính phủ")]
    _assert_no_chrome(doc)


def test_heading_detection_without_summary_match():
    """Headings reworded from the summary are still found from their own shape and what follows."""
    lines = [
        "Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 03/6 đến ngày 09/6/2024)",
        "Kế hoạch A; chỉ đạo B.",
        "Triển khai kế hoạch cải cách hành chính năm 2024",
        "UBND tỉnh ban hành (Kế hoạch số 5/KH-UBND, ngày 04/6/2024) Kế hoạch cải cách hành chính.",
        "Các sở thực hiện nghiêm túc.",
        "Tăng cường phòng chống cháy rừng",
        "Ngày 05/6/2024, UBND tỉnh chỉ đạo (Công văn số 9/UBND-KT, ngày 05/6/2024) phòng chống cháy rừng.",
    ]
    doc = parse_bulletin(lines, "x.txt")
    assert doc.summary == "Kế hoạch A; chỉ đạo B."
    assert [i.heading for i in doc.items] == ["Triển khai kế hoạch cải cách hành chính năm 2024",
                                              "Tăng cường phòng chống cháy rừng"]
    assert [i.primary.number for i in doc.items] == ["5/KH-UBND", "9/UBND-KT"]


def test_items_without_headings_fall_back_to_report_openings():
    lines = [
        "Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 03/6 đến ngày 09/6/2024)",
        "UBND tỉnh ban hành (Kế hoạch số 5/KH-UBND, ngày 04/6/2024) Kế hoạch cải cách hành chính.",
        "Các sở thực hiện nghiêm túc.",
        "UBND tỉnh chỉ đạo (Công văn số 9/UBND-KT, ngày 05/6/2024) phòng chống cháy rừng.",
    ]
    doc = parse_bulletin(lines, "x.txt")
    assert [i.primary.number for i in doc.items] == ["5/KH-UBND", "9/UBND-KT"]
    assert [len(i.paragraphs) for i in doc.items] == [2, 1]
    assert all(i.heading for i in doc.items)


# --------------------------------------------------------------------------- other documents


def test_generic_document_with_headings():
    lines = ["Báo cáo tình hình", "I. Kết quả", "Đã hoàn thành 10 nhiệm vụ.", "II. NHIỆM VỤ THỜI GIAN TỚI",
             "Tiếp tục thực hiện Kế hoạch số 143/KH-UBND ngày 20/6/2022 của UBND tỉnh."]
    doc = parse_document(lines, "bao-cao.txt", "text")
    assert doc.title == "Báo cáo tình hình"
    assert [i.heading for i in doc.items] == ["Kết quả", "NHIỆM VỤ THỜI GIAN TỚI"]
    assert doc.items[1].documents == []   # a mention, not the section's own document


def test_generic_document_without_headings_is_one_item():
    doc = parse_document(["Một đoạn văn duy nhất dài hơn hai mươi lăm từ để không bị coi là tiêu đề của tài "
                          "liệu này, vì vậy tên tệp sẽ được dùng làm tiêu đề cho mục duy nhất của nó."],
                         "ghi-chu.txt", "text")
    assert doc.title == "ghi-chu"
    assert len(doc.items) == 1 and doc.items[0].heading == "ghi-chu"


def test_official_document_header_gives_its_own_number():
    lines = ["UBND TỈNH LẠNG SƠN | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
             "Số: 143/KH-UBND | Độc lập - Tự do - Hạnh phúc", "Lạng Sơn, ngày 20 tháng 6 năm 2022", "KẾ HOẠCH",
             "Thực hiện Quyết định số 221/QĐ-TTg", "I. MỤC ĐÍCH, YÊU CẦU", "Nâng cao năng lực logistics.",
             "II. NHIỆM VỤ", "Sở Công Thương chủ trì."]
    doc = parse_document(lines, "kh143.docx", "docx")
    assert doc.items[-1].primary.number == "143/KH-UBND"
    assert doc.items[-1].primary.issued_date == "2022-06-20"
    assert doc.items[-1].primary.doc_type == "Kế hoạch"


def test_unlabelled_related_links_at_the_end_are_dropped():
    lines = NUMBERED.splitlines()[:-2] + [
        "Lạng Sơn: Tăng cường kiểm tra an toàn thực phẩm", "Hội nghị tổng kết công tác năm 2024",
        "Khai mạc Hội chợ thương mại biên giới"]
    doc = parse_bulletin(lines, "x.txt")
    assert doc.items[-1].paragraphs[-1] == "Hội đồng tự giải thể sau khi hoàn thành nhiệm vụ."
