"""Build a new index generation from the current one plus new inputs, then publish it.

Old passages are not re-embedded: their vectors are copied from the previous FAISS index, unless the
passage encoder changed (the manifest records it): then every passage is, so one index never mixes
the vectors of two encoders.
BM25 matrices are rebuilt from tokens stored in SQLite (cheap: no re-tokenising either).
Everything happens in a work directory; ``publish`` swaps it in only when complete.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from retrieval.errors import IndexCorruptError, InputError, ModelMismatchError
from retrieval.index import dense as dense_structure
from retrieval.index import layout
from retrieval.index.dense import VECTORS_FILE, DenseSpec
from retrieval.index.hybrid import BM25_FIELDS, DENSE_FILE, DIACRITICS_FILE, STORE_FILE, bm25_dir
from retrieval.index.lexical import fold_tokens, vi_tokens
from retrieval.index.manifest import MANIFEST, InputEntry, Manifest
from retrieval.index.moments import DenseMoments
from retrieval.index.bm25field import compact_wanted, import_bm25s, save_field
from retrieval.index.store import InputRecord, PassageStore
from retrieval.schema import PUBLIC, Passage, Task

log = logging.getLogger(__name__)


@dataclass
class IndexInput:
    """One parsed input file, ready to index."""

    path: str
    sha256: str
    kind: str
    title: str
    passages: list[Passage]
    parser: str = ""   # fingerprint of the ingest code that parsed it
    tasks: list[Task] = field(default_factory=list)
    # None: not stated (--access, access.yaml): a new file is public, a changed one keeps its level,
    # so a plain re-ingest of a whole tree never makes an internal file public.
    access: str | None = None


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)      # paths indexed now
    relabeled: list[str] = field(default_factory=list)  # paths kept as they were, with a new access level
    replaced: list[str] = field(default_factory=list)   # paths whose content changed
    unchanged: list[str] = field(default_factory=list)  # paths already indexed with this content
    moved: list[str] = field(default_factory=list)      # indexed content found under a new path
    passages_added: int = 0
    passages_embedded: int = 0                           # the rest reused their vectors
    passages_total: int = 0
    embed_seconds: float = 0.0
    generation: str | None = None
    unknown_agencies: list[str] = field(default_factory=list)   # in the new tasks, not in the gazetteer


def indexed_text(passage: Passage) -> str:
    """What the dense and lexical fields see: the item heading gives every chunk its topic."""
    if passage.heading and passage.heading not in passage.text:
        return f"{passage.heading}\n{passage.text}"
    return passage.text


class IndexWriter:
    """Collects inputs for one ingest run. Use inside ``layout.writer_lock(root)``."""

    def __init__(self, root: Path, embedder_factory: Callable[[], "Embedder"], model_name: str,  # noqa: F821
                 progress: bool = False, dense: DenseSpec | None = None, passage_encoder: str = ""):
        """``dense``: the dense structure wanted (None: TROLYAO_INDEX_TYPE and its parameters);
        ``passage_encoder``: what encodes passages (Embedder.passage_encoder, "" for the model itself)."""
        if dense is None:
            from retrieval.settings import Settings

            dense = DenseSpec.from_settings(Settings.load())
        self.dense = dense
        self.root = root
        self.embedder_factory = embedder_factory
        self.model_name = model_name
        self.progress = progress
        self.previous = layout.current_generation(root) if layout.has_index(root) else None
        self.manifest = Manifest.load(self.previous) if self.previous else None
        if self.manifest and self.manifest.model != model_name:
            raise ModelMismatchError(
                f"index at {root} was built with model {self.manifest.model!r}, not {model_name!r}: "
                "ingest into another --index or use the same --model")
        self.passage_encoder = passage_encoder
        # Another passage encoder than the previous generation's: every stored passage is re-embedded.
        self.reembed = bool(self.manifest) and self.manifest.passage_encoder != passage_encoder
        self._known = {e.sha256: e for e in (self.manifest.inputs if self.manifest else [])}
        self._pending: list[IndexInput] = []
        self._moves: dict[str, str] = {}   # sha256 → new path of an indexed file that was moved
        self._relabels: dict[str, str] = {}   # sha256 → new access level of an indexed file
        self.report = IngestReport()

    def already_indexed(self, sha256: str, parser: str, path: str, access: str | None = None) -> bool:
        """True when this content was indexed by the same ingest code: nothing to parse or embed.

        A file found under a new path whose old path is gone was moved: the index follows it
        (so a new file later written at the old path does not replace the moved one's passages).
        A file given another access level (stated, not None) keeps its passages and vectors and takes
        the new level.
        """
        if any(i.sha256 == sha256 for i in self._pending):
            return True
        entry = self._known.get(sha256)
        if entry is None or entry.parser != parser:
            return False
        if access is not None and entry.access != access:
            self._relabels[sha256] = access
            self.report.relabeled.append(path)
        if entry.path != path and not Path(entry.path).exists():
            self._moves[sha256] = path
            self.report.moved.append(path)
        else:
            self.report.unchanged.append(path)
        return True

    @property
    def added_inputs(self) -> list[IndexInput]:
        return list(self._pending)

    def add(self, item: IndexInput) -> None:
        if not item.passages:
            raise InputError(f"{item.path}: no text to index")
        self._pending.append(item)

    def commit(self) -> IngestReport:
        report = self.report
        nothing_new = not self._pending and not self._moves and not self._relabels and not self.reembed
        if nothing_new:
            report.passages_total = self.manifest.counts.get("passages", 0) if self.manifest else 0
            if not self._structure_changed():
                return report
        work = layout.new_generation_dir(self.root)
        try:
            if nothing_new:
                self._rebuild_dense(work)
            else:
                self._build(work, report)
            report.generation = layout.publish(self.root, work).name
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)   # the previous generation keeps serving
            raise
        return report

    # -- the build --------------------------------------------------------------------------
    def _build(self, work: Path, report: IngestReport) -> None:
        started = time.perf_counter()
        store = PassageStore(work / STORE_FILE, writable=True)
        vectors = np.zeros((0, 0), dtype=np.float32)
        if self.previous:
            try:
                store.copy_from(self.previous / STORE_FILE)
                vectors = dense_structure.read_vectors(self.previous / DENSE_FILE, self.manifest.dense_spec)
            except IndexCorruptError:
                raise
            except Exception as exc:  # sqlite3/faiss/numpy raise their own types on damaged files
                raise IndexCorruptError(f"index at {self.root} is damaged ({type(exc).__name__}: {exc}); "
                                        "re-ingest into a fresh --index") from exc

        if self.reembed:
            log.info("passage encoder %r → %r: re-embedding the %d stored passages",
                     self.manifest.passage_encoder, self.passage_encoder, len(vectors))
        for sha256, path in self._moves.items():
            store.move_input(sha256, path)
        for sha256, access in self._relabels.items():
            store.set_access(sha256, access)
        keep = np.ones(len(vectors), dtype=bool)
        reusable: dict[str, np.ndarray] = {}   # vectors of replaced passages, by their indexed text
        for item in self._pending:
            # New content at a known path, or known content parsed by older code: the old
            # passages go (their vectors stay at hand), every other input stays as it is.
            for stale in store.inputs_replaced_by(item.path, item.sha256):
                item.access = item.access or stale.access
                if not self.reembed:
                    for row, passage in store.passages_of_input(stale.sha256):
                        reusable[_text_key(passage)] = vectors[row]
                keep[store.remove_input(stale.sha256)] = False
                report.replaced.append(item.path)
        taken = set(store.existing_ids(p.id for item in self._pending for p in item.passages))
        for item in self._pending:
            _claim_ids(item, taken)
        store.renumber()
        vectors = vectors[keep] if len(vectors) else vectors
        kept = store.passages() if self.reembed else []   # row order, as ``vectors``

        new_passages = [p for item in self._pending for p in item.passages]
        # A chunk whose text did not change keeps its vector: re-parsing never re-embeds it.
        to_embed = [p for p in new_passages if _text_key(p) not in reusable]
        t0 = time.perf_counter()
        fresh = self.embedder_factory().encode_passages([indexed_text(p) for p in kept + to_embed],
                                                        progress=self.progress)
        report.embed_seconds = time.perf_counter() - t0
        report.passages_embedded = len(kept) + len(to_embed)
        if kept:
            vectors, fresh = fresh[:len(kept)], fresh[len(kept):]
        reusable.update((_text_key(p), v) for p, v in zip(to_embed, fresh))
        dim = fresh.shape[1] if len(fresh) else vectors.shape[1] if len(vectors) else self.manifest.dimension
        new_vectors = (np.stack([reusable[_text_key(p)] for p in new_passages]) if new_passages
                       else np.zeros((0, dim), dtype=np.float32))

        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for item in self._pending:
            texts = [indexed_text(p) for p in item.passages]
            store.add_input(InputRecord(item.sha256, item.path, item.kind, item.title, len(item.passages), now,
                                        item.parser, item.access or PUBLIC))
            store.add_passages(item.sha256, item.passages, [vi_tokens(t) for t in texts],
                               [fold_tokens(t) for t in texts])
            store.add_tasks(item.sha256, item.tasks)
            report.added.append(item.path)
        store.commit()

        all_vectors = np.vstack([vectors, new_vectors]) if len(vectors) else new_vectors
        if not len(all_vectors):
            raise InputError("nothing left to index")
        spec = self.dense.resolved(len(all_vectors))
        dense_structure.write(work / DENSE_FILE, all_vectors, spec)
        DenseMoments.of(all_vectors).save(work)   # what a large index's search standardises cosines by

        self._write_bm25(store, work)
        self._write_diacritics(store, work)

        inputs = store.inputs()
        report.passages_added = len(new_passages)
        report.passages_total = store.count()
        Manifest(
            model=self.model_name, dimension=dim,
            inputs=[InputEntry(i.path, i.sha256, i.kind, i.passages, i.ingested_at, i.parser, i.access)
                    for i in inputs],
            counts={"inputs": len(inputs), "passages": report.passages_total,
                    "documents": len(store.document_numbers()), "tasks": len(store.tasks())},
            build_time=now, build_seconds=round(time.perf_counter() - started, 3), dense=spec.to_dict(),
            passage_encoder=self.passage_encoder,
        ).save(work)
        store.close()

    def _structure_changed(self) -> bool:
        """The setting asks for another dense structure (or search parameters) than the current one's."""
        if not self.manifest:
            return False
        wanted = self.dense.resolved(self.manifest.counts.get("passages", 0))
        return wanted.differs(self.manifest.dense_spec)

    def _rebuild_dense(self, work: Path) -> None:
        """A generation like the current one with the dense structure the setting asks for: built from
        the stored vectors (nothing re-embedded), every other file copied as it is."""
        started = time.perf_counter()
        built = self.manifest.dense_spec
        spec = self.dense.resolved(self.manifest.counts.get("passages", 0))
        rebuild = spec.needs_rebuild(built)   # else only its search parameters change: the manifest's
        skip = {MANIFEST} | ({DENSE_FILE, VECTORS_FILE} if rebuild else set())
        shutil.copytree(self.previous, work, dirs_exist_ok=True, ignore=lambda _, names: [n for n in names if n in skip])
        if rebuild:
            try:
                vectors = dense_structure.read_vectors(self.previous / DENSE_FILE, built)
            except Exception as exc:   # faiss/numpy raise their own types on damaged files
                raise IndexCorruptError(f"index at {self.root} is damaged ({type(exc).__name__}: {exc}); "
                                        "re-ingest into a fresh --index") from exc
            dense_structure.write(work / DENSE_FILE, vectors, spec)
            log.info("dense structure rebuilt as %s from %d stored vectors", spec.type, len(vectors))
        manifest = Manifest.load(self.previous)
        manifest.dense = spec.to_dict()
        manifest.build_time = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        manifest.build_seconds = round(time.perf_counter() - started, 3)
        manifest.save(work)

    @staticmethod
    def _write_bm25(store: PassageStore, work: Path) -> None:
        bm25s = import_bm25s()
        for f in BM25_FIELDS:
            retriever = bm25s.BM25()
            tokens = list(store.tokens(f))
            retriever.index(tokens, show_progress=False)
            # Above 10^5 passages: weights as impacts and the vocabulary a trie (bm25field.py)
            save_field(retriever, bm25_dir(work, f), compact=compact_wanted(len(tokens)))

    @staticmethod
    def _write_diacritics(store: PassageStore, work: Path) -> None:
        from retrieval.index.diacritics import DiacriticRestorer

        restorer = DiacriticRestorer.fit(indexed_text(p) for p in store.passages())
        (work / DIACRITICS_FILE).write_text(json.dumps(restorer.to_dict(), ensure_ascii=False), encoding="utf-8")


def _claim_ids(item: IndexInput, taken: set[str]) -> None:
    """Make this input's passage ids unique in the index.

    Ids we made from a file name ("note:01:00") get the content hash appended when another
    file of the same name holds them; ids given in JSONL are kept or refused, never rewritten.
    """
    ids = [p.id for p in item.passages]
    clash = [pid for pid in ids if pid in taken] or [pid for pid in set(ids) if ids.count(pid) > 1]
    if clash:
        if item.kind == "jsonl":
            raise InputError(f"{item.path}: passage id {clash[0]!r} is already in the index")
        renamed = {p.id: f"{p.id}~{item.sha256[:8]}" for p in item.passages}
        for p in item.passages:
            p.id = renamed[p.id]
        for task in item.tasks:
            task.passage_id = renamed.get(task.passage_id, task.passage_id)
    taken.update(p.id for p in item.passages)


def _text_key(passage: Passage) -> str:
    return hashlib.sha256(indexed_text(passage).encode("utf-8")).hexdigest()
