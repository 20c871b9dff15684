"""Cut a ``SourceDocument`` into passages that carry their item's document metadata.

Chunks follow the text's own joints: whole paragraphs when they fit (short consecutive
paragraphs of one item are merged up to the limit), whole sentences when a paragraph does not,
then clauses ("; ", ", ") and, last, words, only for a single sentence longer than the limit.
Chunks never cross items, so every passage cites exactly its item's directive.

Ids are ``{file stem}:{item:02d}:{chunk:02d}``: item 00 is the bulletin summary (heading
"Tóm tắt"), items count from 01 in reading order. They are stable as long as the file's text is.
"""
from __future__ import annotations

import re
from pathlib import Path

from retrieval.ingest.bulletin import mentioned_documents
from retrieval.ingest.references import find_references, merge_references
from retrieval.schema import Passage, SourceDocument
from retrieval.text import split_sentences

SUMMARY_HEADING = "Tóm tắt"


def _words(text: str) -> int:
    return len(text.split())


def _split_oversize(sentence: str, max_words: int) -> list[str]:
    """Pieces of one over-long sentence: at "; " first, then ", ", then every ``max_words`` words."""
    for pattern in (r"(?<=;)\s+", r"(?<=,)\s+"):
        parts = re.split(pattern, sentence)
        if len(parts) > 1:
            pieces: list[str] = []
            for part in _pack_units(parts, max_words, " "):
                pieces.extend(_split_oversize(part, max_words) if _words(part) > max_words else [part])
            return pieces
    words = sentence.split()
    return [" ".join(words[i:i + max_words]) for i in range(0, len(words), max_words)]


def _pack_units(units: list[str], max_words: int, joiner: str) -> list[str]:
    """Greedy packing of units (each kept whole) into groups of at most ``max_words`` words."""
    groups: list[list[str]] = []
    size = 0
    for unit in units:
        n = _words(unit)
        if groups and size + n <= max_words:
            groups[-1].append(unit)
            size += n
        else:
            groups.append([unit])
            size = n
    return [joiner.join(g) for g in groups]


def split_paragraphs(paragraphs: list[str], max_words: int = 160) -> list[str]:
    """Chunk texts for one item's paragraphs (paragraphs joined by newlines inside a chunk)."""
    if max_words < 1:
        raise ValueError("max_words must be positive")
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            chunks.append(current)
        current, size = [], 0

    for index, paragraph in enumerate(p.strip() for p in paragraphs):
        if not paragraph:
            continue
        n = _words(paragraph)
        if n <= max_words:
            if size + n > max_words:
                flush()
            current.append((index, paragraph))
            size += n
            continue
        # A paragraph longer than a chunk goes sentence by sentence, filling the current chunk.
        for sentence in split_sentences(paragraph):
            pieces = [sentence] if _words(sentence) <= max_words else _split_oversize(sentence, max_words)
            for piece in pieces:
                m = _words(piece)
                if size + m > max_words:
                    flush()
                current.append((index, piece))
                size += m
    flush()
    rendered = []
    for chunk in chunks:
        text = chunk[0][1]
        for (prev_index, _), (index, piece) in zip(chunk, chunk[1:]):
            text += (" " if index == prev_index else "\n") + piece
        rendered.append(text)
    return rendered


def chunk_document(doc: SourceDocument, max_words: int = 160) -> list[Passage]:
    """Passages of a document: the summary's, then each item's, with the item's metadata."""
    path = Path(doc.source)
    stem, name = path.stem, path.name
    passages: list[Passage] = []
    if doc.summary:
        mentions = [r.number for r in merge_references(find_references(doc.summary))]
        for k, text in enumerate(split_paragraphs([doc.summary], max_words)):
            passages.append(Passage(id=f"{stem}:00:{k:02d}", text=text, source=name, title=doc.title,
                                    heading=SUMMARY_HEADING, bulletin_date=doc.week_start,
                                    mentions=list(mentions)))
    for item_index, item in enumerate(doc.items, start=1):
        primary = item.primary
        others = mentioned_documents(item.heading, item.paragraphs, exclude=primary.number if primary else None)
        known = [d.number for d in item.documents[1:]]
        mentions = list(dict.fromkeys(known + [d.number for d in others]))
        for k, text in enumerate(split_paragraphs(item.paragraphs, max_words)):
            passages.append(Passage(
                id=f"{stem}:{item_index:02d}:{k:02d}", text=text, source=name, title=doc.title,
                heading=item.heading,
                document=primary,
                bulletin_date=doc.week_start,
                mentions=list(mentions),
            ))
    return passages
