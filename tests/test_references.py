"""Document references: number shapes, dates, issuers, user mentions."""
from __future__ import annotations

import pytest

from retrieval.ingest.references import (
    DocMention, doc_number_key, find_mentions, find_references, infer_doc_type, issuer_from_number,
    normalize_doc_number, parse_date, parse_mention, resolve_document_mention,
)

# (text, number, doc_type, issued_date, issuer)
REFERENCE_CASES = [
    ("UBND tỉnh ban hành (Kế hoạch số 143/KH-UBND, ngày 20/6/2022) Kế hoạch",
     "143/KH-UBND", "Kế hoạch", "2022-06-20", None),
    ("thực hiện Quyết định số 221/QĐ-TTg ngày 22/02/2021 của Thủ tướng Chính phủ sửa đổi, bổ sung",
     "221/QĐ-TTg", "Quyết định", "2021-02-22", "Thủ tướng Chính phủ"),
    ("theo Nghị định số 73/2019/NĐ-CP ngày 05/9/2019 của Chính phủ quy định quản lý",
     "73/2019/NĐ-CP", "Nghị định", "2019-09-05", "Chính phủ"),
    ("thực hiện Kết luận số 69-KL/TW ngày 11/01/2024 của Bộ Chính trị về tiếp tục",
     "69-KL/TW", "Kết luận", "2024-01-11", "Bộ Chính trị"),
    ("và Kế hoạch số 161-KH/TU ngày 11/4/2024 của Ban Thường vụ Tỉnh ủy thực hiện",
     "161-KH/TU", "Kế hoạch", "2024-04-11", "Ban Thường vụ Tỉnh ủy"),
    ("việc triển khai Nghị quyết số 60-NQ/TU, ngày 15/12/2021 của Ban Thường vụ Tỉnh ủy về đẩy mạnh",
     "60-NQ/TU", "Nghị quyết", "2021-12-15", "Ban Thường vụ Tỉnh ủy"),
    ("Quy hoạch tổng thể quốc gia tại Nghị quyết số 81/2023/QH15 của Quốc hội, Quy hoạch Vùng",
     "81/2023/QH15", "Nghị quyết", None, "Quốc hội"),
    ("Bộ Xây dựng yêu cầu tại Công văn số 2198/BXD-HĐXD ngày 21/5/2024. Theo đó",
     "2198/BXD-HĐXD", "Công văn", "2024-05-21", None),
    ("năm 2024 (Kế hoạch số 80/KH-BCĐCCHC, ngày 29/5/2024).",
     "80/KH-BCĐCCHC", "Kế hoạch", "2024-05-29", None),
    ("Chỉ đạo thực hiện Công điện số 46/CĐ-TTg của Chính phủ về rà soát",
     "46/CĐ-TTg", "Công điện", None, "Chính phủ"),
    ("trọng điểm năm 2024 (Quyết định số 924 /QĐ-UBND, ngày 27/5/2024).",
     "924/QĐ-UBND", "Quyết định", "2024-05-27", None),
    ("UBND tỉnh chỉ đạo (Công văn số 723 /UBND-KT, ngày 30/5/2024) thực hiện",
     "723/UBND-KT", "Công văn", "2024-05-30", None),
    ("UBND tỉnh chỉ đạo (Công văn số 703/UBND-NC, ngày 703/UBND-NC, ngày 27/5/2024) thực hiện",
     "703/UBND-NC", "Công văn", "2024-05-27", None),
    ("Quyết định số 254/QĐ-UBND ngày 03/02/2024 của Chủ tịch UBND tỉnh về việc thành lập",
     "254/QĐ-UBND", "Quyết định", "2024-02-03", "Chủ tịch UBND tỉnh"),
    ("Thông báo số 180/TB-VPCP ngày 23/6/2022 của Văn phòng Chính phủ về kết luận",
     "180/TB-VPCP", "Thông báo", "2022-06-23", "Văn phòng Chính phủ"),
    ("Chỉ thị số 25-CT/TW, ngày 25/10/2023 của Ban Bí thư Trung ương Đảng về tiếp tục",
     "25-CT/TW", "Chỉ thị", "2023-10-25", "Ban Bí thư Trung ương Đảng"),
    ("theo Luật số 62/2020/QH14 và các Nghị định", "62/2020/QH14", "Luật", None, None),
    ("Thông tư số 01/2014/TTLT-BTP-BNV ngày 5 tháng 6 năm 2014 của Bộ Tư pháp và Bộ Nội vụ hướng dẫn",
     "01/2014/TTLT-BTP-BNV", "Thông tư", "2014-06-05", "Bộ Tư pháp và Bộ Nội vụ"),
    ("Tờ trình số 88/TTr-UBND ngày 10-06-2024 của UBND tỉnh", "88/TTr-UBND", "Tờ trình", "2024-06-10", "UBND tỉnh"),
    ("văn bản số 12/SNN-TTBVTV của Sở Nông nghiệp và Phát triển nông thôn về phòng trừ",
     "12/SNN-TTBVTV", "Công văn", None, "Sở Nông nghiệp và Phát triển nông thôn"),
    ("Báo cáo số 315/BC-UBND ngày 31/2/2024", "315/BC-UBND", "Báo cáo", None, None),
]


@pytest.mark.parametrize("text, number, doc_type, issued, issuer", REFERENCE_CASES)
def test_reference_shapes(text, number, doc_type, issued, issuer):
    refs = find_references(text)
    assert len(refs) == 1, refs
    ref = refs[0]
    assert (ref.number, ref.doc_type, ref.issued_date, ref.issuer) == (number, doc_type, issued, issuer)
    assert ref.raw and ref.raw in text


def test_several_references_in_order_and_no_false_numbers():
    text = ("Thực hiện Quyết định số 281/QĐ-TTg ngày 05/4/2024 của Thủ tướng Chính phủ và Kế hoạch số "
            "161-KH/TU ngày 11/4/2024 của Ban Thường vụ Tỉnh ủy; toàn tỉnh có 115/181 xã, giai đoạn "
            "2021 - 2025, tối thiểu 01 tập huấn viên cấp huyện/80 tổ hòa giải, năm 2024 - UBND tỉnh.")
    refs = find_references(text)
    assert [r.number for r in refs] == ["281/QĐ-TTg", "161-KH/TU"]
    assert refs[0].issuer == "Thủ tướng Chính phủ"   # stops before "và Kế hoạch"


def test_bare_number_without_type_word_is_typed_from_its_codes():
    refs = find_references("các văn bản 1234/UBND-KT và 56/QĐ-UBND, 7/CT-TTg đã nêu")
    assert [(r.number, r.doc_type) for r in refs] == [
        ("1234/UBND-KT", "Công văn"), ("56/QĐ-UBND", "Quyết định"), ("7/CT-TTg", "Chỉ thị")]


@pytest.mark.parametrize("raw, expected", [
    ("924 /qđ-ubnd", "924/QĐ-UBND"),
    ("924/QĐ-UBND", "924/QĐ-UBND"),
    (" 723 / UBND - KT ", "723/UBND-KT"),
    ("221/qđ-ttg", "221/QĐ-TTg"),
    ("73/2019/nđ-cp", "73/2019/NĐ-CP"),
    ("69-kl/tw", "69-KL/TW"),
    ("88/ttr-ubnd", "88/TTr-UBND"),
    ("924 /QĐ-UBND", "924/QĐ-UBND"),
])
def test_normalize_doc_number(raw, expected):
    assert normalize_doc_number(raw) == expected


def test_normalize_is_nfc_and_key_ignores_diacritics():
    import unicodedata

    assert normalize_doc_number(unicodedata.normalize("NFD", "12/TB-SỞ")) == "12/TB-SỞ"
    assert doc_number_key("221/qd-ttg") == doc_number_key("221/QĐ-TTg") == "221/QD-TTG"
    assert normalize_doc_number("221/qd-ttg") != normalize_doc_number("221/QĐ-TTg")


@pytest.mark.parametrize("number, doc_type, issuer", [
    ("143/KH-UBND", "Kế hoạch", "UBND tỉnh"),
    ("924/QĐ-UBND", "Quyết định", "UBND tỉnh"),
    ("704/UBND-KGVX", "Công văn", "UBND tỉnh"),
    ("2625/VP-KT", "Công văn", "Văn phòng UBND tỉnh"),
    ("05/CT-UBND", "Chỉ thị", "UBND tỉnh"),
    ("12/TB-UBND", "Thông báo", "UBND tỉnh"),
    ("30/NQ-HĐND", "Nghị quyết", "HĐND tỉnh"),
    ("46/CĐ-TTg", "Công điện", "Thủ tướng Chính phủ"),
    ("180/TB-VPCP", "Thông báo", "Văn phòng Chính phủ"),
    ("81/2023/QH15", None, "Quốc hội"),
    ("69-KL/TW", "Kết luận", "Trung ương Đảng"),
    ("2198/BXD-HĐXD", "Công văn", "Bộ Xây dựng"),
    ("80/KH-BCĐCCHC", "Kế hoạch", "Ban Chỉ đạo cải cách hành chính tỉnh"),
])
def test_type_and_issuer_from_number(number, doc_type, issuer):
    assert infer_doc_type(number) == doc_type
    assert issuer_from_number(number) == issuer


@pytest.mark.parametrize("text, iso", [
    ("ngày 20/6/2022", "2022-06-20"),
    (", ngày 27/5/2024", "2024-05-27"),
    ("ngày 05/9/2019", "2019-09-05"),
    ("05-09-2019", "2019-09-05"),
    ("ngày 5 tháng 6 năm 2024", "2024-06-05"),
    ("Lạng Sơn, ngày 20 tháng 6 năm 2022", "2022-06-20"),
    ("29/02/2024", "2024-02-29"),
    ("31/2/2024", None),
    ("29/02/2023", None),
    ("ngày 703/UBND-NC", None),
    ("ngày 32/1/2024", None),
    ("ngày 12/13/2024", None),
    ("không có ngày", None),
])
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_invalid_date_in_reference_gives_no_date():
    (ref,) = find_references("(Quyết định số 12/QĐ-UBND, ngày 31/2/2024)")
    assert ref.number == "12/QĐ-UBND" and ref.issued_date is None


@pytest.mark.parametrize("text, expected", [
    ("kế hoạch 143 giao ai chủ trì?", DocMention("Kế hoạch", "143")),
    ("KH 143", DocMention("Kế hoạch", "143")),
    ("ke hoach so 143 noi gi", DocMention("Kế hoạch", "143")),
    ("công văn 704/UBND-KGVX", DocMention("Công văn", "704/UBND-KGVX")),
    ("cong van 704/ubnd-kgvx", DocMention("Công văn", "704/UBND-KGVX")),
    ("quyết định số 924", DocMention("Quyết định", "924")),
    ("qđ 924 có hiệu lực khi nào", DocMention("Quyết định", "924")),
    ("Quyết định số 924 /QĐ-UBND nói gì", DocMention("Quyết định", "924/QĐ-UBND")),
    ("924/QĐ-UBND nói gì", DocMention("Quyết định", "924/QĐ-UBND")),
    ("văn bản 2625/VP-KT", DocMention("Công văn", "2625/VP-KT")),
    ("nghị định 73/2019/NĐ-CP", DocMention("Nghị định", "73/2019/NĐ-CP")),
    ("kết luận 69-KL/TW", DocMention("Kết luận", "69-KL/TW")),
])
def test_parse_mention(text, expected):
    assert parse_mention(text) == expected


@pytest.mark.parametrize("text", ["năm 2024 có gì mới", "ai chủ trì phòng chống sốt xuất huyết", "115/181 xã"])
def test_no_mention(text):
    assert parse_mention(text) is None


KNOWN = ["143/KH-UBND", "145/KH-UBND", "704/UBND-KGVX", "924/QĐ-UBND", "221/QĐ-TTg", "143/QĐ-UBND", "2625/VP-KT"]


@pytest.mark.parametrize("question, expected", [
    ("kế hoạch 143 giao ai chủ trì", "143/KH-UBND"),
    ("KH 143", "143/KH-UBND"),
    ("quyết định số 924", "924/QĐ-UBND"),
    ("qd 924/qd-ubnd", "924/QĐ-UBND"),
    ("công văn 704/UBND-KGVX yêu cầu gì", "704/UBND-KGVX"),
    ("cong van 2625", "2625/VP-KT"),
    ("văn bản số 143", None),            # a plan and a decision share the number 143
    ("kế hoạch 999", None),
    ("sốt xuất huyết", None),
])
def test_resolve_document_mention(question, expected):
    assert resolve_document_mention(question, KNOWN) == expected


def test_find_mentions_lists_all():
    assert find_mentions("so sánh kế hoạch 143 và quyết định 924") == [
        DocMention("Kế hoạch", "143"), DocMention("Quyết định", "924")]


def _numbers_of_the_shared_pages() -> list[str]:
    from conftest import SHARED

    pages = sorted((SHARED / "corpus").rglob("*.txt")) + sorted((SHARED / "archive").rglob("*.txt"))
    found = [r.number for page in pages for r in find_references(page.read_text(encoding="utf-8"))]
    return list(dict.fromkeys(found))


def test_known_numbers_answer_a_mention_as_a_scan_of_every_number_would():
    """A catalog looks a user's mention up by key and leading digits instead of reading every known
    number: the numbers it gives, and their order, are those of ``mention_matches`` over all of them,
    for every number cited on the sample and archive pages named whole, by its digits with and
    without a type or a year, and typed without diacritics."""
    from retrieval.ingest.references import KnownNumbers, mention_matches
    from retrieval.text import fold

    cited = _numbers_of_the_shared_pages()
    assert len(cited) > 50
    # Other documents sharing the cited ones' digits (another type, a year): short mentions fit several.
    digits_of = [n.split("/")[0].split("-")[0] for n in cited[:30]]
    numbers = cited + [f"{d}/TB-UBND" for d in digits_of] + [f"{d}/2024/QĐ-UBND" for d in digits_of]
    numbers += [fold(n) for n in cited if fold(n) != n][:10]   # one key for two spellings: both answer
    known = KnownNumbers(numbers)
    texts = []
    for number in numbers:
        digits = number.split("/")[0].split("-")[0]
        texts += [f"văn bản {number} nói gì", fold(f"cong van {number}"), f"kế hoạch {digits}", f"văn bản {digits}",
                  f"quyết định số {digits}", f"văn bản {digits}/2024", f"chỉ thị {int(digits):04d}"
                  if digits.isdigit() else number]
    mentions = [m for text in texts for m in find_mentions(text)]
    assert sum(m.is_prefix for m in mentions) > 100 and sum(not m.is_prefix for m in mentions) > 100
    several = 0
    for mention in mentions:
        expected = [n for n in numbers if mention_matches(mention, n)]
        assert known.matching(mention) == expected, mention
        several += len(expected) > 1
    assert several > 0   # short mentions that fit several documents are among them
    assert all(n in known for n in numbers) and "1/XYZ-ABC" not in known
