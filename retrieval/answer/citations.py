"""Readable citation lines: "Kế hoạch số 143/KH-UBND ngày 20/6/2022 của UBND tỉnh"."""
from __future__ import annotations

from retrieval.schema import INTERNAL, Citation


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


def citation_line(c: Citation) -> str:
    if c.doc_number:
        text = f"{c.doc_type or 'Văn bản'} số {c.doc_number}"
        if c.issued_date:
            text += f" ngày {vn_date(c.issued_date)}"
        if c.issuer:
            text += f" của {c.issuer}"
    else:
        text = c.title or c.source
    if c.bulletin and c.bulletin != c.title:
        text += f" (trong: {c.bulletin})"
    if c.access == INTERNAL:    # only officials ever see one: say it must stay inside
        text = f"[Nội bộ] {text}"
    return text
