"""What the index's current generation holds, as the notifier compares it with what it has seen.

A task is known by a stable key (its document or input, lead and action: the same sentence read
again by a re-ingest gives the same key); a bulletin by its input's content hash. The notifier asks
the store which keys are new, so the difference is right whatever generations it missed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from retrieval.answer.documents import DocumentCatalog
from retrieval.index.hybrid import STORE_FILE
from retrieval.index.layout import current_generation
from retrieval.index.store import PassageStore
from retrieval.schema import Digest, Task


def task_key(task: Task) -> str:
    basis = "\x1f".join([task.doc_number or task.source, task.lead or "", " ".join(task.action.split())])
    return hashlib.sha256(basis.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Bulletin:
    """One input of the index: its digest (items with their document numbers), who may read it."""

    key: str            # the input's sha256
    digest: Digest
    access: str


@dataclass(frozen=True)
class Snapshot:
    generation: str
    tasks: dict[str, Task]          # by task_key
    bulletins: dict[str, Bulletin]  # by input sha256


def generation_name(index_dir: Path) -> str | None:
    """The generation ``current`` points at (None: no index yet); cheap enough to poll."""
    link = index_dir / "current"
    return link.resolve().name if link.is_symlink() or link.exists() else None


def snapshot(index_dir: Path) -> Snapshot:
    generation = current_generation(index_dir)
    store = PassageStore(generation / STORE_FILE)
    try:
        tasks = {task_key(t): t for t in store.tasks()}
        bulletins = {}
        for record in store.inputs():
            passages = [p for _, p in store.passages_of_input(record.sha256)]
            digests = DocumentCatalog(passages, []).digests()
            digest = digests[0] if digests else Digest(record.title or Path(record.path).name, None, record.path)
            bulletins[record.sha256] = Bulletin(record.sha256, digest, record.access)
    finally:
        store.close()
    return Snapshot(generation.name, tasks, bulletins)
