"""Judging one answer against one gold question.

Rules (README, "Gold set and evaluation"):
- expected_docs: one of them must be among the first three citations (numbers compared after
  normalising spaces, case and diacritics: "924 /qd-ubnd" = "924/QĐ-UBND");
- must_contain: every string must occur in the answer text, case-insensitively after NFC,
  collapsing whitespace and writing dates without leading zeros. A string written *with* diacritics must match with its diacritics
  ("Sở Y tế" is not found in "so y te" nor in "Số y tế"); a string written without any
  (numbers, "gstnn-gp", "ubnd") is also matched against the answer with diacritics folded;
- abstain: true passes only when the assistant abstained; otherwise abstaining is a failure.
"""
from __future__ import annotations

import re

from retrieval.goldset.model import (ABSTAINED_WRONGLY, MISSING_FACT, SHOULD_HAVE_ABSTAINED, WRONG_CITATION,
                                     GoldQuestion, Reply, Verdict)
from retrieval.ingest.references import doc_number_key
from retrieval.text import fold, has_diacritics, nfc

TOP_K = 3
_SPACE = re.compile(r"\s+")


# A date is the same date with or without leading zeros ("06/6/2022" = "6/6/2022"): the assistant
# writes dates in one form, pages in many.
_DATE = re.compile(r"(?<!\d)0*(\d{1,2})/0*(\d{1,2})/(\d{4})(?!\d)")


def normalize_text(text: str) -> str:
    return _DATE.sub(r"\1/\2/\3", _SPACE.sub(" ", nfc(text).casefold()).strip())


def contains(answer: str, needle: str) -> bool:
    """Case-insensitive NFC containment; diacritic-free needles also match the folded answer."""
    haystack, wanted = normalize_text(answer), normalize_text(needle)
    # A number is found whole: "6/6/2022" is not inside "16/6/2022".
    edge = re.compile(("(?<!\\d)" if wanted[:1].isdigit() else "") + re.escape(wanted)
                      + ("(?!\\d)" if wanted[-1:].isdigit() else ""))
    if edge.search(haystack):
        return True
    return not has_diacritics(wanted) and bool(edge.search(fold(haystack)))


def doc_hits(cited: list[str], expected: tuple[str, ...]) -> tuple[bool, bool]:
    """Whether one expected document is the first citation, and whether one is among the first three."""
    wanted = {doc_number_key(d) for d in expected}
    keys = [doc_number_key(d) if d else "" for d in cited[:TOP_K]]
    return bool(keys[:1] and keys[0] in wanted), any(k in wanted for k in keys)


def judge(gold: GoldQuestion, reply: Reply) -> Verdict:
    verdict = Verdict(passed=True)
    if gold.abstain:
        if not reply.abstained:
            verdict.reasons.append(SHOULD_HAVE_ABSTAINED)
        verdict.passed = not verdict.reasons
        return verdict
    if reply.abstained:
        verdict.reasons.append(ABSTAINED_WRONGLY)
    if gold.expected_docs:
        verdict.hit_at_1, verdict.hit_at_3 = doc_hits(reply.cited_docs(), gold.expected_docs)
        if not verdict.hit_at_3:
            verdict.reasons.append(WRONG_CITATION)
    for needle in gold.must_contain:
        if contains(reply.text, needle):
            verdict.found += 1
        else:
            verdict.missing.append(needle)
    if verdict.missing:
        verdict.reasons.append(MISSING_FACT)
    verdict.passed = not verdict.reasons
    return verdict
