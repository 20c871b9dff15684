"""Vietnamese text normalisation shared by every stage: NFC, diacritic folding, tokens, sentences."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from retrieval.vocabulary import typed_forms, vocabulary

_WORD = re.compile(r"\w+", re.UNICODE)
# Sentence ends: . ! ? ; … followed by space and an upper-case letter, digit or opening quote.
# Abbreviations with dots inside numbers (10.000, 1,2) never match because a space must follow.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“(\[]?[A-ZÀ-Ỹ0-9Đ])")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics: "Sở Y tế chủ trì" → "so y te chu tri"."""
    # Answering one question folds thousands of syllables and words, mostly the same ones: short
    # texts are remembered (a bounded cache: a few MB at most).
    return _fold_short(text) if len(text) <= 24 else _fold(text)


@lru_cache(maxsize=1 << 16)
def _fold_short(text: str) -> str:
    return _fold(text)


_FOLD_TABLE_LIMIT = 0x3000   # Latin, Vietnamese, combining marks, Greek, Cyrillic … (a few MB at most)


class _FoldTable(dict):
    """Each character's folded form, filled on first sight: ``str.translate`` then folds a text at C
    speed (3× faster than decomposing it and filtering marks in Python, on long passages). Per
    character is the same as per text: NFD decomposes character by character, and the canonical
    reordering it adds only moves marks that folding drops."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        folded = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").replace("đ", "d")
        if code < _FOLD_TABLE_LIMIT:   # bounded: hostile text cycling through all of Unicode grows nothing
            self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _fold(text: str) -> str:
    return text.lower().translate(_FOLD_TABLE)


def has_diacritics(text: str) -> bool:
    """True when any letter carries a Vietnamese mark (or is đ)."""
    return fold(text) != text.lower()


def syllables(text: str) -> list[str]:
    """Lower-cased NFC syllables (Vietnamese words are space-separated syllables)."""
    return _WORD.findall(nfc(text).lower())


def folded_syllables(text: str) -> list[str]:
    """``[fold(s) for s in syllables(text)]``, folded in one pass over the text (answering folds
    every candidate passage)."""
    words = syllables(text)
    folded = " ".join(words).lower().translate(_FOLD_TABLE).split(" ")
    # No character folds to a space, so the count holds; the check keeps it exact whatever comes.
    return folded if len(folded) == len(words) and words else [fold(w) for w in words]


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, keeping punctuation; never returns empty strings."""
    parts = _SENTENCE_END.split(text.strip())
    return [p.strip() for p in parts if p.strip()]


# Shorthand users type in chat → the words they mean (vocabulary.yaml: chat_shorthand).
CHAT_SHORTHAND: dict[str, str] = typed_forms(vocabulary().chat_shorthand)
_SHORTHAND_RE = re.compile(
    r"(?<![\w/&-])(" + "|".join(sorted(map(re.escape, CHAT_SHORTHAND), key=len, reverse=True)) + r")(?![\w/&-])")


def expand_chat_shorthand(text: str) -> str:
    """"ubnd tinh chi dao j", "so y te dc giao" → the words meant ("gì", "được"); lower-case
    shorthand only, so document codes ("QĐ", "CV") and names are never touched."""
    return _SHORTHAND_RE.sub(lambda m: CHAT_SHORTHAND[m.group(1)], nfc(text))
