"""Readable citation lines: "Kế hoạch số 143/KH-UBND ngày 20/6/2022 của UBND tỉnh"."""
from __future__ import annotations

from retrieval.schema import INTERNAL, Citation, CitesDocument


def vn_date(iso: str | None) -> str | None:
    """2022-06-20 → 20/6/2022, the way the bulletins write dates; anything else is shown as it is
    (a channel renders citations it did not make: a malformed date must not lose the answer)."""
    if not iso:
        return None
    try:
        year, month, day = iso.split("-")
        return f"{int(day)}/{int(month)}/{year}"
    except ValueError:
        return iso


def document_label(document: CitesDocument) -> str:
    """"Kế hoạch số 143/KH-UBND ngày 20/6/2022 của UBND tỉnh" (as much as is known; it has a number)."""
    text = f"{document.doc_type or 'Văn bản'} số {document.doc_number}"
    if document.issued_date:
        text += f" ngày {vn_date(document.issued_date)}"
    if document.issuer:
        text += f" của {document.issuer}"
    return text


def marked_internal(text: str, access: str) -> str:
    """"[Nội bộ] …" for what an internal input says (only officials ever see one: it must stay inside)."""
    return f"[Nội bộ] {text}" if access == INTERNAL else text


def citation_line(c: Citation) -> str:
    if c.doc_number:
        text = document_label(c)
    else:
        text = c.title or c.source
    if c.bulletin and c.bulletin != c.title:
        text += f" (trong: {c.bulletin})"
    return marked_internal(text, c.access)
