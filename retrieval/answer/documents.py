"""Documents and bulletins as the dialogue asks about them: by number, and week by week.

Built from the indexed passages (no extra storage): a document's own item gives its subject,
date, issuer and first sentence; a document only named inside other items is reported as such.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cached_property

import numpy as np

from retrieval.ingest.references import KnownNumbers, doc_number_key, find_mentions
from retrieval.schema import Citation, Digest, DigestItem, DocumentInfo, DocumentRef, Passage
from retrieval.text import split_sentences

DETAIL_SENTENCES = 2
SUMMARY_HEADING = "Tóm tắt"   # the bulletin's own summary paragraph, not an item
# "Đồng chí Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh chỉ đạo (Công văn số 2625/VP-KT …)": who
# directed what a document (often one of the Office, VP-…) conveys.
_DIRECTED_BY = re.compile(r"[Đđ]ồng chí\s+(?P<name>(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s+){1,4}[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)\s*,\s*"
                          r"(?P<title>[^,;.()]{3,80}?)\s+(?:đã\s+)?(?:chỉ đạo|ký|giao)")


class DocumentCatalog:
    """``passages`` by row: a list, or an index's rows read from its store (``HybridIndex.passages``), so the
    catalog keeps rows and reads a passage when a question needs it; ``visible``: the rows the
    audience may read (None: every row)."""

    def __init__(self, passages: Sequence[Passage], document_numbers: Iterable[str] | KnownNumbers,
                 visible: np.ndarray | None = None, outlines: Iterable[Passage] | None = None):
        """``outlines``: the same passages in row order without their text, when they are cheaper to
        read that way (``PassageRows.outlines()``); the build reads no text."""
        self._passages = passages
        # The searcher's own lookup when it is given (tens of MB at 6·10⁴ numbers: one per audience).
        self.known = document_numbers if isinstance(document_numbers, KnownNumbers) else KnownNumbers(document_numbers)
        # Looked up per question, so kept by key (scans of 10⁵ passages took ~0.5 s a question).
        self._by_key: dict[str, list[int]] = {}      # rows of a document's own items
        self._naming: dict[str, list[int]] = {}      # rows of the items that name it
        # Every bulletin with its items, gathered in the same pass (a second would read every row again).
        self._bulletins: dict[tuple[str, str], Digest] = {}
        listed: set[tuple[str, str, str]] = set()   # (bulletin, source, heading): an item once
        for row, passage in enumerate(passages if outlines is None else outlines):
            if visible is not None and not visible[row]:
                continue
            if passage.bulletin_date:
                self._add_to_digest(passage, listed)
            if passage.doc_number:
                self._by_key.setdefault(doc_number_key(passage.doc_number), []).append(row)
            for key in dict.fromkeys(doc_number_key(m) for m in passage.mentions):
                self._naming.setdefault(key, []).append(row)

    def _read(self, rows: list[int]) -> list[Passage]:
        """The passages of ``rows``: in one read when the sequence reads from a store."""
        many = getattr(self._passages, "many", None)
        return many(rows) if many else [self._passages[row] for row in rows]

    def resolve(self, text: str) -> list[str]:
        """Known document numbers the user's text may name: one when it is clear ("704/UBND-KGVX",
        "kế hoạch 146"), several when a short mention fits more than one ("văn bản 14"), else none."""
        candidates: list[str] = []
        for mention in find_mentions(text):
            hits = self.known.matching(mention)
            if not mention.is_prefix and hits:
                return hits[:1]
            candidates.extend(h for h in hits if h not in candidates)
        # Documents with their own item first: those are the ones the index can say most about.
        return sorted(candidates, key=lambda n: doc_number_key(n) not in self._by_key)

    def get(self, number: str) -> DocumentInfo | None:
        key = doc_number_key(number)
        own = self._by_key.get(key)
        if own:
            first = self._passages[own[0]]
            sentences = split_sentences(first.text)
            directed = _DIRECTED_BY.search(first.text)
            return DocumentInfo(
                replace(first.document, number=first.doc_number or number),
                directed_by=f"{directed['name']}, {directed['title']}" if directed else None,
                subject=first.heading,
                summary=sentences[0] if sentences else "", details=sentences[1:1 + DETAIL_SENTENCES], bulletin=first.title,
                bulletin_date=first.bulletin_date, source=first.source, passage_id=first.id)
        naming = self._read(self._naming.get(key, []))
        if not naming and not self.known.with_key(key):
            return None
        from retrieval.ingest.references import find_references, infer_doc_type, issuer_from_number

        canonical = next(iter(self.known.with_key(key)), number)
        first = naming[0] if naming else None
        # What the naming text says of it: "Công điện số 16/CĐ-TTg ngày 21/02/2026 của Thủ tướng Chính phủ".
        named = [(s, r) for p in naming for s in split_sentences(p.text) for r in find_references(s)
                 if doc_number_key(r.number) == key]
        written = named[0][1] if named else None
        sentences = [s for s, _ in named]
        return DocumentInfo(
            DocumentRef(number=canonical, doc_type=(written and written.doc_type) or infer_doc_type(canonical),
                        issued_date=written.issued_date if written else None,
                        issuer=(written and written.issuer) or issuer_from_number(canonical)),
            details=list(dict.fromkeys(sentences))[:DETAIL_SENTENCES],
            bulletin=first.title if first else "", bulletin_date=first.bulletin_date if first else None,
            source=first.source if first else "", passage_id=first.id if first else "",
            mentioned_in=list(dict.fromkeys(p.heading for p in naming if p.heading != SUMMARY_HEADING)),
            named_by=first.doc_number if first else None)

    def naming_citation(self, info: DocumentInfo) -> Citation | None:
        """For a document only named elsewhere: the passage that names it, cited as its own document
        (the source of what is said of it), quoting the sentence that names it."""
        key = doc_number_key(info.document.number or "")
        # ``get`` cites the first of the document's own items, else the first item naming it: at most
        # two rows, read through the recent ones (``get`` has just read them).
        rows = [*self._by_key.get(key, ())[:1], *self._naming.get(key, ())[:1]]
        passage = next((p for p in (self._passages[r] for r in rows) if p.id == info.passage_id), None)
        if passage is None:
            return None
        return Citation.from_passage(passage, quote=info.details[0] if info.details else "")

    def digests(self) -> list[Digest]:
        """Every bulletin with its items in order, newest week first."""
        return list(self._digests)

    def _add_to_digest(self, passage: Passage, listed: set[tuple[str, str, str]]) -> None:
        digest = self._bulletins.setdefault((passage.title, passage.source),
                                            Digest(passage.title, passage.bulletin_date, passage.source))
        item = (passage.title, passage.source, passage.heading)
        if passage.heading != SUMMARY_HEADING and item not in listed:
            listed.add(item)
            digest.items.append(DigestItem(passage.heading, passage.document, passage.id))

    @cached_property
    def _digests(self) -> list[Digest]:   # the catalog never changes: sorted once
        return sorted(self._bulletins.values(), key=lambda d: d.week_start or "", reverse=True)

    @staticmethod
    def citation(info: DocumentInfo, quote: str = "") -> Citation:
        return Citation(document=info.document, title=info.subject or info.bulletin, bulletin=info.bulletin,
                        source=info.source, quote=quote or info.summary, score=1.0, passage_id=info.passage_id)
