"""Ingest as a library function: files → parsed documents → passages and tasks → one new index
generation. The CLI (`trolyao ingest`), the tests' fixtures and the benchmarks call it; so will a
portal watcher. Unchanged files (same bytes, same parser) are skipped; only new passages are embedded.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.index.writer import IngestReport

if TYPE_CHECKING:   # the embedder's module pulls in the model stack; callers hand one in
    from retrieval.embedding.embedder import Embedder


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(paths: Iterable[str | Path], index_dir: Path, embedder: "Embedder", *,
           access: str | None = None, progress: bool = False) -> IngestReport:
    """Add ``paths`` (files or folders) to the index at ``index_dir`` and publish a new generation.

    ``access`` (public / internal) is the level of files no access.yaml states (retrieval/ingest/access.py).

    Raises ``InputError`` for a missing or unsupported path before anything is written; one writer at
    a time (the index's lock). The report lists what was added, replaced, unchanged or moved, and the
    agency-looking names the gazetteer does not know (kept as written in the tasks).
    """
    from retrieval.index.layout import writer_lock
    from retrieval.index.writer import IndexInput, IndexWriter
    from retrieval.ingest import expand_paths, load_path, parser_fingerprint
    from retrieval.ingest.access import StatedAccess
    from retrieval.ingest.chunking import chunk_document
    from retrieval.tasks.extract import extract_tasks

    stated = StatedAccess(access)
    # Each file with the path it was found under (its access.yaml files are read up to there); every
    # path and sidecar is checked before anything is written.
    files = {file: stated.of(file, Path(given) if Path(given).is_dir() else file.parent)
             for given in paths for file in expand_paths([given])}   # raises InputError early
    with writer_lock(index_dir):
        writer = IndexWriter(index_dir, lambda: embedder, embedder.name, progress=progress,
                             passage_encoder=getattr(embedder, "passage_encoder", ""))
        for path, level in files.items():
            sha = file_sha256(path)
            if writer.already_indexed(sha, parser_fingerprint(), str(path.resolve()), level):
                continue
            parsed = load_path(path)
            if isinstance(parsed, list):   # JSONL passages carry no document structure to read tasks from
                kind, title, passages, tasks = "jsonl", path.name, parsed, []
            else:
                passages = chunk_document(parsed)
                kind, title, tasks = parsed.kind, parsed.title, extract_tasks(parsed, passages)
            writer.add(IndexInput(str(path.resolve()), sha, kind, title, passages, parser_fingerprint(), tasks, level))
        report = writer.commit()
    report.unknown_agencies = sorted({name for item in writer.added_inputs for t in item.tasks
                                      for name in t.unknown_agencies})
    return report
