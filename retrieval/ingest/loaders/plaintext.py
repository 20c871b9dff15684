"""Plain text: one paragraph per line, unless the file is hard-wrapped."""
from __future__ import annotations

from retrieval.ingest.loaders.paragraphs import (
    clean_line, is_hard_wrapped, join_broken_lines, rebuild_paragraphs, split_columns)
from retrieval.ingest.loaders.raw import RawDocument


def text_document(text: str, source: str) -> RawDocument:
    """Paragraphs of a plain-text file (decoded and cleaned): one per line, or rejoined when the
    file is hard-wrapped."""
    lines = split_columns(text.split("\n"))
    if is_hard_wrapped(lines):
        return RawDocument(source, "text", rebuild_paragraphs(lines))
    return RawDocument(source, "text", join_broken_lines([c for c in (clean_line(line) for line in lines) if c]))
