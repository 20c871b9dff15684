"""Query encoding through ONNX Runtime: the e5 graph exported at set-up, no torch in the process.

The tokenizer is the folder's own ``tokenizer.json`` (the same ids sentence-transformers feeds the
torch model); pooling is e5's mean over every token (``<s>`` and ``</s>`` included), then L2
normalisation, as the model folder's Pooling and Normalize modules do.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .onnx_export import ONNX_FILE

log = logging.getLogger(__name__)

# Questions need fewer tokens than the model's 512 positions: ViCoV19QA dev questions (long forum
# posts) have p50 39, p95 124, p99 182, max 227 tokens with the prompt; the sample and archive gold
# questions under 40 (`make bench`, speed.tokens). Longer text is cut, never an error.
QUERY_MAX_TOKENS = 256


class OnnxQueryEncoder:
    """``encode(texts)`` → float32, L2-normalised rows; ``prompt`` is prepended to every text."""

    def __init__(self, folder: Path, prompt: str, threads: int, max_tokens: int = QUERY_MAX_TOKENS):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.prompt = prompt
        self.max_tokens = max_tokens
        try:
            self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
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
        # Literal "<s>", "</s>" in a question are ordinary text to e5 (split_special_tokens in the folder).
        self.tokenizer.encode_special_tokens = True
        self.tokenizer.enable_truncation(max_tokens)
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()   # Tokenizer's truncation/padding state is per object

    def encode(self, texts: list[str]) -> np.ndarray:
        # One text per run: int8 activations are quantised with one scale per input tensor, so a
        # batch (and its padding) would shift a query's vector; alone it is the same in any batch.
        with self._lock:
            encodings = self.tokenizer.encode_batch([self.prompt + t for t in texts])
        rows = []
        for encoding in encodings:
            ids = np.asarray([encoding.ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            pooled = self.session.run(None, feed)[0][0].mean(axis=0)   # e5: mean over every token
            rows.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
