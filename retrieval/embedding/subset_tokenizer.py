"""The e5 tokenizer, loaded in a fifth of the time for text in Vietnamese and Latin script.

Loading the folder's ``tokenizer.json`` takes ~0.65 s on 2 cores, nearly all of it building the
Unigram model's 250,002 pieces (a 1,000-piece file with the same normaliser and pre-tokeniser loads
in 2 ms): the largest fixed cost of a fresh ingest after the model itself. Most of those pieces are
in scripts our documents never use. The subset tokenizer is the same file with only the pieces made
of ``CHARSET`` characters (Vietnamese, ASCII, punctuation: ~94,000 pieces), built once into the cache
and keyed by the full file's hash. For a text whose normalised form is made of ``CHARSET``
characters its ids are the full tokenizer's, id for id:

- a piece holding any other character cannot match inside such a text, so Viterbi sees the same
  candidate pieces with the same scores, in the same order (the subset keeps the full order);
- ``<unk>`` (the lowest score, which the model's unknown-character penalty is taken from) is kept;
- the subset's ids are mapped back through the kept pieces' full ids; ``<s>``/``</s>`` (0 and 2, the
  post-processor's) are the first pieces of both.

Any other text goes through the full tokenizer, loaded then (once per process).
tests/test_subset_tokenizer.py compares both on real text.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)

SUBSET_VERSION = 1   # bump when CHARSET or the file layout changes (the name of the files built)


def _span(first: int, last: int) -> set[str]:
    return {chr(c) for c in range(first, last + 1)}


_VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
CHARSET = frozenset(
    _span(0x20, 0x7E) | _span(0xA0, 0xFF)                 # ASCII, Latin-1 (NBSP, °, ·, ×, ÷, À…)
    | set(_VIETNAMESE) | set(_VIETNAMESE.upper())
    | _span(0x300, 0x36F)                                 # combining marks (text typed decomposed)
    | _span(0x2000, 0x206F)                               # general punctuation: – — ‘ ’ “ ” • … ‰
    | set("→≤≥▪●\u2581")                                  # and the metaspace ▁
)


class Encoded(NamedTuple):
    """What the encoder reads of a ``tokenizers.Encoding``."""
    ids: list[int]
    offsets: list[tuple[int, int]]


class WholeTokenizer:
    """The folder's tokenizer as it is: ``encode_batch(texts, max_tokens)`` like SubsetTokenizer's."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        # Literal "<s>", "</s>" in a text are ordinary text to e5 (split_special_tokens in the folder).
        self.tokenizer.encode_special_tokens = True
        self._lock = threading.Lock()   # a Tokenizer's truncation state is per object

    def encode_batch(self, texts: list[str], max_tokens: int | None) -> list[Encoded]:
        return [Encoded(e.ids, e.offsets) for e in _encode(self.tokenizer, self._lock, texts, max_tokens)]


class SubsetTokenizer:
    """``encode_batch(texts, max_tokens)``: the full tokenizer's ids and offsets (cut at ``max_tokens``,
    or not at all for None), through the subset whenever the text allows it. Thread-safe."""

    def __init__(self, full_path: Path, subset, full_ids: np.ndarray):
        self.full_path = Path(full_path)
        self._subset = subset
        self._full_ids = full_ids
        self._whole: WholeTokenizer | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, full_path: Path, cache_dir: Path) -> "SubsetTokenizer":
        from tokenizers import Tokenizer

        subset_file, ids_file = ensure_subset(Path(full_path), Path(cache_dir))
        subset = Tokenizer.from_file(str(subset_file))
        subset.encode_special_tokens = True
        return cls(full_path, subset, np.load(ids_file))

    @property
    def whole(self) -> WholeTokenizer:
        """The full tokenizer, loaded on first need."""
        with self._lock:
            if self._whole is None:
                self._whole = WholeTokenizer(self.full_path)
            return self._whole

    def covers(self, text: str) -> bool:
        return CHARSET.issuperset(self._subset.normalizer.normalize_str(text))

    def encode_batch(self, texts: list[str], max_tokens: int | None) -> list[Encoded]:
        inside = [self.covers(t) for t in texts]
        out: list[Encoded | None] = [None] * len(texts)
        if any(inside):
            where = [i for i, ok in enumerate(inside) if ok]
            for i, e in zip(where, _encode(self._subset, self._lock, [texts[i] for i in where], max_tokens)):
                out[i] = Encoded(self._full_ids[e.ids].tolist(), e.offsets)
        if not all(inside):
            where = [i for i, ok in enumerate(inside) if not ok]
            for i, e in zip(where, self.whole.encode_batch([texts[i] for i in where], max_tokens)):
                out[i] = e
        return out   # type: ignore[return-value]


def _encode(tokenizer, lock: threading.Lock, texts: list[str], max_tokens: int | None):
    with lock:
        if max_tokens is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(max_tokens)
        return tokenizer.encode_batch(texts)


def ensure_subset(full_path: Path, cache_dir: Path) -> tuple[Path, Path]:
    """The subset's tokenizer file and its pieces' full ids (int64 .npy), built once per full file."""
    with full_path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
    stem = cache_dir / f"e5-subset-v{SUBSET_VERSION}-{digest}"
    subset_file, ids_file = stem.with_suffix(".json"), stem.with_suffix(".ids.npy")
    if subset_file.is_file() and ids_file.is_file():
        return subset_file, ids_file
    spec = json.loads(full_path.read_text(encoding="utf-8"))
    model = spec["model"]
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        raise ValueError(f"{full_path}: not a Unigram model without byte fallback")
    vocab = model["vocab"]
    kept = [i for i, (piece, _score) in enumerate(vocab) if CHARSET.issuperset(piece)]
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    if lowest not in kept or kept[:4] != [0, 1, 2, 3] or model.get("unk_id") not in (None, *range(4)):
        raise ValueError(f"{full_path}: special pieces are not the first four, or <unk> is not the lowest")
    spec["model"] = {**model, "vocab": [vocab[i] for i in kept]}
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written under temporary names and renamed: a concurrent builder or reader sees whole files only.
    for path, write in ((ids_file, lambda h: np.save(h, np.asarray(kept, dtype=np.int64))),
                        (subset_file, lambda h: h.write(json.dumps(spec, ensure_ascii=False).encode("utf-8")))):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            write(handle)
        os.replace(tmp, path)
    log.info("built the e5 subset tokenizer (%d of %d pieces) at %s", len(kept), len(vocab), subset_file)
    return subset_file, ids_file
