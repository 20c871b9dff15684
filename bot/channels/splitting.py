"""One splitter for every channel: a long reply cut into messages at sentence ends or line breaks."""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable

# A candidate break: a run of line breaks, or the white space after a sentence end (. ! ? …, possibly
# closed by quotes or brackets). The white space is a break only when a sentence starts after it
# (`_starts_sentence`): "v.v. các sở" and "TP. Lạng Sơn"'s lower-case cousins stay in one piece.
_BREAK = re.compile(r"\n+|(?<=[.!?…])[\"”’»)\]]*[ \t]+")
_OPENERS = "\"“‘«(["
_SPACE = re.compile(r"\s+")
_LIST_NUMBER = re.compile(r"\s*\d{1,3}[.)]\s*")


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """`text` cut into stripped parts with `measure(part) <= limit`, each ending at a sentence end or
    line break where one fits, else between words, and only inside a word longer than the limit.

    Parts joined with single spaces or line breaks give the text back. A channel with markup splits
    the plain text and escapes each part afterwards, measuring the escaped length, so that no cut
    falls inside a tag or an entity.
    """
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces_within(text, limit, measure):
        if current and measure((current + piece).rstrip()) > limit:
            parts.append(current.strip())
            current = piece
        else:
            current += piece
    parts.append(current.strip())
    return [part for part in parts if part]


def _sentences(text: str) -> list[str]:
    """Sentence and line pieces that concatenate back to `text`; a list number ("2. ") stays with
    the item it numbers."""
    pieces: list[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        if match.group().startswith("\n") or _starts_sentence(text, match.end()):
            start = _cut(text, start, match.end(), pieces)
    _cut(text, start, len(text), pieces)
    return pieces


def _cut(text: str, start: int, end: int, pieces: list[str]) -> int:
    if end > start:
        if pieces and _LIST_NUMBER.fullmatch(pieces[-1]):
            pieces[-1] += text[start:end]
        else:
            pieces.append(text[start:end])
    return end


def _starts_sentence(text: str, at: int) -> bool:
    while at < len(text) and text[at] in _OPENERS:
        at += 1
    return at < len(text) and (text[at].isupper() or text[at].isdigit())


def _pieces_within(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    """The sentences, the ones longer than the limit cut between words (and characters)."""
    pieces: list[str] = []
    for sentence in _sentences(text):
        if measure(sentence.strip()) <= limit:
            pieces.append(sentence)
            continue
        for word in _words(sentence):
            while measure(word.strip()) > limit:      # one enormous "word": cut between characters
                cut = max(1, bisect.bisect_right(range(1, len(word) + 1), limit, key=lambda n: measure(word[:n])))
                pieces.append(word[:cut])
                word = word[cut:]
            pieces.append(word)
    return pieces


def _words(sentence: str) -> list[str]:
    """Words with the white space after each."""
    return [match.group() for match in re.finditer(r"\S+\s*|\s+", sentence)]
