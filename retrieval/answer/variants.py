"""Labelled questions rewritten the way people type them, for fitting the abstention model.

A question keeps its label when it is typed without diacritics, in chat shorthand or with a
dropped final letter: the abstention model must learn that such a paraphrase is as answerable
(or as unanswerable) as the original. Every rewrite is applied to both classes, so the rewriting
itself never predicts the label. One rewrite changes the label: an answerable question moved to
another province ("… ở tỉnh Quảng Nam?") is not answered by Lạng Sơn's directives.

Each variant names its origin, so cross-validation keeps a question and its variants in one fold.
"""
from __future__ import annotations

import hashlib
import re

from retrieval.text import fold, has_diacritics, nfc
from retrieval.vocabulary import vocabulary

# Words → the shorthand people type for them (the first form vocabulary.yaml gives each).
_CHAT_FORMS = {word: vocabulary().chat_shorthand[word][0] for word in vocabulary().chat_rewrites}
_CHAT_RE = re.compile(r"(?<!\w)(" + "|".join(sorted(map(re.escape, _CHAT_FORMS), key=len, reverse=True)) + r")(?!\w)")
# A final consonant dropped while typing fast: "kế hoạch" → "kế hoạc", "hành chính" → "hành chín".
_TYPO_RE = re.compile(r"(?<!\w)(\w{3,}?)(nh|ch|ng)(?!\w)")

# Provinces whose directives no index of ours holds (the archive's other provinces are left out:
# their pages are indexed, so a question about them may be answerable).
OTHER_PROVINCES = ("Nghệ An", "Cà Mau", "Đắk Lắk", "Bình Định", "Hà Giang", "Quảng Ninh", "Đồng Tháp",
                   "Kiên Giang", "Thanh Hóa", "Gia Lai", "Lâm Đồng", "Bắc Ninh")
_PLACE_RE = re.compile(r"\b(tỉnh )?Lạng Sơn\b")
_PROVINCE_WORD_RE = re.compile(r"(?<!UBND )(?<!Ủy ban nhân dân )\btỉnh\b(?! (ủy|uỷ|đoàn|đội|Lạng Sơn))")

NO_DIACRITICS, CHAT, TYPO, OTHER_PROVINCE = "no_diacritics", "chat", "typo", "other_province"


def no_diacritics(text: str) -> str | None:
    return fold(text).rstrip("?. ") if has_diacritics(text) else None


def chat(text: str) -> str | None:
    """Lower case, shorthand for the words that have one, no question mark; None when nothing changes."""
    lowered = nfc(text).lower()
    shortened = _CHAT_RE.sub(lambda m: _CHAT_FORMS[m.group(1)], lowered)
    return shortened.rstrip("?. ") if shortened != lowered else None


def typo(text: str) -> str | None:
    """The first long word ending in -nh/-ch/-ng loses its last letter; None when there is none."""
    match = _TYPO_RE.search(nfc(text))
    if not match:
        return None
    return text[:match.end(2) - 1] + text[match.end(2):]


def other_province(text: str) -> str | None:
    """The question moved to another province: "Lạng Sơn" replaced, or "tỉnh" named; None when
    the question names no place to move."""
    province = OTHER_PROVINCES[int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % len(OTHER_PROVINCES)]
    if _PLACE_RE.search(text):
        return _PLACE_RE.sub(f"tỉnh {province}", text, count=1)
    if _PROVINCE_WORD_RE.search(text):
        return _PROVINCE_WORD_RE.sub(f"tỉnh {province}", text, count=1)
    return None


def variants(question: dict) -> list[dict]:
    """Rewrites of one labelled question (``{"text", "abstain"?, "expected_docs"?}``), each with
    ``variant`` (its kind) and the same label, except the other-province rewrite of an answerable one."""
    text = question["text"]
    out = []
    for kind, rewrite in ((NO_DIACRITICS, no_diacritics), (CHAT, chat), (TYPO, typo)):
        changed = rewrite(text)
        if changed and changed != text:
            out.append({**question, "text": changed, "variant": kind})
    if not question.get("abstain"):
        moved = other_province(text)
        if moved:
            out.append({"text": moved, "abstain": True, "variant": OTHER_PROVINCE})
    return out
