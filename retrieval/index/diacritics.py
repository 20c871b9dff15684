"""Restore Vietnamese diacritics in queries typed without them, from the corpus's own statistics.

Users often type "ai chu tri phong chong sot xuat huyet" for "ai chủ trì phòng, chống sốt xuất
huyết". Dense embeddings collapse on folded text, so before dense search (and the accented BM25
field) the query goes through :class:`DiacriticRestorer`:

- **Candidates.** Every lower-cased syllable seen in the corpus is a variant of its folded form
  ("chu" → "chủ", "chú", "chu", …). A syllable typed with diacritics is kept as typed and only
  serves as context (mixed queries work); a syllable the corpus never saw is kept as typed;
  numbers and punctuation are kept.
- **Language model.** Interpolated Kneser-Ney over syllable bigrams (sentence boundaries ``<s>``
  and ``</s>``, numbers collapsed to ``<num>``), decoded with Viterbi over the candidates of each
  segment (segments end at . ! ? ; … and line breaks). The channel is deterministic (every
  candidate folds to what was typed), so the LM alone chooses.
- **Prior.** Directives rarely contain question words ("ai", "gì", "bao giờ", "ở đâu") or chat
  phrases ("hạn chót"), yet queries are made of them; without them "ai" would become "ải" and
  "gì" stay "gi". :data:`PRIOR_PHRASES` adds these few phrases as pseudo-sentences at compile time
  only (never stored in the counts, so counts stay purely additive and the prior can change
  without re-indexing). It is kept small on purpose: everything else comes from the corpus.

Counts are additive: :meth:`DiacriticRestorer.update` adds a new bulletin's counts, equal to
fitting on the union. :meth:`to_dict` stores the vocabulary as a JSON list and the counts as
base64 little-endian integer arrays (a few hundred kB for a 3.5 MB corpus), which load in
milliseconds; the decoding tables are compiled lazily on first use.
"""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Iterable

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.text import fold, has_diacritics, nfc

FORMAT = "trolyao-diacritics/1"
FILENAME = "diacritics.json"

BOS, EOS, NUM = "<s>", "</s>", "<num>"

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Segment (sentence) boundaries for the LM: bigrams never cross them. Commas, colons, quotes and
# dashes do not break a segment ("phòng, chống" is the bigram phòng→chống).
_BREAK = re.compile(r"[.!?;…\n\r]+")
_DIGIT = re.compile(r"\d")

MAX_CANDIDATES = 12          # variants of one folded syllable, most frequent first
_SHIFT = 32                  # bigram key = left_id << 32 | right_id

# Question words and chat phrases that queries are made of but directives rarely contain.
# Each counts as one sentence "<s> phrase </s>" (PRIOR_WEIGHT times) at compile time.
PRIOR_PHRASES: tuple[str, ...] = (
    "ai", "gì", "nào", "khi nào", "bao giờ", "bao nhiêu", "ở đâu", "thế nào", "như thế nào",
    "tại sao", "vì sao", "được", "những", "việc", "hạn chót", "là", "có", "không", "có không",
    "của", "cho", "với", "phải", "chưa", "đã", "hay", "cần", "làm gì", "là gì",
)
PRIOR_WEIGHT = 1


def _pyvi_add_accents(text: str) -> str:
    from pyvi import ViUtils   # imported lazily: only queries with unknown syllables need it

    return ViUtils.add_accents(text)


def _lm_token(token: str) -> str:
    low = token.lower()
    return NUM if _DIGIT.search(low) else low


def _segments(text: str) -> Iterable[list[str]]:
    """LM tokens of each segment of ``text`` (lower-cased NFC syllables, numbers → ``<num>``)."""
    for part in _BREAK.split(nfc(text)):
        toks = [_lm_token(t) for t in _TOKEN.findall(part)]
        if toks:
            yield toks


def _case_like(word: str, model: str) -> str:
    """``word`` (lower case) with the capitalisation pattern of ``model`` as typed."""
    if model.islower() or not any(ch.isalpha() for ch in model):
        return word
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _encode(values: Iterable[int], dtype: str) -> str:
    return base64.b64encode(np.asarray(list(values), dtype=dtype).tobytes()).decode("ascii")


def _decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text.encode("ascii")), dtype=dtype)


class _Compiled:
    """Decoding tables derived from the counts (plus the prior): built once, read-only."""

    __slots__ = ("bigram", "inv_total", "backoff", "cont", "unseen", "discount", "variants", "_ids")

    def __init__(self, vocab: list[str], unigram: list[int], bigram: dict[int, int]) -> None:
        bigram = dict(bigram)
        vocab = list(vocab)
        ids = {w: i for i, w in enumerate(vocab)}
        unigram = list(unigram)

        def ident(word: str) -> int:
            if word not in ids:
                ids[word] = len(vocab)
                vocab.append(word)
                unigram.append(0)
            return ids[word]

        for phrase in PRIOR_PHRASES:
            seq = [ident(BOS)] + [ident(w) for w in phrase.split()] + [ident(EOS)]
            for i in seq[1:-1]:
                unigram[i] += PRIOR_WEIGHT
            for a, b in zip(seq, seq[1:]):
                key = a << _SHIFT | b
                bigram[key] = bigram.get(key, 0) + PRIOR_WEIGHT

        n = len(vocab)
        keys = np.fromiter(bigram.keys(), dtype=np.uint64, count=len(bigram))
        counts = np.fromiter(bigram.values(), dtype=np.float64, count=len(bigram))
        left = (keys >> np.uint64(_SHIFT)).astype(np.int64)
        right = (keys & np.uint64((1 << _SHIFT) - 1)).astype(np.int64)
        # Kneser-Ney discount from the count-of-counts (Ney et al.), clipped to a sane range.
        n1 = float(np.count_nonzero(counts == 1))
        n2 = float(np.count_nonzero(counts == 2))
        discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.75
        discount = min(max(discount, 0.4), 0.9)
        total = np.bincount(left, weights=counts, minlength=n)
        followers = np.bincount(left, minlength=n).astype(np.float64)
        preceders = np.bincount(right, minlength=n).astype(np.float64)
        types = max(float(len(bigram)), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_total = np.where(total > 0, 1.0 / total, 0.0)
            backoff = np.where(total > 0, discount * followers * inv_total, 1.0)
        unseen = 0.5 / types
        cont = np.maximum(preceders / types, unseen)

        self.bigram = bigram
        self.discount = discount
        self.unseen = unseen
        self.inv_total = dict(zip(vocab, inv_total.tolist()))
        self.backoff = dict(zip(vocab, backoff.tolist()))
        self.cont = dict(zip(vocab, cont.tolist()))
        # Keys of ``bigram`` are ids; decoding works on strings, so map each string to its id.
        self._ids = ids
        variants: dict[str, list[tuple[int, str]]] = {}
        for word, count in zip(vocab, unigram):
            if word in (BOS, EOS, NUM) or count <= 0:
                continue
            variants.setdefault(fold(word), []).append((count, word))
        self.variants = {f: [w for _, w in sorted(vs, key=lambda cw: (-cw[0], cw[1]))[:MAX_CANDIDATES]]
                         for f, vs in variants.items()}

    def logprob(self, prev: str, word: str) -> float:
        """log P_KN(word | prev), interpolated with the continuation unigram."""
        cont = self.cont.get(word, self.unseen)
        inv = self.inv_total.get(prev, 0.0)
        if inv == 0.0:
            return math.log(cont)
        a, b = self._ids.get(prev), self._ids.get(word)
        count = self.bigram.get(a << _SHIFT | b, 0) if b is not None else 0
        p = max(count - self.discount, 0.0) * inv + self.backoff[prev] * cont
        return math.log(p)


class DiacriticRestorer:
    """Corpus-fitted diacritic restoration for queries (see the module docstring)."""

    def __init__(self, fallback: str = "oov", fallback_bonus: float = 0.0) -> None:
        self.fallback = fallback
        self.fallback_bonus = fallback_bonus
        self._vocab: list[str] = []
        self._ids: dict[str, int] = {}
        self._unigram: list[int] = []
        self._bigram: dict[int, int] = {}
        self._compiled: _Compiled | None = None

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def fit(cls, texts: Iterable[str]) -> "DiacriticRestorer":
        return cls().update(texts)

    def _id(self, word: str) -> int:
        i = self._ids.get(word)
        if i is None:
            i = self._ids[word] = len(self._vocab)
            self._vocab.append(word)
            self._unigram.append(0)
        return i

    def update(self, texts: Iterable[str]) -> "DiacriticRestorer":
        """Add the counts of ``texts`` (additive: fit(A).update(B) equals fit(A + B))."""
        if isinstance(texts, str):
            texts = [texts]
        uni, bi, ident = self._unigram, self._bigram, self._id
        bos, eos = ident(BOS), ident(EOS)
        for text in texts:
            for seg in _segments(text):
                prev = bos
                for tok in seg:
                    i = ident(tok)
                    uni[i] += 1
                    key = prev << _SHIFT | i
                    bi[key] = bi.get(key, 0) + 1
                    prev = i
                key = prev << _SHIFT | eos
                bi[key] = bi.get(key, 0) + 1
                uni[bos] += 1
                uni[eos] += 1
        self._compiled = None
        return self

    # -- serialisation ------------------------------------------------------------------------

    def counts(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """Unigram and bigram counts keyed by syllable strings (for tests and inspection)."""
        vocab = self._vocab
        mask = (1 << _SHIFT) - 1
        uni = {w: c for w, c in zip(vocab, self._unigram) if c}
        bi = {(vocab[k >> _SHIFT], vocab[k & mask]): c for k, c in self._bigram.items()}
        return uni, bi

    def to_dict(self) -> dict:
        # Renumber by frequency so that ids (and thus the file) do not depend on insertion order.
        order = sorted(range(len(self._vocab)), key=lambda i: (-self._unigram[i], self._vocab[i]))
        new_id = [0] * len(order)
        for n, i in enumerate(order):
            new_id[i] = n
        mask = (1 << _SHIFT) - 1
        keys = sorted((new_id[k >> _SHIFT] << _SHIFT | new_id[k & mask], c) for k, c in self._bigram.items())
        left = np.fromiter((k >> _SHIFT for k, _ in keys), dtype=np.int64, count=len(keys))
        right = [k & mask for k, _ in keys]
        # Bigrams sorted by left id: store per-left-id row lengths instead of the left ids.
        row_len = np.bincount(left, minlength=len(order)) if len(keys) else np.zeros(len(order), int)
        wide = "<u4" if len(order) > 0xFFFF else "<u2"
        return {
            "format": FORMAT,
            "vocab": [self._vocab[i] for i in order],
            "unigram": _encode((self._unigram[i] for i in order), "<u4"),
            "row_len": _encode(row_len.tolist(), "<u4"),
            "right": _encode(right, wide),
            "right_dtype": wide,
            "count": _encode((c for _, c in keys), "<u4"),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "DiacriticRestorer":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IndexCorruptError(f"diacritics model: expected format {FORMAT!r}, "
                                    f"got {data.get('format') if isinstance(data, dict) else type(data)!r}")
        try:
            vocab = list(data["vocab"])
            unigram = _decode(data["unigram"], "<u4").astype(np.int64)
            row_len = _decode(data["row_len"], "<u4").astype(np.int64)
            right = _decode(data["right"], data["right_dtype"]).astype(np.uint64)
            count = _decode(data["count"], "<u4").astype(np.int64)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"diacritics model unreadable: {exc}") from exc
        if not (len(vocab) == len(unigram) == len(row_len)) or len(right) != len(count) \
                or int(row_len.sum()) != len(right):
            raise IndexCorruptError("diacritics model: inconsistent array lengths")
        self = cls()
        self._vocab = vocab
        self._ids = {w: i for i, w in enumerate(vocab)}
        self._unigram = unigram.tolist()
        left = np.repeat(np.arange(len(vocab), dtype=np.uint64), row_len)
        keys = (left << np.uint64(_SHIFT)) | right
        self._bigram = dict(zip(keys.tolist(), count.tolist()))
        return self

    def save(self, directory: Path) -> Path:
        path = Path(directory) / FILENAME
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> "DiacriticRestorer":
        path = Path(directory) / FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"cannot read {path}: {exc}") from exc
        return cls.from_dict(data)

    # -- restoring ----------------------------------------------------------------------------

    def _tables(self) -> _Compiled:
        if self._compiled is None:
            self._compiled = _Compiled(self._vocab, self._unigram, self._bigram)
        return self._compiled

    def candidates(self, token: str) -> list[str]:
        """Lower-cased NFC candidates for one typed token (the token itself when nothing fits)."""
        low = nfc(token).lower()
        if _DIGIT.search(low) or has_diacritics(low):
            return [low]
        return self._tables().variants.get(low) or [low]

    def _hints(self, text: str, matches: list) -> dict[int, str]:
        """pyvi's guesses (token index → lower-case syllable) for tokens the corpus cannot restore."""
        if self.fallback == "none":
            return {}
        variants = self._tables().variants
        want = []
        for k, m in enumerate(matches):
            low = m.group().lower()
            if _DIGIT.search(low) or has_diacritics(low) or not low.isalpha():
                continue
            if self.fallback == "all" or low not in variants:
                want.append(k)
        if not want:
            return {}
        hints: dict[int, str] = {}
        for k in want:
            if k in hints:
                continue
            lo, hi = max(k - 2, 0), min(k + 2, len(matches) - 1)
            if self.fallback == "all":
                lo, hi = 0, len(matches) - 1
            start, end = matches[lo].start(), matches[hi].end()
            window = text[start:end].lower()
            try:
                guess = _pyvi_add_accents(window).lower()
            except Exception:    # pyvi's CRF can emit labels it cannot map
                continue
            if len(guess) != len(window):
                continue
            for j in range(lo, hi + 1):
                m = matches[j]
                word = nfc(guess[m.start() - start:m.end() - start])
                if j in want and j not in hints and fold(word) == m.group().lower():
                    hints[j] = word
        return hints

    def _decode_segment(self, tokens: list[str], hints: dict[int, str] | None = None) -> list[str]:
        hints = hints or {}
        bonus = self.fallback_bonus
        tables = self._tables()
        variants = tables.variants
        logprob = tables.logprob
        # Each lattice column: (lm_tokens, outputs). LM token differs from output for numbers.
        columns: list[tuple[list[str], list[str]]] = []
        boost: list[str | None] = []
        for k, tok in enumerate(tokens):
            low = tok.lower()
            hint = hints.get(k)
            boost.append(hint if bonus else None)
            if _DIGIT.search(low):
                columns.append(([NUM], [low]))
            elif has_diacritics(low):
                columns.append(([low], [low]))
            else:
                cands = variants.get(low)
                if not cands:
                    cands = [hint or low]
                elif hint and hint not in cands:
                    cands = cands + [hint]
                columns.append((cands, cands))
        # Viterbi: best[j] = (score, backpointer list index) for candidate j of the current column.
        prev_words = [BOS]
        prev_scores = [0.0]
        back: list[list[int]] = []
        for col, (lm_words, _) in enumerate(columns):
            scores, pointers = [], []
            hint = boost[col]
            for w in lm_words:
                best, arg = -math.inf, 0
                for k, (p, s) in enumerate(zip(prev_words, prev_scores)):
                    v = s + logprob(p, w)
                    if v > best:
                        best, arg = v, k
                scores.append(best + bonus if w == hint else best)
                pointers.append(arg)
            back.append(pointers)
            prev_words, prev_scores = lm_words, scores
        final = [s + logprob(p, EOS) for p, s in zip(prev_words, prev_scores)]
        j = max(range(len(final)), key=final.__getitem__)
        out = []
        for col in range(len(columns) - 1, -1, -1):
            out.append(columns[col][1][j])
            j = back[col][j]
        out.reverse()
        return out

    def restore_tokens(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, restored lower-case syllable) for every word token of NFC ``text``."""
        result: list[tuple[int, int, str]] = []
        bounds = [0] + [x for m in _BREAK.finditer(text) for x in m.span()] + [len(text)]
        for start, end in zip(bounds[::2], bounds[1::2]):
            matches = list(_TOKEN.finditer(text, start, end))
            if matches:
                words = self._decode_segment([m.group() for m in matches], self._hints(text, matches))
                result.extend((m.start(), m.end(), w) for m, w in zip(matches, words))
        return result

    def restore(self, text: str) -> str:
        """``text`` with diacritics restored; punctuation, spacing, numbers and case kept."""
        text = nfc(text)
        pieces, last = [], 0
        for start, end, word in self.restore_tokens(text):
            pieces.append(text[last:start])
            pieces.append(_case_like(word, text[start:end]))
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def __len__(self) -> int:
        return len(self._bigram)
