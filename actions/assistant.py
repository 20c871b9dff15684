"""What the actions answer from, given to them at construction (no module state).

``Assistant`` lives as long as the action server: the index (reloaded when a new generation is
published), the feedback store and the clock. Each turn takes one ``Core`` from it, so one answer
never mixes two index generations.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from actions.officials import Officials
from retrieval.errors import ModelMismatchError
from retrieval.feedback import FeedbackRecord, FeedbackStore
from retrieval.follow.store import FollowStore
from retrieval.schema import AUDIENCES
from retrieval.service import Retrieval

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Core:
    """One turn's view: the index it answers from, where feedback goes, the day it calls today."""

    retrieval: Retrieval
    feedback: FeedbackStore | None
    today: str

    def record(self, record: FeedbackRecord) -> None:
        """Store a rating or an abstention; feedback must never break an answer."""
        if self.feedback is None:
            return
        try:
            self.feedback.record(record)
        except Exception:
            log.exception("could not record %s feedback", record.rating)


class LiveRetrieval:
    """The Retrieval of an index folder's current generation: a re-ingest (new `current` link) is
    picked up without restarting the server, keeping the loaded model.

    By default the request that sees the new link loads it. A server passes ``background=True``: the
    new generation is then loaded and warmed (``audiences``' views: searcher, documents, tasks; seconds
    at 10⁵ passages) in a thread while the one held keeps answering, and swapped in when ready, so no
    question waits for a re-ingest. A generation that fails to load is logged and not tried again; the
    held one goes on answering."""

    def __init__(self, index_dir: Path, model: str | None = None, embedder=None,
                 background: bool = False, audiences: Iterable[str] = ()):
        """``embedder``: one already loaded (tests give a fast one); else the index's model, loaded
        on first use."""
        self.index_dir = index_dir
        self.model = model
        self._embedder = embedder
        self._background = background
        self._audiences = tuple(audiences)
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)   # notified when a background load ends
        self._held: Retrieval | None = None
        self._generation: str | None = None
        self._loading: str | None = None   # the generation a background load is reading
        self._failed: str | None = None    # the last generation that failed to load

    def _current_generation(self) -> str:
        current = self.index_dir / "current"
        return os.readlink(current) if current.is_symlink() else str(current.resolve())

    def _load(self, previous: Retrieval | None) -> Retrieval:
        kept = previous.embedder if previous is not None and previous.embedder_loaded else self._embedder
        try:
            return Retrieval(self.index_dir, self.model, embedder=kept)
        except ModelMismatchError:
            if kept is None:
                raise
            return Retrieval(self.index_dir, self.model)   # the new generation was built with another model

    def __call__(self) -> Retrieval:
        generation = self._current_generation()
        with self._lock:
            if self._held is None or (self._generation != generation and not self._background):
                fresh = self._load(self._held)
                self._held, self._generation = fresh, generation
                log.info("index loaded: %s (%d passages)", generation, len(fresh.index))
            elif self._loading is None and generation not in (self._generation, self._failed):
                self._loading = generation   # one load at a time: a newer link is seen after it ends
                threading.Thread(target=self._load_in_background, args=(generation, self._held),
                                 name="index-load", daemon=True).start()
            return self._held

    def _load_in_background(self, generation: str, previous: Retrieval) -> None:
        try:
            fresh = self._load(previous)
            fresh.warm_up(self._audiences)
        except Exception:   # a damaged or half-copied generation must not stop the held one answering
            log.exception("index %s could not be loaded; still answering from %s", generation, self._generation)
            fresh = None
        with self._lock:
            if fresh is None:
                self._failed = generation
            else:
                self._held, self._generation = fresh, generation
                log.info("index loaded in the background: %s (%d passages)", generation, len(fresh.index))
            self._loading = None
            self._settled.notify_all()

    def wait_settled(self, timeout: float) -> bool:
        """Wait until no background load runs (False: still loading after ``timeout`` seconds)."""
        with self._lock:
            return self._settled.wait_for(lambda: self._loading is None, timeout)


def pinned_or_real_today(pinned: dt.date | str | None) -> Callable[[], str]:
    """The clock of the dialogue: a pinned date (demos over old bulletins), else the real day."""
    if pinned:
        day = (pinned if isinstance(pinned, dt.date) else dt.date.fromisoformat(pinned)).isoformat()
        return lambda: day     # a wrong pin fails at start, not in the middle of an answer
    return lambda: dt.date.today().isoformat()


@dataclass
class Assistant:
    """The long-lived dependencies of every action."""

    retrieval: Callable[[], Retrieval]
    feedback: FeedbackStore | None = None
    today: Callable[[], str] = pinned_or_real_today(None)
    officials: Officials = field(default_factory=Officials)
    reports: Path | None = None    # where the chat's reports are written for the gateway to deliver
    follows: FollowStore | None = None   # subscriptions (actions/follow_actions.py); None: not offered

    def core(self, sender: str | None = None) -> Core:
        """One turn's core, seeing the index as ``sender`` may: an official everything, a citizen
        (anyone not listed, or no sender) the public inputs only."""
        return Core(self.retrieval().view(self.officials.audience(sender)), self.feedback, self.today())

    def warm_up(self) -> None:
        self.retrieval().warm_up(AUDIENCES)
