"""Ingest front-end: files → ``SourceDocument`` (bulletins and other documents) or passages (JSONL).

``load_path`` reads one file; ``expand_paths`` turns arguments (files, directories) into files;
``chunking.chunk_document`` turns a ``SourceDocument`` into passages.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from retrieval.ingest.loaders import expand_paths
from retrieval.schema import Passage, SourceDocument

__all__ = ["expand_paths", "load_path", "parser_fingerprint"]


def fingerprint_sources() -> list[Path]:
    """The code and data that turn a file into what the index stores for it: passages and tasks.

    A change in any of them (parser, chunker, task extractor, gazetteer, the vocabulary's name stops
    and action words) makes a re-ingest re-parse files whose bytes did not change (it still
    re-embeds only chunks whose text changed).
    """
    package = Path(__file__).resolve().parent
    retrieval, tasks = package.parent, package.parent / "tasks"
    return sorted(package.rglob("*.py")) + [retrieval / "text.py", retrieval / "schema.py"] \
        + [retrieval / "vocabulary.py", retrieval / "data" / "vocabulary.yaml"] \
        + [tasks / "extract.py", tasks / "agencies.py"] + sorted((tasks / "data").glob("*.yaml"))


@lru_cache(maxsize=1)
def parser_fingerprint() -> str:
    """A hash of ``fingerprint_sources()``, recorded per input by the index."""
    sources = fingerprint_sources()
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def load_path(path: str | Path) -> SourceDocument | list[Passage]:
    """Parse one file: a full official document, a bulletin, a one-directive page, else a generic
    document; JSONL → passages."""
    from retrieval.ingest.article import parse_article
    from retrieval.ingest.bulletin import parse_bulletin, parse_document
    from retrieval.ingest.loaders import load
    from retrieval.ingest.official import parse_official

    raw = load(path)
    if isinstance(raw, list):
        return raw
    return (parse_official(raw.lines, raw.source, raw.kind)
            or parse_bulletin(raw.lines, raw.source, heading_hints=raw.headings)
            or parse_article(raw.lines, raw.source, raw.kind)
            or parse_document(raw.lines, raw.source, raw.kind, heading_hints=raw.headings, title=raw.title))
