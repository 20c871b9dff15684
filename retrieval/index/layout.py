"""Where an index lives on disk, and how a new generation replaces the old one atomically.

    INDEX_DIR/
      current -> generations/g-20260523T101500-ab12cd   (symlink, swapped with os.replace)
      generations/g-…/  manifest.json  store.sqlite  dense.faiss  bm25_vi/  bm25_fold/  diacritics.json
      .lock                                              (held by the one writer)

Readers resolve ``current`` once and read a complete generation; a writer builds a new
generation beside it and swaps the link last, so an interrupted or failed ingest leaves the
previous index serving.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from retrieval.errors import IndexCorruptError, IndexNotFoundError
from retrieval.filelock import exclusive_lock

CURRENT = "current"
GENERATIONS = "generations"


def default_index_dir() -> Path:
    """``TROLYAO_INDEX``, else ``$XDG_DATA_HOME/trolyao/index`` (``~/.local/share/trolyao/index``)."""
    from retrieval.settings import Settings

    return Settings.load().index_dir


def current_generation(root: Path) -> Path:
    if not root.is_dir():
        raise IndexNotFoundError(f"no index at {root}: run 'trolyao ingest PATH --index {root}' first")
    link = root / CURRENT
    if not link.is_symlink() and not link.exists():
        raise IndexNotFoundError(f"{root} holds no index yet: run 'trolyao ingest PATH --index {root}' first")
    target = link.resolve()
    if not target.is_dir():
        raise IndexCorruptError(f"index at {root} points at a missing generation ({target.name}); "
                                "re-ingest into a fresh --index")
    return target


def has_index(root: Path) -> bool:
    """True when an index was published here (even a damaged one: that is an error, not a fresh start)."""
    return (root / CURRENT).is_symlink() or (root / CURRENT).exists()


def writer_lock(root: Path):
    """One writer at a time; readers never wait."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexNotFoundError(f"cannot use {root} as an index directory: {exc.strerror}") from exc
    return exclusive_lock(root / ".lock")


def new_generation_dir(root: Path) -> Path:
    """A fresh work directory for a build; its name marks it unfinished until ``publish``."""
    generations = root / GENERATIONS
    generations.mkdir(parents=True, exist_ok=True)
    for stale in generations.glob("tmp-*"):   # left by an interrupted ingest
        shutil.rmtree(stale, ignore_errors=True)
    work = generations / f"tmp-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    return work


def publish(root: Path, work: Path) -> Path:
    """Give the finished build its final name and point ``current`` at it atomically."""
    previous = (root / CURRENT).resolve() if has_index(root) else None
    final = work.with_name(f"g-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}")
    os.rename(work, final)
    _fsync_dir(final.parent)
    tmp_link = root / f".{CURRENT}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(GENERATIONS) / final.name, tmp_link)
    os.replace(tmp_link, root / CURRENT)
    _fsync_dir(root)
    _prune(root, keep={final, previous})
    return final


def _prune(root: Path, keep: set[Path | None]) -> None:
    """Keep the new generation and the one it replaced (a reader may still be loading it)."""
    for old in (root / GENERATIONS).glob("g-*"):
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
