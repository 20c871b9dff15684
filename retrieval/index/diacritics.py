"""Restore Vietnamese diacritics in queries typed without them, from the corpus's own statistics.

Users often type "ai chu tri phong chong sot xuat huyet" for "ai chủ trì phòng, chống sốt xuất
huyết". Dense embeddings collapse on folded text, so before dense search (and the accented BM25
field) the query goes through :class:`DiacriticRestorer`:

- **Candidates.** Every lower-cased syllable seen in the corpus is a variant of its folded form
  ("chu" → "chủ", "chú", "chu", …). A syllable typed with diacritics is kept as typed and only
  serves as context (mixed queries work); numbers are kept (``<num>`` to the LM); punctuation,
  spacing and the typed capitalisation are kept, so the string still reads as the query.
- **Unknown syllables.** A folded syllable the corpus never saw, shaped like a Vietnamese syllable,
  takes pyvi's guess (``ViUtils.add_accents`` on a window of ±2 syllables); anything else
  ("covid", "pfizer", a typo) is kept as typed. Measured on the two sample bulletins
  (leave-one-out) this lifts syllable accuracy from 80 % to 85 %; with a large corpus it changes
  nothing. ``fallback="all"`` also offers pyvi's guess for known syllables (+1–2 points on a tiny
  corpus, but 1–2 ms more a query); ``fallback="none"`` never calls pyvi.
- **Language model.** Interpolated absolute-discount (Kneser-Ney-style) bigrams over syllables
  (sentence boundaries ``<s>`` and ``</s>``), whose lower order mixes relative frequency with the
  KN continuation count; decoded with Viterbi over the candidates of each segment (segments end at
  . ! ? ; … and line breaks; commas do not, so "phòng, chống" is the bigram phòng→chống). The
  channel is deterministic (every candidate folds to what was typed), so the LM alone chooses —
  except in a query typed with diacritics (below). Trigrams were tried: +0.15 points on
  ViCoV19QA for 2.5× the counts and 3× the decoding time, so the model stays bigram.
- **Queries typed with diacritics.** When ≥ 60 % of a query's Vietnamese syllables carry marks,
  its plain syllables are probably meant ("đau tai", "mang theo"): the typed form gets a log bonus
  of :data:`KEEP_BONUS` and pyvi is not asked; a clearly forgotten mark ("Sở Y tế duoc giao")
  is still restored. Syllables of fully accented queries left as typed: ViCoV19QA 99.4 → 99.9 %,
  bulletins (leave-one-out) 98.4 → 99.98 %.
- **Prior.** Directives rarely contain question words ("ai", "gì", "bao giờ", "ở đâu") or chat
  phrases ("hạn chót", "tôi muốn biết"), yet queries are made of them; without them "ai" becomes
  "ải" and "gì" stays "gi". :data:`PRIOR_PHRASES` adds these few phrases as pseudo-sentences at
  compile time only (never stored in the counts, so counts stay purely additive and the prior can
  change without re-indexing). It is kept small on purpose: everything else comes from the corpus.

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
from retrieval.vocabulary import vocabulary

FORMAT = "trolyao-diacritics/1"
FILENAME = "diacritics.json"

BOS, EOS, NUM = "<s>", "</s>", "<num>"

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Segment (sentence) boundaries for the LM: bigrams never cross them. Commas, colons, quotes and
# dashes do not break a segment ("phòng, chống" is the bigram phòng→chống).
_BREAK = re.compile(r"[.!?;…\n\r]+")
_DIGIT = re.compile(r"\d")
# Shape of a folded Vietnamese syllable: pyvi's guesses are only taken for tokens of this shape,
# so "pfizer" or "vaccine" are never given Vietnamese marks.
_VI_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?"
                          r"[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?")

# A query whose Vietnamese syllables mostly carry diacritics was typed with them: its plain
# syllables ("ban", "tai", "y") are then probably meant as typed, and keeping them gets a bonus
# (a channel model: forgetting a mark is rarer than typing a plain syllable). Below the share,
# plain syllables are free. Real accented queries have a share of 0.6–1.0.
TYPED_WITH_DIACRITICS = 0.6
KEEP_BONUS = 4.0             # log-score bonus of the typed plain form (tuned, see diacritics_eval)
UNIGRAM_MIX = 0.8            # weight of relative frequency in the lower-order distribution
MAX_CANDIDATES = 12          # variants of one folded syllable, most frequent first
_SHIFT = 32                  # bigram key = left_id << 32 | right_id

# Question words and chat phrases that queries are made of but directives rarely contain ("ai",
# "bao giờ", "hạn chót"), plus the commonest function words (vocabulary.yaml). Each counts as one
# sentence "<s> phrase </s>" (PRIOR_WEIGHT times) at compile time, never in the stored counts.
PRIOR_PHRASES: tuple[str, ...] = vocabulary().diacritic_prior_phrases
PRIOR_WEIGHT = 1


def accented_share(tokens: Iterable[str]) -> float:
    """Share of the Vietnamese-shaped word tokens that carry a diacritic (0 when there are none)."""
    shaped = [t for t in tokens if not _DIGIT.search(t) and _VI_SYLLABLE.fullmatch(fold(t))]
    return sum(has_diacritics(t) for t in shaped) / len(shaped) if shaped else 0.0


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


def _case_like(word: str, typed: str) -> str:
    """``word`` (lower case) with the capitalisation of ``typed``, letter by letter ("TTg", "UBND")."""
    if word == typed.lower():
        return typed
    if typed.islower():
        return word
    if len(word) == len(typed):   # NFC: one precomposed letter per typed letter
        return "".join(w.upper() if t.isupper() else w for w, t in zip(word, typed))
    return word[:1].upper() + word[1:] if typed[:1].isupper() else word


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
        # Lower order: mostly relative frequency, partly Kneser-Ney continuation. Queries are
        # another register than the corpus, so a syllable's plain frequency predicts its variant
        # better when the bigram context is unseen (measured: ViCoV19QA 94.5 → 94.9 %).
        freq = np.asarray(unigram, dtype=np.float64)
        freq[[ids[BOS], ids[EOS]]] = 0.0
        tokens = max(float(freq.sum()), 1.0)
        unseen = 0.5 / max(tokens, types)
        cont = np.maximum((1 - UNIGRAM_MIX) * preceders / types + UNIGRAM_MIX * freq / tokens, unseen)

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

    FALLBACKS = ("oov", "none", "all")

    def __init__(self, fallback: str = "oov", fallback_bonus: float = 1.0) -> None:
        """``fallback``: when to ask pyvi (see the module docstring); ``fallback_bonus``: log-score
        bonus of pyvi's guess over the corpus's variants in ``"all"`` mode."""
        if fallback not in self.FALLBACKS:
            raise ValueError(f"fallback must be one of {self.FALLBACKS}, not {fallback!r}")
        self.fallback = fallback
        self.fallback_bonus = fallback_bonus
        self._vocab: list[str] = []
        self._ids: dict[str, int] = {}
        self._unigram: list[int] = []
        self._bigram: dict[int, int] = {}
        self._compiled: _Compiled | None = None

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def fit(cls, texts: Iterable[str], **options) -> "DiacriticRestorer":
        """A restorer fitted on ``texts`` (an iterable of documents or passages)."""
        return cls(**options).update(texts)

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
        """JSON-serialisable counts (not the runtime options nor the prior)."""
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
        count_dtype = "<u4" if any(c > 0xFFFF for _, c in keys) else "<u2"
        return {
            "format": FORMAT,
            "vocab": [self._vocab[i] for i in order],
            "unigram": _encode((self._unigram[i] for i in order), "<u4"),
            "row_len": _encode(row_len.tolist(), "<u4"),
            "right": _encode(right, wide),
            "right_dtype": wide,
            "count": _encode((c for _, c in keys), count_dtype),
            "count_dtype": count_dtype,
        }

    @classmethod
    def from_dict(cls, data: dict, **options) -> "DiacriticRestorer":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IndexCorruptError(f"diacritics model: expected format {FORMAT!r}, "
                                    f"got {data.get('format') if isinstance(data, dict) else type(data)!r}")
        for field in ("right_dtype", "count_dtype"):
            if data.get(field) not in ("<u2", "<u4"):
                raise IndexCorruptError(f"diacritics model: bad {field} {data.get(field)!r}")
        try:
            vocab = list(data["vocab"])
            unigram = _decode(data["unigram"], "<u4").astype(np.int64)
            row_len = _decode(data["row_len"], "<u4").astype(np.int64)
            right = _decode(data["right"], data["right_dtype"]).astype(np.uint64)
            count = _decode(data["count"], data["count_dtype"]).astype(np.int64)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"diacritics model unreadable: {exc}") from exc
        if not (len(vocab) == len(unigram) == len(row_len)) or len(right) != len(count) \
                or int(row_len.sum()) != len(right):
            raise IndexCorruptError("diacritics model: inconsistent array lengths")
        if not all(isinstance(w, str) for w in vocab) or len(set(vocab)) != len(vocab):
            raise IndexCorruptError("diacritics model: vocabulary is not a list of distinct strings")
        self = cls(**options)
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
    def load(cls, directory: Path, **options) -> "DiacriticRestorer":
        path = Path(directory) / FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"cannot read {path}: {exc}") from exc
        return cls.from_dict(data, **options)

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

    def _hints(self, text: str, matches: list, typed_with_diacritics: bool) -> dict[int, str]:
        """pyvi's guesses (token index → lower-case syllable) for tokens the corpus cannot restore."""
        if self.fallback == "none" or typed_with_diacritics:
            return {}
        variants = self._tables().variants
        want = []
        for k, m in enumerate(matches):
            low = m.group().lower()
            if _DIGIT.search(low) or has_diacritics(low) or not _VI_SYLLABLE.fullmatch(low):
                continue
            if self.fallback == "all" or low not in variants:
                want.append(k)
        if not want:
            return {}
        wanted = set(want)
        hints: dict[int, str] = {}
        covered = -1                      # last token index already inside a pyvi window
        for k in want:
            if k <= covered:
                continue
            # pyvi is a character CRF: two syllables of context each side are enough for it,
            # and its cost grows with the window (~15 µs a character).
            lo, hi = max(k - 2, 0), min(k + 2, len(matches) - 1)
            if self.fallback == "all":
                lo, hi = 0, len(matches) - 1
            for k2 in want:               # one window for unknown tokens close together
                if k < k2 and k2 - 2 <= hi:
                    hi = min(k2 + 2, len(matches) - 1)
            covered = hi
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
                if j in wanted and j not in hints and fold(word) == m.group().lower():
                    hints[j] = word
        return hints

    def _decode_segment(self, tokens: list[str], hints: dict[int, str], keep_bonus: float) -> list[str]:
        """Viterbi over the candidates of each token of one segment; lower-case words out."""
        tables = self._tables()
        variants = tables.variants
        logprob = tables.logprob
        # Lattice columns: (LM words, output words, {word: log bonus}). LM word ≠ output for numbers.
        columns: list[tuple[list[str], list[str], dict[str, float]]] = []
        for k, tok in enumerate(tokens):
            low = tok.lower()
            if _DIGIT.search(low):
                columns.append(([NUM], [low], {}))
            elif has_diacritics(low):
                columns.append(([low], [low], {}))
            else:
                hint = hints.get(k)
                cands = variants.get(low)
                bonus: dict[str, float] = {}
                if not cands:
                    cands = [hint or low]
                elif hint and hint not in cands:
                    cands = cands + [hint]
                if hint and len(cands) > 1:
                    bonus[hint] = self.fallback_bonus
                if keep_bonus:
                    if low not in cands:
                        cands = cands + [low]
                    bonus[low] = bonus.get(low, 0.0) + keep_bonus
                columns.append((cands, cands, bonus))
        prev_words, prev_scores = [BOS], [0.0]
        back: list[list[int]] = []
        for lm_words, _, bonus in columns:
            scores, pointers = [], []
            for w in lm_words:
                best, arg = -math.inf, 0
                for k, (p, s) in enumerate(zip(prev_words, prev_scores)):
                    v = s + logprob(p, w)
                    if v > best:
                        best, arg = v, k
                scores.append(best + bonus.get(w, 0.0) if bonus else best)
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
        typed = accented_share(_TOKEN.findall(text)) >= TYPED_WITH_DIACRITICS
        keep_bonus = KEEP_BONUS if typed else 0.0
        bounds = [0] + [x for m in _BREAK.finditer(text) for x in m.span()] + [len(text)]
        for start, end in zip(bounds[::2], bounds[1::2]):
            matches = list(_TOKEN.finditer(text, start, end))
            if matches:
                words = self._decode_segment([m.group() for m in matches],
                                             self._hints(text, matches, typed), keep_bonus)
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

    def stats(self) -> dict[str, int]:
        """Sizes: distinct syllables (with ``<s>``, ``</s>``, ``<num>``), bigram types, tokens."""
        return {"vocab": len(self._vocab), "bigrams": len(self._bigram),
                "tokens": sum(self._unigram) - 2 * self._unigram[self._ids[BOS]] if self._vocab else 0}
