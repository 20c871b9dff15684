"""The one retrieval core the action server holds, reloaded when a new index generation is published."""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path

from retrieval.index.layout import default_index_dir
from retrieval.service import Retrieval

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, object] = {}


def _generation(index_dir: Path) -> str:
    current = index_dir / "current"
    return os.readlink(current) if current.is_symlink() else str(current.resolve())


def retrieval() -> Retrieval:
    """The loaded index and model; a re-ingest (new `current` generation) is picked up on the next
    request without restarting the server, keeping the already loaded model."""
    index_dir = default_index_dir()
    generation = _generation(index_dir)
    with _lock:
        held = _state.get("retrieval")
        if held is None or _state.get("generation") != generation:
            fresh = Retrieval(index_dir)
            if isinstance(held, Retrieval) and "embedder" in held.__dict__ and held.model == fresh.model:
                fresh.__dict__["embedder"] = held.embedder
            _state.update(retrieval=fresh, generation=generation)
            log.info("index loaded: %s (%d passages)", generation, len(fresh.index))
            held = fresh
        return held   # type: ignore[return-value]


def today() -> str:
    """ISO date the dialogue treats as today (TROLYAO_TODAY pins it for demos over old bulletins)."""
    return os.environ.get("TROLYAO_TODAY") or dt.date.today().isoformat()


def warm_up() -> None:
    retrieval().warm_up()
