"""A large index's BM25 weights stored as impacts: one byte (or two) a posting and a scale per term.

bm25s stores each posting's weight as float32 beside its int32 row: at 10^6 passages the folded
field alone is 1.2 GB. A term's weights share its idf and differ only by the term frequency and the
passage length, so quantising them on the term's own range (weight ≈ code · scale_t, scale_t = the
term's largest weight / 255) loses at most 0.2 % of that term's largest weight, and the largest
decodes exactly (MaxScore's bounds hold). Written into the field's directory in place of
``data.csc.index.npy`` (``impacts.csc.index.npy``, ``impacts.scale.npy``, ``impacts.json``); the
readers (``hybrid.bm25_scores``, ``postings.FieldPostings``) decode the postings they read.

Only above ``COMPACT_ABOVE`` passages (where the dense structure leaves flat): a province's index keeps
float32 weights and exactly its rankings.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

COMPACT_ABOVE = 100_000
FLOAT_FILE = "data.csc.index.npy"
CODES_FILE = "impacts.csc.index.npy"
SCALE_FILE = "impacts.scale.npy"
META_FILE = "impacts.json"
SCALE_KEY = "term_scale"   # the per-term scale, in a loaded retriever's ``scores`` dict
_DTYPES = {8: np.uint8, 16: np.uint16}
_CHUNK = 8_000_000   # postings converted at once (bounded memory at 10^6 passages)


def posting_terms(indptr: np.ndarray, start: int, end: int) -> np.ndarray:
    """The term of each posting ``start``…``end - 1`` (postings are stored term after term)."""
    return np.searchsorted(indptr, np.arange(start, end, dtype=np.int64), side="right") - 1


def quantize(data: np.ndarray, indptr: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Codes (uint8/uint16, one a posting) and per-term scales (float32) of float weights ``data``."""
    dtype = _DTYPES[bits]
    top = np.iinfo(dtype).max
    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    term_max = np.zeros(len(lengths), dtype=np.float32)
    nonempty = np.flatnonzero(lengths)
    for start in range(0, int(indptr[-1]), _CHUNK):
        end = min(int(indptr[-1]), start + _CHUNK)
        term = posting_terms(indptr, start, end)
        runs = np.concatenate([[0], np.flatnonzero(np.diff(term)) + 1])
        np.maximum.at(term_max, term[runs], np.maximum.reduceat(np.asarray(data[start:end]), runs))
    scale = np.ones(len(lengths), dtype=np.float32)
    scale[nonempty] = np.where(term_max[nonempty] > 0, term_max[nonempty] / np.float32(top), 1)
    codes = np.empty(int(indptr[-1]), dtype=dtype)
    for start in range(0, int(indptr[-1]), _CHUNK):
        end = min(int(indptr[-1]), start + _CHUNK)
        term = posting_terms(indptr, start, end)
        codes[start:end] = np.clip(np.rint(np.asarray(data[start:end], dtype=np.float64) / scale[term]), 0, top)
    return codes, scale


def write_impacts(directory: Path, bits: int = 8) -> dict:
    """Replace the bm25s field in ``directory``'s float32 weights by impacts; returns impacts.json."""
    data = np.load(directory / FLOAT_FILE, mmap_mode="r")
    indptr = np.load(directory / "indptr.csc.index.npy")
    codes, scale = quantize(data, indptr, bits)
    np.save(directory / CODES_FILE, codes)
    np.save(directory / SCALE_FILE, scale)
    meta = {"bits": bits, "postings": int(len(codes))}
    (directory / META_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    del data
    (directory / FLOAT_FILE).unlink()   # nothing reads it any more: a rebuild re-tokenises the store
    return meta


def has_impacts(directory: Path) -> bool:
    return (directory / META_FILE).exists()


def load_scale(directory: Path) -> np.ndarray:
    return np.load(directory / SCALE_FILE)


def decode(stored: np.ndarray, scale: np.ndarray | None, term: int | np.ndarray) -> np.ndarray:
    """Float weights of ``stored`` postings of ``term`` (one for all, or one a posting): impacts times
    their term's scale, or float weights as they are (``scale`` None)."""
    return stored if scale is None else stored * scale[term]


def weights(scores: dict, term: int | np.ndarray, start: int, end: int) -> np.ndarray:
    """Float weights of postings ``start``…``end - 1`` of a field's ``scores`` (bm25s' arrays, impacts
    decoded when the field has them)."""
    return decode(scores["data"][start:end], scores.get(SCALE_KEY), term)
