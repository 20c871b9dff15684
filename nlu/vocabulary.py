"""Entities of a Vietnamese question: agency, document, date/week, topic (no Rasa imports here).

Rule-based on purpose: the agencies come from the same gazetteer the task registry uses (any
spelling, abbreviation, with or without diacritics), documents from the same number grammar the
index uses, so what the NLU finds is what the actions can look up. Values are the text as
written; the actions resolve them (canonical agency, known document number, date range).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from retrieval.ingest.references import find_mention_spans
from retrieval.tasks.agencies import Gazetteer
from retrieval.text import fold

TOPICS_FILE = Path(__file__).parent / "data" / "topics.yml"

# Date and week expressions, matched on folded text ("tuần này", "tuan truoc", "tháng 6/2024").
_NUM_MONTH = r"(?:1[0-2]|0?[1-9])"
_DATE_RE = re.compile(
    r"(?<!\w)(?:"
    r"(?:tuan|thang|nam|quy) (?:nay|truoc|qua|sau|toi|vua qua|hien tai)"
    r"|hom (?:nay|qua)|ngay (?:mai|hom qua)|gan day"
    rf"|thang {_NUM_MONTH}(?:\s?[/-]\s?\d{{4}}| nam \d{{4}})?"
    r"|quy (?:[1-4]|i{1,3}|iv)(?: nam \d{4})?"
    r"|nam \d{4}"
    rf"|(?:ngay )?(?:3[01]|[12]\d|0?[1-9])\s?[/-]\s?{_NUM_MONTH}(?:\s?[/-]\s?\d{{4}})?(?![\w/])"
    r")(?!\w)")


@dataclass(frozen=True)
class Span:
    entity: str
    start: int
    end: int


def _same_length_fold(text: str) -> str:
    return "".join((fold(ch) or " ")[0] for ch in text)


class TopicLexicon:
    """Topics people ask about ("sốt xuất huyết", "chuyển đổi số"), matched on folded text."""

    def __init__(self, phrases: list[str]):
        folded = sorted({fold(p).strip() for p in phrases if p.strip()}, key=len, reverse=True)
        self._re = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in folded) + r")(?!\w)") \
            if folded else None

    @classmethod
    def load(cls, path: Path = TOPICS_FILE) -> "TopicLexicon":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls([p for phrases in data.get("topics", {}).values() for p in phrases])

    def spans(self, folded: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._re.finditer(folded)] if self._re else []


def find_entities(text: str, gazetteer: Gazetteer, topics: TopicLexicon) -> list[Span]:
    """Entity spans in NFC ``text``, without overlaps (documents > agencies > dates > topics)."""
    folded = _same_length_fold(text)
    candidates = [Span("doc_number", s.start, s.end) for s in find_mention_spans(text)]
    candidates += [Span("agency", m.start, m.end) for m in gazetteer.find(text)]
    candidates += [Span("date", m.start(), m.end()) for m in _DATE_RE.finditer(folded)]
    candidates += [Span("topic", a, b) for a, b in topics.spans(folded)]
    chosen: list[Span] = []
    for span in candidates:   # earlier kinds win overlaps
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)
