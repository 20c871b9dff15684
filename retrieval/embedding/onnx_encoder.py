"""Query and passage encoding through ONNX Runtime: the e5 graph exported at set-up, no torch in the process.

The tokenizer is the folder's own ``tokenizer.json`` (the same ids sentence-transformers feeds the
torch model); pooling is e5's mean over every token (``<s>`` and ``</s>`` included), then L2
normalisation, as the model folder's Pooling and Normalize modules do.

Every text is one run, alone: no padding, and with int8 activations (one scale per input tensor) a
text's vector does not depend on what else is encoded with it. On 2 cores a batch of similar-length
passages was no faster than one passage per run (the products are already large: ~170 tokens).

Passages (ingest: many texts, throughput) and queries (one text, latency) are run differently. A query
is one run over ``threads`` intra-op threads. Passages go ``workers`` runs at a time, each on one thread
of its caller (``threads=1``, ORT's run releases the GIL): no intra-op pool, so no thread spinning while
it waits for work. On 2 cores under other load, the spinning pool's passages took ~2x as long (a
passage's vector is the same bit for bit either way: each run is the same graph on the same ids).

A passage longer than the model's 512 positions is cut there, as sentence-transformers does; it can be
read in overlapping windows of 512 tokens instead (each with ``<s>``, the prompt and ``</s>``, the windows'
pooled vectors, weighted by their token counts, averaged into the passage's one vector): PASSAGE_WINDOWS
says why that is off.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .onnx_export import ONNX_FILE

log = logging.getLogger(__name__)

# Questions need fewer tokens than the model's 512 positions: ViCoV19QA dev questions (long forum
# posts) have p50 39, p95 124, p99 182, max 227 tokens with the prompt; the sample and archive gold
# questions under 40 (`make bench`, speed.tokens). Longer text is cut, never an error.
QUERY_MAX_TOKENS = 256
PASSAGE_WINDOW = 512      # the model's positions
WINDOW_OVERLAP = 128      # tokens a window shares with the one before it
# Off: on ViCoV dev (in-sample, int8-q4 both sides) windows lifted dense R@5 of the 21 questions whose
# passage is past 512 tokens (0.809 → 0.857, 0.714 → 0.905 without diacritics) but cost hybrid R@5 overall
# (0.548 → 0.546, 0.528 → 0.520): long passages then outrank others' answers. Passages are cut at 512.
PASSAGE_WINDOWS = False


class OnnxEncoder:
    """Queries (``encode``, ``prompt`` prepended) and passages (``encode_passages``) through one ONNX
    export → float32, L2-normalised rows.

    ``threads``: ORT's intra-op threads of one run; ``workers``: runs at a time in ``encode_passages``
    (a passage encoder: ``threads=1``, ``workers`` = the cores)."""

    def __init__(self, folder: Path, prompt: str, threads: int, max_tokens: int = QUERY_MAX_TOKENS,
                 workers: int = 1, tokenizer_cache: Path | None = None):
        """``tokenizer_cache``: where the subset tokenizer is kept (subset_tokenizer.py; None: the whole
        tokenizer, ~0.5 s longer to load, the same ids)."""
        import onnxruntime as ort

        self.folder = Path(folder)
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.workers = max(1, workers)
        try:
            tokenizer_file = self.folder / "tokenizer.json"
            self.tokens = _subset_or_whole(tokenizer_file, tokenizer_cache)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # The arena keeps the largest batch's buffers for the process's life; queries are small.
            options.enable_cpu_mem_arena = False
            self.session = ort.InferenceSession(str(self.folder / ONNX_FILE), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:   # a missing or damaged file: ORT and tokenizers raise their own types
            raise ModelError(f"cannot load the ONNX query encoder at {self.folder}: "
                             f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _pooled(self, ids: list[int]) -> np.ndarray:
        """e5's mean over every token of one run (unnormalised)."""
        array = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": array, "attention_mask": np.ones_like(array)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(array)
        return self.session.run(None, feed)[0][0].mean(axis=0)

    @staticmethod
    def _unit(vector: np.ndarray) -> np.ndarray:
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def encode(self, texts: list[str]) -> np.ndarray:
        # One text per run: int8 activations are quantised with one scale per input tensor, so a
        # batch (and its padding) would shift a query's vector; alone it is the same in any batch.
        encodings = self.tokens.encode_batch([self.prompt + t for t in texts], self.max_tokens)
        rows = [self._unit(self._pooled(encoding.ids)) for encoding in encodings]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: list[str], prompt: str, window: int = PASSAGE_WINDOW,
                        overlap: int = WINDOW_OVERLAP, windowed: bool = PASSAGE_WINDOWS) -> np.ndarray:
        """Passages: cut at ``window`` tokens, or (``windowed``) read whole in overlapping windows."""
        encodings = self.tokens.encode_batch([prompt + t for t in texts], None)   # not the queries' cut
        runs = []   # per passage: its one run's ids, or its windows'
        for encoding in encodings:
            ids = encoding.ids
            if not windowed and len(ids) > window:
                ids = ids[:window - 1] + ids[-1:]   # what the tokenizer's truncation gives: ends with </s>
            runs.append([ids] if len(ids) <= window else windows(encoding, len(prompt), window, overlap))
        pooled = iter(self._pooled_all([ids for passage in runs for ids in passage]))
        rows = []
        for passage in runs:
            if len(passage) == 1:
                rows.append(self._unit(next(pooled)))
                continue
            rows.append(self._unit(sum(len(w) * self._unit(next(pooled)) for w in passage)))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)

    def _pooled_all(self, runs: list[list[int]]) -> list[np.ndarray]:
        """``_pooled`` of every run, in order; ``workers`` at a time, the longest first (an even finish)."""
        if self.workers == 1 or len(runs) < 2:
            return [self._pooled(ids) for ids in runs]
        order = sorted(range(len(runs)), key=lambda i: -len(runs[i]))
        out: list[np.ndarray] = [None] * len(runs)   # type: ignore[list-item]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-passages") as pool:
            for i, vector in zip(order, pool.map(lambda i: self._pooled(runs[i]), order)):
                out[i] = vector
        return out


def _subset_or_whole(tokenizer_file: Path, cache: Path | None):
    """The subset tokenizer when it can be built or read at ``cache``, else (logged) the whole one: a
    read-only cache costs load time, never an ingest."""
    from .subset_tokenizer import SubsetTokenizer, WholeTokenizer

    if cache is not None:
        try:
            return SubsetTokenizer.load(tokenizer_file, cache)
        except (OSError, ValueError) as exc:
            if tokenizer_file.is_file():
                log.warning("subset tokenizer unavailable at %s (%s); loading the whole tokenizer", cache, exc)
    return WholeTokenizer(tokenizer_file)


def windows(encoding, prompt_chars: int, window: int, overlap: int) -> list[list[int]]:
    """Token windows of at most ``window`` ids covering a long encoding (``<s>`` prompt … ``</s>``): each
    starts with ``<s>`` and the prompt's tokens and ends with ``</s>``; consecutive ones share ``overlap``
    tokens of the text."""
    ids, offsets = encoding.ids, encoding.offsets
    head = 1 + sum(1 for (start, end) in offsets[1:-1] if end <= prompt_chars and end > 0)
    first, body, last = ids[:head], ids[head:-1], ids[-1:]
    size = window - len(first) - len(last)
    step = max(size - overlap, 1)
    out = []
    for start in range(0, len(body), step):
        out.append(first + body[start:start + size] + last)
        if start + size >= len(body):
            break
    return out
