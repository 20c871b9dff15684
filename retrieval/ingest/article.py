"""A web page reporting one directive: "Chỉ đạo tăng cường …" then "Văn phòng UBND tỉnh thông báo ý
kiến chỉ đạo của đồng chí …, Phó Chủ tịch UBND tỉnh về … (Công văn số 1074/VP-KGVX, ngày …)" and the
assignments. Portals publish most directives this way, between the weekly bulletins.

The page is one item: its headline is the heading, every paragraph stays (a caption without a
marker is harmless text, while cutting the page at it would separate tasks from their
document), and the directive is read from the opening paragraph. What is dropped is chrome with
a name: the lines ``is_chrome`` knows (skip links, banners, photo captions and credits), a
section label above the headline ("Thông tin chỉ đạo điều hành"), and the author's byline at the
end ("Thùy Linh").
"""
from __future__ import annotations

from typing import Iterable

from retrieval.ingest.bulletin import (
    _FINAL, _is_structural_heading, clean_lines, is_chrome, is_trailer, mentioned_documents, opens_report,
    primary_document,
)
from retrieval.ingest.references import find_reference_matches
from retrieval.schema import Item, SourceDocument

HEADLINE_MAX_WORDS = 45
OPENING_WINDOW = 3      # the directive is named within the first paragraphs after the headline


def is_person_name(text: str, most: int = 4) -> bool:
    """Two to ``most`` capitalised syllables and nothing else ("Thùy Linh", "Lò Văn Khang")."""
    words = text.split()
    return 2 <= len(words) <= most and all(w.isalpha() and w[0].isupper() and w[1:].islower() for w in words)


def is_byline(line: str) -> bool:
    """An author's name closing an article."""
    return is_person_name(line)


def _is_headline(line: str) -> bool:
    return len(line.split()) <= HEADLINE_MAX_WORDS and not _FINAL.search(line)


def _content(lines: Iterable[str]) -> list[str]:
    body: list[str] = []
    for line in clean_lines(lines):
        if body and is_trailer(line):
            break
        if not is_chrome(line):
            body.append(line)
    if body and is_byline(body[-1]):
        body.pop()
    return body


def _opening(paragraphs: list[str]) -> int | None:
    """Index of the paragraph that reports the directive: it opens a report or names a document
    the province issued, within the first few paragraphs."""
    for i, paragraph in enumerate(paragraphs[:OPENING_WINDOW]):
        if primary_document(paragraph) is not None:
            return i
    for i, paragraph in enumerate(paragraphs[:OPENING_WINDOW]):
        if opens_report(paragraph):
            return i
    return None


def parse_article(lines: Iterable[str], source: str, kind: str) -> SourceDocument | None:
    """One directive's page as a one-item document; None when ``lines`` are not such a page (no
    headline, structured sections, or no opening paragraph reporting a directive)."""
    if kind not in ("html", "text"):
        return None
    body = _content(lines)
    if len(body) < 2 or not _is_headline(body[0]):
        return None
    start = 0
    # A section label above the headline ("Thông tin chỉ đạo điều hành"): short, then a headline.
    if len(body) > 2 and len(body[0].split()) <= 8 and _is_headline(body[1]) and _opening(body[2:]) == 0:
        start = 1
    headline, paragraphs = body[start], body[start + 1:]
    if sum(_is_structural_heading(p) for p in paragraphs) >= 2:
        return None     # a document with sections: parse_document / the official-document parser
    at = _opening(paragraphs)
    if at is None:
        return None
    primary = primary_document(paragraphs[at], headline)
    if primary is None:
        # The headline may carry it ("Quyết định kiện toàn … (Quyết định số …)"); else no document.
        references = [m for m in find_reference_matches(headline) if m.in_parens]
        primary = references[0].ref if references else None
    documents = [primary] + mentioned_documents(headline, paragraphs, exclude=primary.number) if primary else []
    return SourceDocument(source=source, kind=kind, title=headline, items=[Item(headline, paragraphs, documents)])
