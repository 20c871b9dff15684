"""How a chat message is normalised before features: NFC, lower case, no diacritics, chat shorthand.

"ai chu tri", "Ai chủ trì" and "ai chủ trì ko" must look alike to the classifier; the
original text (with its offsets) stays untouched for entities.
"""
from __future__ import annotations

import re
import unicodedata

from retrieval.text import CHAT_SHORTHAND as RETRIEVAL_SHORTHAND
from retrieval.text import fold
from retrieval.vocabulary import typed_forms, vocabulary

# Chat shorthand, folded → folded expansion: retrieval's list (the words meant) plus forms that
# only matter for intents ("ok", "thanks").
CHAT_SHORTHAND: dict[str, str] = {
    **{fold(short): fold(meant) for short, meant in RETRIEVAL_SHORTHAND.items()},
    **typed_forms(vocabulary().chat_shorthand_intents),
}
# "kh" is ambiguous (không / kế hoạch): before a number it is a plan ("kh 146").
_PLAN_BEFORE_NUMBER = re.compile(r"\d")
_REPEATS = re.compile(r"(.)\1{2,}")


def lemma(token: str, next_token: str = "") -> str:
    """The normalised form of one token: folded, shorthand expanded, letter runs squeezed."""
    folded = _REPEATS.sub(r"\1", fold(unicodedata.normalize("NFC", token)))
    if folded == "kh" and _PLAN_BEFORE_NUMBER.match(next_token):
        return "ke hoach"
    return CHAT_SHORTHAND.get(folded, folded)


def nfc_with_offsets(text: str) -> tuple[str, list[int]]:
    """``nfc(text)`` and, for each of its characters (plus the end), the offset in ``text``.

    Messages typed with decomposed marks (some keyboards send NFD) keep correct entity spans.
    """
    out: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        composed = unicodedata.normalize("NFC", text[i:j])
        out.append(composed)
        offsets.extend([i] * len(composed))
        i = j
    offsets.append(len(text))
    return "".join(out), offsets
