"""Ingest front-end: files → ``SourceDocument`` (bulletins and other documents) or passages (JSONL).

``load_path`` reads one file; ``expand_paths`` turns arguments (files, directories) into files;
``chunking.chunk_document`` turns a ``SourceDocument`` into passages.
"""
from __future__ import annotations

from pathlib import Path

from retrieval.ingest.loaders import expand_paths
from retrieval.schema import Passage, SourceDocument

__all__ = ["expand_paths", "load_path"]


def load_path(path: str | Path) -> SourceDocument | list[Passage]:
    """Parse one file: a bulletin when it is one, else a generic document; JSONL → passages."""
    from retrieval.ingest.bulletin import parse_bulletin, parse_document
    from retrieval.ingest.loaders import load

    raw = load(path)
    if isinstance(raw, list):
        return raw
    return parse_bulletin(raw.lines, raw.source, heading_hints=raw.headings) or \
        parse_document(raw.lines, raw.source, raw.kind, heading_hints=raw.headings, title=raw.title)
