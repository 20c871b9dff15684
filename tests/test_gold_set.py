"""eval/gold.yaml itself: loads strictly, covers every item of both bulletins, quotes the corpus verbatim."""
from __future__ import annotations

import re
import unicodedata

import pytest

from conftest import REPO
from retrieval.goldset.load import load_gold
from retrieval.ingest import load_path
from retrieval.ingest.references import doc_number_key

GOLD = REPO / "eval" / "gold.yaml"


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@pytest.fixture(scope="module")
def gold():
    return load_gold(GOLD)


@pytest.fixture(scope="module")
def bulletins(corpus_files):
    return [load_path(path) for path in corpus_files]


def test_size_and_mix(gold):
    assert len(gold) >= 80
    conversations = [item for item in gold if item.multi_turn]
    assert len(conversations) >= 8 and all(len(item.turns) >= 2 for item in conversations)
    kinds = {item.kind for item in gold}
    assert {"fact", "responsible", "deadline", "document", "signer", "nodiacritics", "chat",
            "unanswerable"} <= kinds
    assert sum(q.abstain for item in gold for q in item.turns) >= 8


def test_every_source_quote_is_verbatim_in_the_corpus(gold, corpus_files):
    corpus = " ".join(normalize(path.read_text(encoding="utf-8")) for path in corpus_files)
    missing = [(item.id, quote) for item in gold for q in item.turns for quote in q.source_quote
               if normalize(quote) not in corpus]
    assert not missing, missing


def test_every_answer_has_a_source_quote(gold):
    assert all(q.source_quote for item in gold for q in item.turns if not q.abstain)


def test_every_bulletin_item_has_a_single_turn_question(gold, bulletins):
    singles = [item.turns[0] for item in gold if not item.multi_turn and not item.turns[0].abstain]
    expected = {doc_number_key(d) for q in singles for d in q.expected_docs}
    uncovered = []
    for bulletin in bulletins:
        for entry in bulletin.items:
            text = normalize(" ".join([entry.heading, *entry.paragraphs]))
            quoted = any(normalize(quote) in text for q in singles for quote in q.source_quote)
            if not quoted or (entry.primary and doc_number_key(entry.primary.number) not in expected):
                uncovered.append(entry.heading[:60])
    assert not uncovered, uncovered


def test_follow_ups_are_real_follow_ups(gold):
    follow_ups = {q.question for item in gold if item.multi_turn for q in item.turns[1:]}
    assert {"Ai chủ trì?", "Còn phối hợp với ai?", "Hạn chót khi nào?", "Văn bản đó do ai ký?"} <= follow_ups
