"""The retrieval core as one object: load the index once, embed lazily, search and ask.

The CLI and the action server both hold one ``Retrieval`` for their whole life, so the index,
the term statistics and the model are loaded once, not per request.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from retrieval.errors import ModelMismatchError
from retrieval.index.hybrid import HybridIndex
from retrieval.schema import Answer, Hit
from retrieval.search.searcher import SearchFilters, Searcher
from retrieval.settings import Settings


class Retrieval:
    def __init__(self, index_dir: Path, model: str | None = None, embedder=None):
        """``embedder``: an already loaded one (a reloaded index keeps its model; tests pass a fast
        one); it must be the model the index was built with."""
        self.index = HybridIndex.load(index_dir)
        if embedder is not None:
            if embedder.name != self.index.manifest.model:
                raise ModelMismatchError(f"index at {self.index.root} was built with model "
                                         f"{self.index.manifest.model!r}, not {embedder.name!r}")
            self.model = model or embedder.name
        else:
            self.model = self._model_for(model)
        self._embedder = embedder

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
        if self._embedder is None:
            from retrieval.embedding.embedder import load_embedder

            self._embedder = load_embedder(self.model)
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.index, self.embedder)

    @cached_property
    def answerer(self):
        from retrieval.answer.extractive import Answerer

        return Answerer(self.searcher)

    @cached_property
    def tasks(self):
        """The task registry of this index ("Ai chủ trì …?", "Sở Y tế được giao những việc gì?")."""
        from retrieval.tasks.registry import TaskRegistry

        return TaskRegistry(self.index.store.tasks())

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        return self.searcher.search(query, k, filters)

    def ask(self, question: str, doc: str | None = None, source: str | None = None) -> Answer:
        return self.answerer.ask(question, doc=doc, source=source)

    @cached_property
    def documents(self):
        """The documents and bulletins of this index ("Công văn 704 nói gì?", "tuần này có gì mới?")."""
        from retrieval.answer.documents import DocumentCatalog

        return DocumentCatalog(self.index.passages, self.index.document_numbers)

    def warm_up(self) -> None:
        """Load the model and statistics now (servers call this before taking requests)."""
        self.embedder.encode_queries(["khởi động"])
        _ = self.answerer
