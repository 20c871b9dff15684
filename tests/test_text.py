"""Text basics: folding is the same whether the text is read whole or character by character."""
from __future__ import annotations

import random
import unicodedata

from retrieval.text import fold, has_diacritics


def reference_fold(text: str) -> str:
    """The definition: lower case, canonical decomposition, marks (Mn) dropped, đ → d."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").replace("đ", "d")


def test_fold_strips_vietnamese_marks():
    assert fold("Sở Y tế chủ trì phòng, chống sốt xuất huyết") == "so y te chu tri phong, chong sot xuat huyet"
    assert fold("ĐƯỜNG Đắk Lắk") == "duong dak lak"
    assert has_diacritics("Sở") and not has_diacritics("so y te")


def test_fold_matches_its_definition_on_every_character_and_on_mixed_strings():
    chars = [chr(c) for c in range(0x3000) if not 0xD800 <= c < 0xE000]
    for ch in chars:
        assert fold(ch) == reference_fold(ch), hex(ord(ch))
    # Decomposed input, stacked marks, long texts (past the short-text cache), other scripts.
    marks = ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b", "\u0651", "\u093c"]
    pool = chars[:0x600] + marks * 20 + ["한", "ǅ", "İ", "ẞ", "Ω", "ﬁ"]
    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 60)))
        assert fold(text) == reference_fold(text), ascii(text)


def test_folded_syllables_are_each_syllable_folded():
    from retrieval.text import folded_syllables, syllables

    assert folded_syllables("Sở Y tế CHỦ TRÌ, phối hợp (đ/c Đắk)") == ["so", "y", "te", "chu", "tri", "phoi", "hop",
                                                                       "d", "c", "dak"]
    assert folded_syllables("") == [] and folded_syllables("!!!") == []
    pool = [chr(c) for c in range(0x600) if not 0xD800 <= c < 0xE000] + [" "] * 200 + ["\u0301", "\u0323", "Σ", "İ"]
    rng = random.Random(1)
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 80)))
        assert folded_syllables(text) == [fold(s) for s in syllables(text)], ascii(text)


def test_the_fold_table_stays_bounded_whatever_text_comes():
    from retrieval.text import _FOLD_TABLE, _FOLD_TABLE_LIMIT

    text = "".join(chr(c) for c in range(0x4E00, 0x9FFF)) + "Ấ"
    assert fold(text) == reference_fold(text)
    assert all(code < _FOLD_TABLE_LIMIT for code in _FOLD_TABLE)
