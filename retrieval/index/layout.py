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

from retrieval.errors import IndexNotFoundError
from retrieval.filelock import exclusive_lock

CURRENT = "current"
GENERATIONS = "generations"
KEEP_GENERATIONS = 2   # the serving one and its predecessor (a reader may still hold it open)


def default_index_dir() -> Path:
    """``TROLYAO_INDEX``, else ``$XDG_DATA_HOME/trolyao/index`` (``~/.local/share/trolyao/index``)."""
    if os.environ.get("TROLYAO_INDEX"):
        return Path(os.environ["TROLYAO_INDEX"]).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "trolyao" / "index"


def current_generation(root: Path) -> Path:
    if not root.exists():
        raise IndexNotFoundError(f"no index at {root}: run 'trolyao ingest PATH --index {root}' first")
    link = root / CURRENT
    if not link.is_symlink() and not link.exists():
        raise IndexNotFoundError(f"{root} holds no index yet: run 'trolyao ingest PATH --index {root}' first")
    return link.resolve()


def has_index(root: Path) -> bool:
    return (root / CURRENT).exists()


def writer_lock(root: Path):
    """One writer at a time; readers never wait."""
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
    final = work.with_name(f"g-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}")
    os.rename(work, final)
    _fsync_dir(final.parent)
    tmp_link = root / f".{CURRENT}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(GENERATIONS) / final.name, tmp_link)
    os.replace(tmp_link, root / CURRENT)
    _fsync_dir(root)
    _prune(root, keep=final)
    return final


def _prune(root: Path, keep: Path) -> None:
    done = sorted((p for p in (root / GENERATIONS).glob("g-*") if p != keep), key=lambda p: p.name)
    for old in done[: max(0, len(done) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
