"""Read input files into lines of text (or, for JSONL, into passages): one module per format.

Every document loader returns a ``RawDocument``: the text as one line per paragraph, the lines the
markup marks as headings (HTML h1–h6 and all-bold paragraphs, DOCX heading styles, Markdown "#"),
and a title when the format carries one. Parsing into items is the job of ``bulletin.py``.

Formats are chosen by extension, but the content has the last word (``sniffing.py``): a PDF or
DOCX signature wins over any extension, HTML saved as ".txt" is read as HTML, and a binary file
with a text extension is refused. Every failure is an ``InputError`` with a one-line message
naming the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from retrieval.errors import InputError
from retrieval.ingest.loaders.docx import docx_document
from retrieval.ingest.loaders.html import html_document
from retrieval.ingest.loaders.jsonl import jsonl_passages
from retrieval.ingest.loaders.markdown import markdown_document
from retrieval.ingest.loaders.pdf import pdf_document
from retrieval.ingest.loaders.plaintext import text_document
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.ingest.loaders.sniffing import DIRECTORY_EXTENSIONS, SUPPORTED_LIST, clean_text, detect_format
from retrieval.schema import Passage

__all__ = ["RawDocument", "expand_paths", "load"]

_TEXT_LOADERS = {"html": html_document, "markdown": markdown_document, "text": text_document}


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: files as given, directories expanded to their supported files (sorted,
    recursively, hidden and Office lock files skipped). Missing paths and directories with
    nothing to ingest are errors."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in DIRECTORY_EXTENSIONS
                and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(f"{path}: directory holds no supported files ({SUPPORTED_LIST})")
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def load(path: str | Path) -> RawDocument | list[Passage]:
    """Read one file: a ``RawDocument``, or the passages of a JSONL file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file (expand it with expand_paths)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    fmt, text = detect_format(path, data)
    if fmt == "pdf":
        return pdf_document(path, data)
    if fmt == "docx":
        return docx_document(path, data)
    assert text is not None
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    if fmt == "jsonl":
        return jsonl_passages(path, text)
    raw = _TEXT_LOADERS[fmt](clean_text(text), str(path))
    if not raw.lines:
        raise InputError(f"{path}: no text found")
    return raw
