"""The Vietnamese NLU's rule-based parts (nlu/normalize, nlu/vocabulary, nlu/segment), run without Rasa."""
from __future__ import annotations

import unicodedata

import pytest

from nlu.normalize import lemma, nfc_with_offsets
from nlu.segment import segment
from nlu.vocabulary import TopicLexicon, find_entities
from retrieval.tasks.agencies import Gazetteer


@pytest.fixture(scope="module")
def vocab():
    return Gazetteer.load(), TopicLexicon.load()


def entities(text, vocab):
    gazetteer, topics = vocab
    return [(span.entity, text[span.start:span.end]) for span in find_entities(text, gazetteer, topics)]


@pytest.mark.parametrize("accented, typed", [
    ("Ai chủ trì", "ai chu tri"), ("SỞ Y TẾ", "so y te"), ("được", "dc"), ("không", "ko"),
    ("không", "hok"), ("gì", "j"), ("như thế nào", "ntn"), ("Đồng Đăng", "dong dang"),
])
def test_lemmas_agree_with_and_without_diacritics_and_chat_shorthand(accented, typed):
    assert [lemma(w) for w in accented.split()] == [lemma(w) for w in typed.split()] \
        or " ".join(lemma(w) for w in accented.split()) == lemma(typed)


def test_kh_before_a_number_is_a_plan_elsewhere_a_negation():
    assert lemma("kh", "146") == "ke hoach"
    assert lemma("kh", "biết") == "khong"


def test_letter_runs_are_squeezed():
    assert lemma("đúngggg") == lemma("đúng")


def test_agencies_in_any_spelling(vocab):
    assert entities("sở y tế dc giao viec gi", vocab) == [("agency", "sở y tế")]
    assert entities("So Nong nghiep va PTNT phai lam gi", vocab) == [("agency", "So Nong nghiep va PTNT")]
    assert entities("nhiệm vụ của Sở GD&ĐT", vocab) == [("agency", "Sở GD&ĐT")]
    assert entities("UBND huyện Cao Lộc có việc gì", vocab) == [("agency", "UBND huyện Cao Lộc")]


def test_documents_with_type_word_or_bare_number(vocab):
    assert entities("cv 704/UBND-KGVX noi gi", vocab) == [("doc_number", "cv 704/UBND-KGVX")]
    assert entities("kế hoạch 146 do ai ký", vocab) == [("doc_number", "kế hoạch 146")]
    assert entities("924/QĐ-UBND ban hành khi nào", vocab) == [("doc_number", "924/QĐ-UBND")]
    assert entities("văn bản đó do ai ký?", vocab) == []


def test_dates_and_weeks(vocab):
    assert entities("tuan truoc co chi dao gi", vocab) == [("date", "tuan truoc")]
    assert entities("tin chỉ đạo tháng 6/2024", vocab) == [("date", "tháng 6/2024")]
    assert entities("phải xong trước ngày 30/6/2024", vocab) == [("date", "ngày 30/6/2024")]
    assert entities("trong quý III năm 2022", vocab) == [("date", "quý III năm 2022")]


def test_a_document_number_is_never_read_as_a_date(vocab):
    assert entities("Quyết định 15/2024/QĐ-UBND", vocab) == [("doc_number", "Quyết định 15/2024/QĐ-UBND")]


def test_topics_longest_phrase_and_agencies_win_overlaps(vocab):
    found = entities("Sở Y tế làm gì về phòng chống sốt xuất huyết tuần này?", vocab)
    assert found == [("agency", "Sở Y tế"), ("topic", "sốt xuất huyết"), ("date", "tuần này")]
    assert entities("giải ngân vốn đầu tư công chậm", vocab) == [("topic", "giải ngân vốn đầu tư công")]


def test_decomposed_input_keeps_offsets_into_the_original_text(vocab):
    typed = unicodedata.normalize("NFD", "Sở Y tế chủ trì")
    composed, offsets = nfc_with_offsets(typed)
    assert composed == unicodedata.normalize("NFC", typed)
    span = find_entities(composed, *vocab)[0]
    assert unicodedata.normalize("NFC", typed[offsets[span.start]:offsets[span.end]]) == "Sở Y tế"


def test_segmentation_finds_known_words_without_diacritics():
    compounds = {"chu tri", "sot xuat huyet", "danh gia"}
    lemmas = "ai chu tri danh gia dich sot xuat huyet".split()
    words = [" ".join(lemmas[a:b]) for a, b in segment(lemmas, compounds)]
    assert words == ["ai", "chu tri", "danh gia", "dich", "sot xuat huyet"]
