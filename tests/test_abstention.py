"""Abstention: paraphrases of answerable questions are answered; other provinces and topics are declined.

The questions asked here are written for this file: none is in calibration.jsonl, eval/gold.yaml or
the archive gold set, the abstention model's data.
"""
from __future__ import annotations

import pytest

from retrieval.answer.places import provinces_in
from retrieval.answer.variants import chat, no_diacritics, other_province, typo, variants


def test_rewrites_keep_the_label_except_the_move_to_another_province():
    rewritten = variants({"text": "Ai chủ trì kế hoạch của tỉnh?", "expected_docs": ["1/KH-UBND"]})
    kinds = {v["variant"]: v for v in rewritten}
    assert set(kinds) == {"no_diacritics", "typo", "other_province"}
    assert kinds["no_diacritics"]["text"] == "ai chu tri ke hoach cua tinh" and not kinds["no_diacritics"].get("abstain")
    assert kinds["typo"]["expected_docs"] == ["1/KH-UBND"]
    assert kinds["other_province"]["abstain"] is True and "tỉnh" in kinds["other_province"]["text"]
    unanswerable = variants({"text": "Giá vàng hôm nay bao nhiêu?", "abstain": True})
    assert unanswerable and all(v["abstain"] for v in unanswerable)


def test_each_rewrite():
    assert no_diacritics("Sở Y tế chủ trì?") == "so y te chu tri"
    assert no_diacritics("so y te") is None
    assert chat("Văn bản nào được ban hành, không?") == "vb nào dc ban hành, ko"
    assert chat("Ai chủ trì") is None
    assert typo("Kế hoạch kiểm tra") == "Kế hoạc kiểm tra"
    assert other_province("Đến năm 2025 Lạng Sơn có bao nhiêu xã?").count("tỉnh ") == 1
    assert other_province("UBND tỉnh Lạng Sơn chỉ đạo") != "UBND tỉnh Lạng Sơn chỉ đạo"
    assert other_province("Ai chủ trì?") is None


@pytest.mark.parametrize("text,found", [
    ("UBND tỉnh Thái Bình chỉ đạo gì", {"thai binh"}),
    ("ubnd tinh quang nam", {"quang nam"}),
    ("TP.HCM có bao nhiêu", {"ho chi minh"}),
    ("tỉnh Hòa Bình", {"hoa binh"}),
    ("giữ gìn hòa bình", set()),
    ("Đảng bộ tỉnh Lạng Sơn là ngày nào", set()),   # not "Sơn La"
    ("tỉnh Sơn La", {"son la"}),
])
def test_provinces_named(text, found):
    assert provinces_in(text) == found


ANSWERABLE_PARAPHRASES = [
    "bn xe điện dc thí điểm tại đền quan giám sát",          # chat shorthand
    "ai phai hoan thien cac nen tang tro ly ao",              # no diacritics
    "han ra soat quy hoach tinh la khi nao",
    "Liên đoàn Cầu lông tỉnh tham gia giải j vậy",
    "Truờng Mầm non Đông Quan đạt chuẩn múc độ mấy",         # typos
]
OTHER_PROVINCES = [
    "UBND tỉnh Nghệ An chỉ đạo gì về phòng chống sốt xuất huyết?",
    "Tỉnh Quảng Ninh có bao nhiêu xe điện thí điểm tại Đền Quan Giám sát?",
    "kế hoạch phát triển logistics của tỉnh Cao Bằng",
]


@pytest.mark.parametrize("question", ANSWERABLE_PARAPHRASES)
def test_answerable_paraphrase_is_answered(retrieval_service, question):
    assert not retrieval_service.ask(question).abstained


@pytest.mark.parametrize("question", OTHER_PROVINCES)
def test_question_about_another_province_is_declined(retrieval_service, question):
    answer = retrieval_service.ask(question)
    assert answer.abstained and answer.citations == []


def test_term_weights_read_from_the_index_equal_those_counted_from_every_passage(retrieval_service):
    """The answerer's IDF reads each folded term's document frequency off the BM25 field's postings;
    it must be what counting every passage's terms gives."""
    from retrieval.answer.evidence import TermWeights

    index = retrieval_service.index
    counted = TermWeights.of_documents(index.store.tokens("fold"))
    read = TermWeights(index.document_frequencies("fold"), len(index))
    assert read.n == counted.n > 0
    assert {t: read.df.get(t) for t in counted.df} == dict(counted.df)
    assert read.df.get("không-có-trong-chỉ-mục") == 0
