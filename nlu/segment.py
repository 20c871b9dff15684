"""Word segmentation that works with and without diacritics (see nlu.words for why)."""
from __future__ import annotations

from typing import List

from retrieval.text import fold

MAX_WORD_SYLLABLES = 4


def segment(lemmas: List[str], compounds: set[str]) -> List[tuple[int, int]]:
    """Longest-match segmentation of folded syllables into known words: [(first, end), …]."""
    spans, i = [], 0
    while i < len(lemmas):
        for n in range(min(MAX_WORD_SYLLABLES, len(lemmas) - i), 1, -1):
            if " ".join(lemmas[i:i + n]) in compounds:
                break
        else:
            n = 1
        spans.append((i, i + n))
        i += n
    return spans


def pyvi_compounds(text: str) -> set[str]:
    """Multi-syllable words pyvi finds in accented ``text``, folded ("chủ_trì" → "chu tri")."""
    from pyvi import ViTokenizer   # training only: loading its CRF model takes a second

    return {fold(w.replace("_", " ")) for w in ViTokenizer.tokenize(text).split() if "_" in w}
