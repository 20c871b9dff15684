"""Ask: extractive answers citing the right directive, with or without diacritics; honest abstention."""
from __future__ import annotations

import pytest

from retrieval.text import fold

# Written by reading the bulletins; none of them is in retrieval/answer/calibration.jsonl.
QUESTIONS = [
    ("Cơ quan nào chủ trì xây dựng kế hoạch tiêm mũi 3 cho trẻ em?", "2792/VP-KGVX", "Sở Y tế"),
    ("Ai phải hoàn thiện các nền tảng Trợ lý ảo?", "706/UBND-KGVX", "Sở Thông tin và Truyền thông"),
    ("Hạn rà soát Quy hoạch tỉnh là khi nào?", "723/UBND-KT", "10/6/2024"),
    ("Trường Mầm non Đông Quan được công nhận đạt chuẩn mức độ mấy?", "1073/QĐ-UBND", "Mức độ 1"),
    ("Bao nhiêu xe điện được thí điểm tại Đền Quan Giám sát?", "962/QĐ-UBND", "30 xe"),
    ("Đến năm 2025 tỷ lệ tham gia bảo hiểm y tế đạt bao nhiêu?", "117/KH-UBND", "95%"),
    ("Sở Tài nguyên và Môi trường cập nhật giấy phép tài nguyên nước ở đâu?", "727/UBND-KT", "gstnn-gp"),
    ("Liên đoàn Cầu lông tỉnh tham gia giải gì?", "1066/QĐ-UBND", "cầu lông trung cao tuổi"),
]

OUT_OF_DOMAIN = [
    "Giá cà phê xuất khẩu tuần này thế nào?",
    "Cách đổi giấy phép lái xe ô tô hết hạn",
    "Lịch thi đấu SEA Games năm nay",
    "cong thuc lam banh chung",
    "Ai là Tổng thống Mỹ hiện nay?",
]


def cited(answer):
    return [c.doc_number for c in answer.citations]


@pytest.mark.parametrize("question,doc,fact", QUESTIONS)
def test_answer_cites_the_directive_and_states_the_fact(retrieval_service, question, doc, fact):
    answer = retrieval_service.ask(question)
    assert not answer.abstained
    assert doc in cited(answer)[:3]
    assert fact.lower() in answer.answer.lower()


@pytest.mark.parametrize("question,doc,fact", QUESTIONS)
def test_question_without_diacritics_cites_the_same_directive(retrieval_service, question, doc, fact):
    answer = retrieval_service.ask(fold(question))
    assert not answer.abstained
    assert doc in cited(answer)[:3]


@pytest.mark.parametrize("question", OUT_OF_DOMAIN)
def test_out_of_domain_question_abstains_and_cites_nothing(retrieval_service, question):
    answer = retrieval_service.ask(question)
    assert answer.abstained and answer.citations == []
    assert "không tìm thấy" in answer.answer or "chưa tìm thấy" in answer.answer


@pytest.mark.parametrize("question,doc", [
    ("Kế hoạch 143/KH-UBND nói gì?", "143/KH-UBND"),
    ("ke hoach 143 noi gi", "143/KH-UBND"),
    ("Quyết định số 924 /QĐ-UBND về việc gì?", "924/QĐ-UBND"),
    ("Công văn 2625/VP-KT", "2625/VP-KT"),
])
def test_question_naming_a_document_goes_to_it(retrieval_service, question, doc):
    answer = retrieval_service.ask(question)
    assert not answer.abstained
    assert cited(answer)[0] == doc


def test_citation_has_every_field_of_the_json_schema(retrieval_service):
    data = retrieval_service.ask("Ai chủ trì đánh giá tình hình dịch sốt xuất huyết?").to_dict()
    assert set(data) == {"question", "answer", "abstained", "citations"}
    citation = data["citations"][0]
    assert {"doc_number", "doc_type", "issued_date", "issuer", "title", "bulletin", "source", "quote",
            "score"} <= set(citation)
    assert citation["doc_number"] == "704/UBND-KGVX" and citation["issued_date"] == "2022-06-23"
    quote = citation["quote"].rstrip("…")
    assert quote and quote in data["answer"]


@pytest.mark.parametrize("question", [q for q, _, _ in QUESTIONS] + [
    "Kiểm tra công tác cải cách hành chính năm 2024 hoàn thành khi nào?",
    "Ai chủ trì xây dựng kế hoạch tiêm vắc xin cho trẻ em?",
])
def test_first_citation_quotes_the_answer(retrieval_service, question):
    answer = retrieval_service.ask(question)
    assert not answer.abstained
    quote = answer.citations[0].quote.rstrip("…")
    assert quote and quote in answer.answer


@pytest.mark.parametrize("typed, doc", [
    ("ubnd tinh chi dao j ve phong chong sot xuat huyet vay", "704/UBND-KGVX"),
    ("tinh chi dao ntn ve dau gia tai san", "703/UBND-NC"),
    ("tinh yeu cau gi de phong chong sxh", "704/UBND-KGVX"),    # the subject's own abbreviation
])
def test_chat_shorthand_is_read_as_the_words_meant(retrieval_service, typed, doc):
    answer = retrieval_service.ask(typed)
    assert not answer.abstained and answer.citations[0].doc_number == doc
    assert answer.question == typed     # reported as the user typed it


def test_expanding_shorthand_leaves_document_codes_and_names_alone():
    from retrieval.text import expand_chat_shorthand

    assert expand_chat_shorthand("qđ 924/QĐ-UBND ko dc ban hành à") == "quyết định 924/QĐ-UBND không được ban hành à"
    assert expand_chat_shorthand("Sở KH&CN, CV 704") == "Sở KH&CN, CV 704"


@pytest.mark.parametrize("question, fact", [
    # a specific question about a named document: the fact, not the sentence that merely cites it
    ("Quyết định 1073/QĐ-UBND công nhận trường nào đạt chuẩn quốc gia?", "Đông Quan"),
    # a generic one: the sentence saying what the document is
    ("Kế hoạch số 145/KH-UBND có nội dung gì?", "an toàn thông tin"),
])
def test_a_question_about_a_named_document_gets_its_fact(retrieval_service, question, fact):
    answer = retrieval_service.ask(question)
    assert fact in answer.answer and not answer.abstained


def test_a_time_of_day_question_gets_the_hours_not_a_quantity(retrieval_service):
    answer = retrieval_service.ask("Xe điện thí điểm được chạy từ mấy giờ đến mấy giờ?")
    assert "5h00" in answer.answer and "18h00" in answer.answer


def test_who_directed_prefers_the_sentence_naming_the_official():
    from retrieval.answer.extractive import cue_strength

    opening = ("Văn phòng UBND tỉnh thông báo ý kiến chỉ đạo của đồng chí Dương Xuân Huyên, Phó Chủ tịch UBND tỉnh "
               "về tăng cường phòng, chống dịch.")
    duty = "Sở Y tế chủ trì, phối hợp với các cơ quan liên quan tăng cường phòng, chống dịch."
    for question in ("Ai chỉ đạo tăng cường phòng, chống dịch?", "Công văn đó là ý kiến chỉ đạo của đồng chí nào?"):
        assert cue_strength(question, opening) == 1.0 and cue_strength(question, duty) == 0.0


def test_which_document_prefers_a_sentence_naming_another_document_by_number():
    from retrieval.answer.extractive import cue_strength

    question = "Công văn đó chỉ đạo thực hiện chỉ thị nào của Thủ tướng Chính phủ?"
    assert cue_strength(question, "Các sở triển khai các nội dung tại Chỉ thị số 08/CT-TTg, ngày 01/6/2022.") == 1.0
    assert cue_strength(question, "Văn phòng truyền đạt ý kiến về việc thực hiện Chỉ thị của Thủ tướng Chính phủ.") == 0.0


def test_subject_abbreviations_are_expanded():
    from retrieval.text import expand_chat_shorthand

    assert expand_chat_shorthand("bộ ldtbxh khuyên gì, sx nông nghiệp ra sao") == \
        "bộ Lao động - Thương binh và Xã hội khuyên gì, sản xuất nông nghiệp ra sao"
