"""The one vocabulary (retrieval/data/vocabulary.yaml): well-formed, and what its readers go by."""
from __future__ import annotations

import unicodedata
from dataclasses import fields

import pytest

from retrieval.text import fold
from retrieval.vocabulary import VOCABULARY_FILE, Vocabulary, load_vocabulary, typed_forms, vocabulary

V = vocabulary()
# Lists whose readers only see folded text, so they are written folded.
FOLDED = {"chat_shorthand_intents", "digest_not_topic", "document_generic_words", "signer_cues", "date_cues",
          "issuer_cues", "issuance_cues", "option_ordinals"}


def _words(name: str) -> list[str]:
    value = getattr(V, name)
    if name in ("chat_shorthand", "chat_shorthand_intents"):
        return list(value) + [form for forms in value.values() for form in forms]
    return list(value)


@pytest.mark.parametrize("name", [f.name for f in fields(Vocabulary)])
def test_every_list_is_non_empty_nfc_without_duplicates(name):
    words = list(getattr(V, name))
    assert words
    assert len(set(words)) == len(words), f"{name} repeats a word"
    for word in _words(name):
        assert word and word == word.strip() and word == unicodedata.normalize("NFC", word), (name, word)
        if name in FOLDED:
            assert fold(word) == word, (name, word)


def test_a_typed_form_stands_for_one_meaning_only():
    for shorthand in (V.chat_shorthand, V.chat_shorthand_intents):
        forms = [form for forms in shorthand.values() for form in forms]
        assert len(forms) == len(set(forms)) == len(typed_forms(shorthand))


def test_a_list_the_loader_does_not_know_or_misses_is_refused(tmp_path):
    text = VOCABULARY_FILE.read_text(encoding="utf-8")
    (tmp_path / "extra.yaml").write_text(text + "\nstray_words: [a]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="stray_words"):
        load_vocabulary(tmp_path / "extra.yaml")
    (tmp_path / "short.yaml").write_text(text.replace("partner_stops:", "partner_words:"), encoding="utf-8")
    with pytest.raises(ValueError, match="partner_stops"):
        load_vocabulary(tmp_path / "short.yaml")


# -- the readers go by the lists -----------------------------------------------------------------

def test_question_words_are_never_topic_terms():
    from retrieval.answer.evidence import TermWeights

    weights = TermWeights.of_documents([])
    for word in V.question_words:
        assert weights.topic_terms(f"{word} sốt xuất huyết") == ["sot", "xuat", "huyet"], word


def test_task_query_scaffolding_names_no_task():
    from retrieval.tasks.registry import query_terms

    assert query_terms(" ".join(V.task_query_scaffolding)) == []
    assert query_terms("Ai chủ trì phòng chống sốt xuất huyết?") == ["chong", "huyet", "phong", "sot", "xuat"]


def test_chat_shorthand_is_expanded_in_retrieval_and_nlu():
    from nlu.normalize import lemma
    from retrieval.text import expand_chat_shorthand

    for meant, forms in V.chat_shorthand.items():
        for form in forms:
            assert expand_chat_shorthand(f"so y te {form} giao") == f"so y te {meant} giao"
            if " " not in meant:
                assert lemma(form) == fold(meant)
    for meant, forms in V.chat_shorthand_intents.items():
        assert {lemma(form, "biết") for form in forms} == {meant}


def test_chat_rewrites_write_the_first_form():
    from retrieval.answer.variants import chat

    for word in V.chat_rewrites:
        assert chat(f"Sở Y tế {word} giao?") == f"sở y tế {V.chat_shorthand[word][0]} giao"


def test_action_words_start_an_action():
    from retrieval.tasks.agencies import action_length

    for words in V.action_words:
        assert action_length(["Sở", "Y", "tế", *words.split()], 3) >= len(words.split()), words


def test_name_stops_end_an_issuers_name():
    from retrieval.ingest.references import issuer_after_of

    for word in V.name_stops + V.issuer_name_stops:
        assert issuer_after_of(f"Bộ Y tế {word} Đề án") == "Bộ Y tế", word
    for phrase in V.issuer_name_stop_bigrams:
        assert issuer_after_of(f"Bộ Y tế {phrase} Đề án") == "Bộ Y tế", phrase


def test_document_cues_make_a_question_about_the_document():
    from actions.document_actions import asks_about_issuance

    for cue in V.signer_cues + V.issuer_cues + V.issuance_cues:
        assert asks_about_issuance(f"Công văn 704 {cue}?"), cue
    assert not asks_about_issuance("Sở Y tế được giao những việc gì?")


def test_ordinals_pick_an_option():
    from actions.conversation_actions import option_number
    from actions.focus import Turn

    for word, number in V.option_ordinals.items():
        assert option_number(Turn(f"cái thứ {word}", None), 5) == number, word
