"""Full administrative documents (Decree 30/2020/NĐ-CP layout) become documents with their own
metadata: the header gives number, type, date, issuer and subject, the signer block the signer,
and every passage of the body cites the document itself, never a document it mentions."""
from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.ingest import load_path
from retrieval.ingest.chunking import chunk_document
from retrieval.ingest.official import is_official_document, parse_official

DATA = Path(__file__).parent / "data" / "official"


@pytest.fixture(scope="module")
def letter():
    """A Công văn copied from a PDF: two columns per header line, hard-wrapped body, "V/v" subject."""
    return load_path(DATA / "cong-van-phong-chay-rung.txt")


@pytest.fixture(scope="module")
def plan():
    """A Kế hoạch of a department of another province, one header field per line, sections I–III."""
    return load_path(DATA / "ke-hoach-chuyen-doi-so.txt")


def test_the_header_of_a_letter_is_its_metadata(letter):
    ref = letter.items[0].primary
    assert (ref.number, ref.doc_type, ref.issued_date) == ("317/UBND-KT", "Công văn", "2025-03-04")
    assert ref.issuer == "UBND tỉnh Lạng Sơn"
    assert ref.signer == "Lò Văn Khang, Phó Chủ tịch"
    assert letter.title == "Tăng cường phòng cháy, chữa cháy rừng mùa khô năm 2025"


def test_a_reference_broken_across_lines_is_a_mention_not_the_document(letter):
    passages = chunk_document(letter)
    assert {p.doc_number for p in passages} == {"317/UBND-KT"}
    assert "27/CĐ-TTg" in passages[0].mentions


def test_addressees_and_signer_block_are_no_content(letter):
    text = " ".join(p.text for p in chunk_document(letter))
    for chrome in ("Kính gửi", "Nơi nhận", "Lưu: VT", "KT. CHỦ TỊCH", "(Đã ký)", "- Các sở, ban, ngành tỉnh;"):
        assert chrome not in text
    assert "hoàn thành trước ngày 20/3/2025" in text
    assert "Chủ trì, phối hợp với Công an tỉnh, UBND các huyện kiểm tra phương án chữa cháy rừng" in text


def test_a_plan_has_type_line_subject_and_sections(plan):
    ref = plan.items[0].primary
    assert (ref.number, ref.doc_type, ref.issued_date) == ("58/KH-SKHCN", "Kế hoạch", "2025-08-12")
    assert ref.issuer == "Sở Khoa học và Công nghệ"     # the lowest unit, cased like its ministry
    assert ref.signer == "Nông Thị Hạnh, Giám đốc"
    assert plan.title == "Triển khai nền tảng số dùng chung năm 2025"
    headings = [item.heading for item in plan.items]
    assert headings[1:] == ["MỤC ĐÍCH, YÊU CẦU", "NHIỆM VỤ", "TỔ CHỨC THỰC HIỆN"]
    assert all(item.primary.number == "58/KH-SKHCN" for item in plan.items)


def test_pages_without_the_header_are_not_official_documents():
    assert parse_official(["Chỉ đạo tăng cường phòng, chống dịch",
                           "UBND tỉnh ban hành Công văn số 12/UBND-KT ngày 3/3/2025."], "x.txt", "text") is None
    assert not is_official_document(["Số liệu: 12/2024 tăng", "Hà Nội, hôm nay"])


HEADERS = Path(__file__).parent / "data" / "documents_headers.yaml"
DOCUMENTS = Path(__file__).parent / "data" / "documents"


def header_fields_right(part: str) -> tuple[int, int]:
    """(fields read right, fields) over the labelled documents of one split."""
    import yaml

    from retrieval.goldset.split import split_of

    right = total = 0
    for row in yaml.safe_load(HEADERS.read_text(encoding="utf-8")):
        if split_of(row["file"]) != part:
            continue
        doc = load_path(DOCUMENTS / row["file"])
        ref = doc.items[0].primary
        got = [ref.number, ref.doc_type, ref.issued_date, ref.issuer, doc.title[:1].lower() + doc.title[1:], ref.signer]
        want = [row["number"], row["doc_type"], str(row["issued_date"]), row["issuer"],
                row["subject"][:1].lower() + row["subject"][1:], f"{row['signer']}, {row['signer_title']}"]
        right += sum(g == w for g, w in zip(got, want))
        total += len(want)
    return right, total


def test_the_header_fields_of_documents_written_in_many_layouts():
    """Eight documents of our own in varied Word/PDF copy layouts (tests/data/documents): every field of
    the dev half is read; the held-out half, never tuned on, keeps at least 90 % (measured 22/24)."""
    right, total = header_fields_right("dev")
    assert total >= 24 and right == total
    right, total = header_fields_right("heldout")
    assert total >= 24 and right / total >= 0.9
