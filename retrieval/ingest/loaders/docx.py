"""DOCX: paragraphs and tables in document order, heading styles as headings."""
from __future__ import annotations

import io
from pathlib import Path

from retrieval.errors import InputError
from retrieval.ingest.loaders.paragraphs import clean_line
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.text import nfc


def docx_document(path: Path, data: bytes) -> RawDocument:
    """Paragraphs and tables in document order; heading styles (and all-bold short paragraphs)
    are headings, the Title style or the core title is the title, table rows are lines."""
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:   # python-docx raises many types for a damaged package
        raise InputError(f"{path}: cannot read DOCX (corrupt or not a Word document: {type(exc).__name__})") from exc
    lines: list[str] = []
    headings: list[str] = []
    title = clean_line(document.core_properties.title or "") or None
    for block in blocks:
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:     # merged cells repeat: keep each text once
                    text = clean_line(" ".join(p.text for p in cell.paragraphs))
                    if text and text not in cells:
                        cells.append(text)
                if cells:
                    lines.append(" | ".join(cells))
            continue
        text = clean_line(block.text)
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        outline = block._p.pPr is not None and block._p.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl") is not None
        runs = [r for r in block.runs if r.text.strip()]
        all_bold = bool(runs) and all(r.bold for r in runs) and len(text.split()) <= 40
        if style.lower().startswith("title"):
            title = title or text
            headings.append(text)
        elif style.lower().startswith(("heading", "tiêu đề")) or outline or all_bold:
            headings.append(text)
        lines.append(text)
    if not lines:
        raise InputError(f"{path}: no text found in DOCX")
    return RawDocument(str(path), "docx", [nfc(line) for line in lines], [nfc(h) for h in headings],
                       nfc(title) if title else None)
