"""Chunking: size limits, sentence integrity, metadata carried, stable ids."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.ingest import load_path
from retrieval.ingest.chunking import SUMMARY_HEADING, chunk_document, split_paragraphs
from retrieval.schema import DocumentRef, Item, SourceDocument
from retrieval.text import split_sentences

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
BULLETINS = ["langson-chi-dao-dieu-hanh-2022-06-20.txt", "langson-chi-dao-dieu-hanh-2024-05-27.txt"]


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, SourceDocument]:
    target = tmp_path_factory.mktemp("corpus")
    return {name: load_path(shutil.copy(CORPUS / name, target / name)) for name in BULLETINS}


def _words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize("max_words", [40, 80, 160, 300])
def test_limits_and_sentence_integrity(docs, max_words):
    for doc in docs.values():
        passages = chunk_document(doc, max_words=max_words)
        for p in passages:
            assert p.text.strip() and _words(p.text) <= max_words, (p.id, _words(p.text))
        # Every sentence no longer than the limit is found whole in one passage of its item.
        for n, item in enumerate(doc.items, start=1):
            texts = [p.text.replace("\n", " ") for p in passages if p.id.split(":")[1] == f"{n:02d}"]
            for paragraph in item.paragraphs:
                for sentence in split_sentences(paragraph):
                    if _words(sentence) <= max_words:
                        assert any(sentence in t for t in texts), (item.heading, sentence[:60])


def test_no_text_lost_or_duplicated(docs):
    for doc in docs.values():
        passages = chunk_document(doc)
        for n, item in enumerate(doc.items, start=1):
            chunked = " ".join(p.text for p in passages if p.id.split(":")[1] == f"{n:02d}").split()
            assert chunked == " ".join(item.paragraphs).split()


def test_short_paragraphs_are_merged_up_to_the_limit():
    chunks = split_paragraphs(["một hai ba.", "bốn năm.", "sáu bảy tám chín.", "mười."], max_words=6)
    assert chunks == ["một hai ba.\nbốn năm.", "sáu bảy tám chín.\nmười."]


def test_long_paragraph_splits_at_sentences():
    paragraph = "Câu một có năm từ. Câu hai cũng có sáu từ. Câu ba ngắn."   # 5 + 6 + 3 words
    assert split_paragraphs([paragraph], max_words=11) == [
        "Câu một có năm từ. Câu hai cũng có sáu từ.", "Câu ba ngắn."]
    assert split_paragraphs([paragraph], max_words=6) == [
        "Câu một có năm từ.", "Câu hai cũng có sáu từ.", "Câu ba ngắn."]
    # The tail of a long paragraph takes the next short paragraph along.
    assert split_paragraphs([paragraph, "Đoạn sau."], max_words=11) == [
        "Câu một có năm từ. Câu hai cũng có sáu từ.", "Câu ba ngắn.\nĐoạn sau."]


def test_single_oversize_sentence_splits_at_clauses_then_words():
    sentence = "a b c; d e f; g h i j k l m n o p."
    assert split_paragraphs([sentence], max_words=4) == ["a b c;", "d e f;", "g h i j", "k l m n", "o p."]


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        split_paragraphs(["x"], max_words=0)


def test_summary_passage(docs):
    doc = docs[BULLETINS[1]]
    passages = chunk_document(doc)
    summary = [p for p in passages if p.id.split(":")[1] == "00"]
    assert summary and all(p.heading == SUMMARY_HEADING for p in summary)
    assert all(p.doc_number is None and p.issuer is None and p.signer is None for p in summary)
    assert " ".join(p.text for p in summary).split() == doc.summary.split()
    assert summary[0].bulletin_date == "2024-05-27"


def test_metadata_carried(docs):
    doc = docs[BULLETINS[1]]
    passages = chunk_document(doc)
    vp = [p for p in passages if p.doc_number == "2625/VP-KT"]
    assert vp and all(p.heading == "Chỉ đạo tăng cường công tác quản lý hoạt động đầu tư xây dựng" for p in vp)
    p = vp[0]
    assert (p.doc_type, p.issued_date, p.issuer, p.signer) == (
        "Công văn", "2024-05-29", "Văn phòng UBND tỉnh", "Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh")
    assert p.mentions == ["2198/BXD-HĐXD", "62/2020/QH14"]
    assert p.source == BULLETINS[1] and p.title == doc.title and p.bulletin_date == "2024-05-27"
    assert not p.text.startswith(p.heading)   # the heading is metadata, not prepended text
    typo = next(p for p in passages if p.doc_number == "703/UBND-NC")
    assert typo.issued_date == "2024-05-27"


def test_item_without_own_document_still_lists_mentions(docs):
    meeting = [p for p in chunk_document(docs[BULLETINS[1]]) if p.id.split(":")[1] == "01"]
    assert meeting and all(p.doc_number is None for p in meeting)
    assert all(p.mentions == ["69-KL/TW", "20-NQ/TW"] for p in meeting)


def test_ids_stable_readable_unique(docs, tmp_path):
    doc = docs[BULLETINS[0]]
    first = chunk_document(doc)
    again = chunk_document(load_path(shutil.copy(CORPUS / BULLETINS[0], tmp_path / BULLETINS[0])))
    assert [p.id for p in first] == [p.id for p in again]
    assert [p.to_dict() for p in first] == [p.to_dict() for p in again]
    ids = [p.id for p in first]
    assert len(ids) == len(set(ids))
    assert ids[0] == "langson-chi-dao-dieu-hanh-2022-06-20:00:00"
    assert {i.split(":")[1] for i in ids} == {f"{n:02d}" for n in range(0, 10)}
    for i in ids:
        stem, item, chunk = i.split(":")
        assert stem == "langson-chi-dao-dieu-hanh-2022-06-20" and len(item) == len(chunk) == 2


def test_generic_document_chunks():
    doc = SourceDocument(source="/x/ghi-chu.md", kind="markdown", title="Ghi chú", items=[
        Item("Mục một", ["Đoạn một.", "Đoạn hai."], [DocumentRef("5/KH-UBND", "Kế hoạch", "2024-01-02", "UBND tỉnh")]),
        Item("Mục hai", ["Theo Quyết định số 7/QĐ-UBND ngày 3/1/2024 của UBND tỉnh."], []),
    ])
    passages = chunk_document(doc)
    assert [p.id for p in passages] == ["ghi-chu:01:00", "ghi-chu:02:00"]
    assert passages[0].doc_number == "5/KH-UBND" and passages[0].text == "Đoạn một.\nĐoạn hai."
    assert passages[1].doc_number is None and passages[1].mentions == ["7/QĐ-UBND"]
    assert all(p.bulletin_date is None and p.source == "ghi-chu.md" for p in passages)
