"""Tokens of the two lexical (BM25) fields.

- ``vi``: accented syllables plus pyvi's multi-syllable words ("sốt_xuất_huyết"), so phrase
  matches outrank scattered syllables. bm25s' default tokenizer would drop one-letter Vietnamese
  syllables ("y" in "y tế") and use English stop words, so we give it our own tokens.
- ``fold``: diacritic-folded syllables plus folded syllable bigrams. Folding merges many
  syllables ("chủ", "chu", "chú" → "chu"); the bigrams ("chu_tri") restore most of the lost
  precision, which is what keeps queries typed without diacritics working.
"""
from __future__ import annotations

from functools import lru_cache

from retrieval.text import fold, nfc, syllables


@lru_cache(maxsize=1)
def _segmenter():
    # Loaded on first use: pyvi's CRF model and word lists (~0.1 s read without scikit-learn,
    # retrieval/index/segmenter.py; pyvi itself imports sklearn: ~0.85 s more).
    from retrieval.index.segmenter import load_segmenter as load

    return load()


def load_segmenter() -> None:
    """Load the word segmenter now (a server's warm-up), not on the first question."""
    _segmenter()


def vi_tokens(text: str) -> list[str]:
    sylls = syllables(text)
    words = _segmenter().tokenize(nfc(text).lower()).split()
    compounds = [w for w in words if "_" in w]
    return sylls + compounds


def fold_tokens(text: str) -> list[str]:
    sylls = [fold(s) for s in syllables(text)]
    bigrams = [f"{a}_{b}" for a, b in zip(sylls, sylls[1:])]
    return sylls + bigrams
