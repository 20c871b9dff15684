"""Load the task registry of an index (the tasks are written by the index writer at ingest)."""
from __future__ import annotations

from pathlib import Path

from retrieval.index.hybrid import STORE_FILE
from retrieval.index.layout import current_generation
from retrieval.index.store import PassageStore
from retrieval.tasks.registry import TaskRegistry


def load_registry(root: Path) -> TaskRegistry:
    store = PassageStore(current_generation(root) / STORE_FILE)
    try:
        return TaskRegistry(store.tasks())
    finally:
        store.close()
