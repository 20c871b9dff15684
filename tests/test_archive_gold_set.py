"""eval/archive_gold.yaml itself: written from the archive's pages, every quote verbatim in the page it
names, both sides of the split large enough and of every kind."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest

from conftest import REPO, SHARED
from retrieval.goldset.load import load_gold
from retrieval.goldset.split import DEV, HELDOUT, split_of

GOLD = REPO / "eval" / "archive_gold.yaml"
KINDS = {"fact", "responsible", "deadline", "document", "signer", "nodiacritics", "chat", "unanswerable",
         "multiturn"}


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@pytest.fixture(scope="module")
def gold():
    return load_gold(GOLD)


def test_every_item_names_an_archive_page(gold):
    for item in gold:
        assert item.source.startswith("archive/"), item.id
        assert (SHARED / item.source).is_file(), (item.id, item.source)


def test_both_parts_are_large_and_of_every_kind(gold):
    parts = Counter(split_of(item.source) for item in gold)
    assert len(gold) >= 80 and parts[HELDOUT] >= 30 and parts[DEV] >= 30, parts
    for part in (DEV, HELDOUT):
        kinds = {item.kind for item in gold if split_of(item.source) == part}
        assert KINDS <= kinds, (part, KINDS - kinds)


def test_every_quote_and_fact_is_in_its_page(gold):
    missing = []
    for item in gold:
        page = normalize((SHARED / item.source).read_text(encoding="utf-8"))
        for turn in item.turns:
            for text in (*turn.source_quote, *turn.must_contain):
                if normalize(text) not in page:
                    missing.append((item.id, text))
    assert not missing, missing


def test_every_page_has_questions(gold):
    pages = {item.source for item in gold}
    assert len(pages) == len(list((SHARED / "archive").rglob("*.txt")))
