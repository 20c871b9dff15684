"""The retrieval core as one object: load the index once, embed lazily, search and ask.

The CLI and the action server both hold one ``Retrieval`` for their whole life, so the index,
the term statistics and the model are loaded once, not per request.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.errors import ModelMismatchError
from retrieval.index.hybrid import HybridIndex
from retrieval.schema import AUDIENCES, PUBLIC, Answer, Hit, readable_by
from retrieval.search.searcher import SearchFilters, Searcher
from retrieval.settings import Settings


def _checked_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    return audience


class Retrieval:
    """The index as one audience sees it: ``public`` (citizens: public inputs only, the default) or
    ``official`` (everything). ``view(audience)`` gives the other audience's, sharing what is loaded."""

    def __init__(self, index_dir: Path, model: str | None = None, embedder=None, audience: str = "public"):
        """``embedder``: an already loaded one (a reloaded index keeps its model; tests pass a fast
        one); it must be the model the index was built with."""
        self.audience = _checked_audience(audience)
        self._views: dict[str, Retrieval] = {audience: self}
        self.index = HybridIndex.load(index_dir)
        if embedder is not None:
            if embedder.name != self.index.manifest.model:
                raise ModelMismatchError(f"index at {self.index.root} was built with model "
                                         f"{self.index.manifest.model!r}, not {embedder.name!r}")
            self.model = model or embedder.name
        else:
            self.model = self._model_for(model)
        self._loaded = {"embedder": embedder}   # shared by every view: one model in memory

    def _model_for(self, requested: str | None) -> str:
        """The index decides its model; asking for another one is an error, not a silent mix.

        Returns what ``load_embedder`` needs: a folder, or a hub id.
        """
        from retrieval.embedding.embedder import SentenceTransformerEmbedder, resolve_model

        built_with = self.index.manifest.model
        requested = requested or Settings.load().model
        if requested:
            if SentenceTransformerEmbedder(requested).name != built_with:
                raise ModelMismatchError(
                    f"index at {self.index.root} was built with model {built_with!r}, not {requested!r}: "
                    "search it without --model/TROLYAO_MODEL or re-ingest with that model")
            return requested
        default = resolve_model(None)
        if SentenceTransformerEmbedder(default).name == built_with:
            return default
        if Path(built_with).is_dir() or "/" in built_with:   # a folder or a hub id: loadable as named
            return built_with
        raise ModelMismatchError(
            f"index at {self.index.root} was built with model {built_with!r}, which is not the embedded "
            "default: pass --model with that model's folder")

    @property
    def embedder(self):
        """Loaded on first use: listing tasks or documents needs no model."""
        if self._loaded["embedder"] is None:
            from retrieval.embedding.embedder import load_embedder

            self._loaded["embedder"] = load_embedder(self.model)
        return self._loaded["embedder"]

    @property
    def embedder_loaded(self) -> bool:
        return self._loaded["embedder"] is not None

    def view(self, audience: str) -> "Retrieval":
        """The same index as ``audience`` sees it; the index, the model and the answerer's statistics
        are shared, the visible rows, tasks and documents are the audience's own."""
        if audience not in self._views:
            view = copy.copy(self)
            for name in ("visible", "searcher", "answerer", "tasks", "documents"):   # per-audience caches
                view.__dict__.pop(name, None)
            view.audience = _checked_audience(audience)
            self._views[audience] = view
        return self._views[audience]

    @cached_property
    def visible(self) -> np.ndarray | None:
        """The rows this audience may read (None: all of them)."""
        if self.audience == "official":
            return None
        mask = self.index.passages.access.equal(PUBLIC)
        return None if mask.all() else mask

    def sees(self, access: str) -> bool:
        return readable_by(access, self.audience)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.index, self.embedder, self.visible)

    @cached_property
    def answerer(self):
        from retrieval.answer.extractive import Answerer

        other = next((v for v in self._views.values() if v is not self and "answerer" in v.__dict__), None)
        return other.answerer.through(self.searcher) if other else Answerer(self.searcher)

    @cached_property
    def tasks(self):
        """The task registry of this index ("Ai chủ trì …?", "Sở Y tế được giao những việc gì?")."""
        from retrieval.tasks.registry import TaskRegistry

        return TaskRegistry([task for task in self.index.store.tasks() if self.sees(task.access)])

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        return self.searcher.search(query, k, filters)

    def ask(self, question: str, doc: str | None = None, source: str | None = None) -> Answer:
        return self.answerer.ask(question, doc=doc, source=source)

    @cached_property
    def documents(self):
        """The documents and bulletins of this index ("Công văn 704 nói gì?", "tuần này có gì mới?")."""
        from retrieval.answer.documents import DocumentCatalog

        return DocumentCatalog(self.index.passages, self.searcher.known_numbers, self.visible,
                               outlines=self.index.passages.outlines())

    def warm_up(self, audiences: Iterable[str] = ()) -> None:
        """Load the model and statistics now (servers call this before taking requests), and what the
        first question would otherwise load: the word segmenter (pyvi's CRF, ~0.1 s) and the restorer's
        tables, each row's source and date; and each of ``audiences``' view: its searcher, documents
        and tasks (built once per audience: ~3 s at 10⁵ passages and 5·10⁴ tasks, ``bench --only-lookups``)."""
        from retrieval.index.lexical import load_segmenter

        self.embedder.encode_queries(["khởi động"])
        load_segmenter()
        if self.index.restorer is not None:
            self.index.restorer.restore("khoi dong")
        _ = self.answerer
        _ = self.index.passages.sources, self.index.passages.dates   # what a filtered question compares
        for audience in audiences:
            view = self.view(audience)
            _ = view.answerer, view.documents, view.tasks
