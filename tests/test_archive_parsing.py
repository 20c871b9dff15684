"""Real pages of other weeks, layouts and provinces (../shared/archive) parse without losing text.

Every sentence of every page is in some passage (its text, its item heading or its document
title), except page chrome with a name: the lines ``is_chrome`` knows (skip links, banners,
photo captions), everything from the page trailer on (rating widget, related news), the
author's byline, and the repeated title of a bulletin.
"""
from __future__ import annotations

import re
import unicodedata

import pytest

from conftest import SHARED
from retrieval.goldset.split import archive_pages
from retrieval.ingest import load_path
from retrieval.ingest.article import is_byline
from retrieval.ingest.bulletin import is_chrome, is_trailer, strip_numbering
from retrieval.ingest.chunking import chunk_document
from retrieval.text import split_sentences

PAGES = archive_pages(SHARED / "archive")
CHUNK_WORDS = 160   # chunk_document's default passage size


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def content_lines(text: str) -> list[str]:
    """The page's lines minus named chrome."""
    lines = [normalize(line) for line in text.splitlines() if line.strip()]
    kept: list[str] = []
    for line in lines:
        if is_trailer(line):
            break
        if not is_chrome(line):
            kept.append(line)
    while kept and is_byline(kept[-1]):
        kept.pop()
    return kept


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_sentence_of_the_page_is_in_a_passage(page):
    doc = load_path(page)
    passages = chunk_document(doc)
    assert passages, "no passage"
    held = normalize(" ".join([doc.title] + [f"{p.heading} {p.text}" for p in passages]))
    missing = []
    lines = content_lines(page.read_text(encoding="utf-8"))
    for at, line in enumerate(lines):
        if at + 1 < len(lines) and lines[at + 1] == normalize(doc.title) and len(line.split()) <= 8:
            continue    # a section label above the headline ("Thông tin chỉ đạo điều hành")
        line = strip_numbering(line)     # "1.", "a)": the heading keeps its words, not its number
        for sentence in split_sentences(line):
            # A sentence longer than a passage is cut at its clauses ("; ") by the chunker.
            parts = [sentence] if len(sentence.split()) <= CHUNK_WORDS else re.split(r"(?<=;)\s+", sentence)
            missing.extend(part[:100] for part in parts if normalize(part).rstrip(";") not in held)
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_page_naming_its_directive_cites_it(page):
    """Where a page's opening names the province's directive "(Công văn số …, ngày …)", every
    passage of that item carries the number (citations and tasks depend on it)."""
    doc = load_path(page)
    for item in doc.items:
        opening = " ".join(item.paragraphs[:3])
        named = re.search(r"\((?:Công văn|Quyết định|Kế hoạch|Chỉ thị|Thông báo) số:? (\d+/[^,)\s]+)", opening)
        if named:
            assert item.primary is not None and item.primary.number == named.group(1), (item.heading, named.group(1))
