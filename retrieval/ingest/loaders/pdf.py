"""PDF: the text layer as paragraphs (scanned PDFs without one are refused)."""
from __future__ import annotations

import io
import re
from pathlib import Path

from retrieval.errors import InputError
from retrieval.ingest.loaders.paragraphs import clean_line, rebuild_paragraphs
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.text import nfc

_PAGE_NUMBER = re.compile(r"^\s*(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?\s*$|^\s*(?:trang|page)\s+\d+(?:\s*(?:/|of|trên)\s*\d+)?\s*$", re.I)


def _page_text(page) -> str:
    """Layout-mode text (keeps vertical gaps as blank lines and first-line indents, the
    paragraph cues), plain extraction when layout mode fails or finds nothing."""
    try:
        text = page.extract_text(extraction_mode="layout")
    except Exception:   # layout mode is stricter about odd fonts; plain mode still reads them
        text = ""
    return text if text.strip() else (page.extract_text() or "")


def pdf_document(path: Path, data: bytes) -> RawDocument:
    """The PDF's text layer as paragraphs: repeated page headers/footers and page numbers
    dropped, wrapped and hyphen-split lines rejoined. Scanned PDFs (no text) are refused."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: PDF is password-protected")
        pages = [_page_text(page) for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:   # pypdf raises many types for a damaged file
        raise InputError(f"{path}: cannot read PDF (corrupt or not a PDF: {type(exc).__name__})") from exc
    page_lines = [nfc(text).replace("\r", "\n").split("\n") for text in pages]
    if not any(line.strip() for lines in page_lines for line in lines):
        raise InputError(f"{path}: PDF has no text layer (scanned images?); OCR it first")
    repeated: set[str] = set()
    if len(page_lines) >= 3:   # running headers/footers: same line (digits aside) on most pages
        counts: dict[str, int] = {}
        for lines in page_lines:
            filled = [clean_line(line) for line in lines if line.strip()]
            for key in {re.sub(r"\d+", "#", line) for line in filled[:3] + filled[-3:]}:
                counts[key] = counts.get(key, 0) + 1
        repeated = {k for k, n in counts.items() if n >= 0.6 * len(page_lines)}
    flat: list[str] = []
    for lines in page_lines:
        kept = [line for line in lines
                if not (_PAGE_NUMBER.match(line) or re.sub(r"\d+", "#", clean_line(line)) in repeated)]
        while kept and not kept[0].strip():    # a paragraph may run on over the page break
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        flat.extend(kept)
    paragraphs = rebuild_paragraphs(flat)
    title = None
    try:
        title = clean_line((reader.metadata or {}).get("/Title") or "") or None
    except Exception:   # metadata is optional and often malformed; the text is what matters
        title = None
    return RawDocument(str(path), "pdf", paragraphs, [], nfc(title) if title else None)
