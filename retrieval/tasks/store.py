"""Load the task registry of an index (the tasks are written by the index writer at ingest)."""
from __future__ import annotations

from pathlib import Path

from retrieval.index.hybrid import STORE_FILE
from retrieval.index.layout import current_generation
from retrieval.index.store import PassageStore
from retrieval.schema import readable_by
from retrieval.tasks.registry import TaskRegistry


def load_registry(root: Path, audience: str = "public") -> TaskRegistry:
    """The tasks ``audience`` may read (a citizen: those of public inputs; an official: all)."""
    store = PassageStore(current_generation(root) / STORE_FILE)
    try:
        return TaskRegistry([task for task in store.tasks() if readable_by(task.access, audience)])
    finally:
        store.close()
