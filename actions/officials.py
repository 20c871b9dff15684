"""Who is an official: the users who also read internal documents (TROLYAO_OFFICIALS).

A user is named as everywhere (`tg:<chat id>`, `zalo:<user id>`, `web:<id>`). The setting is a
comma-separated list, or the path of a file with one id per line (`#` starts a comment), re-read when
it changes, so an official is added or removed without restarting the action server. Everyone not
listed is a citizen: the safe default when the list is missing or unreadable.

Web users sign in through an invitation link instead (`trolyao officials invite`): the gateway
records them in the data directory's sign-ins store (retrieval/officials.py), which is asked on every
turn (one indexed lookup in a file opened read-only), so a sign-in or a revocation counts from the
user's next message. A store that cannot be read makes nobody an official through it.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from retrieval.officials import SignIns

log = logging.getLogger("trolyao.actions")


def officials_for(settings) -> "Officials":
    """The deployment's officials: TROLYAO_OFFICIALS and the web sign-ins (the action server and the
    gateway's notifier must agree on who may read internal documents)."""
    return Officials(settings.officials, SignIns(settings.officials_path))


class Officials:
    def __init__(self, setting: str | None = None, signins: SignIns | None = None):
        self.signins = signins
        self.path: Path | None = None
        self.listed: frozenset[str] = frozenset()
        self._read_at: float | None = None
        value = (setting or "").strip()
        if value and Path(value).expanduser().is_file():
            self.path = Path(value).expanduser()
        else:
            self.listed = frozenset(part.strip() for part in value.split(",") if part.strip())
            for odd in sorted(i for i in self.listed if ":" not in i):   # a mistyped file path, most likely
                log.warning("TROLYAO_OFFICIALS: %r is neither a file nor a user id (channel:id)", odd)

    def audience(self, sender: str | None) -> str:
        """"official" for a listed user, else "public"."""
        if not sender:
            return "public"
        return "official" if sender in self._current() or self._signed_in(sender) else "public"

    def configured(self) -> frozenset[str]:
        """The ids TROLYAO_OFFICIALS names now (its file re-read if changed); sign-ins not included."""
        return self._current()

    def _signed_in(self, sender: str) -> bool:
        if self.signins is None:
            return False
        try:
            return self.signins.is_official(sender)
        except Exception:   # noqa: BLE001 - a broken store grants nothing; the answer still comes
            log.exception("officials' sign-ins store %s unreadable: treating the sender as a citizen",
                          self.signins.path)
            return False

    def _current(self) -> frozenset[str]:
        if self.path is None:
            return self.listed
        try:
            changed = os.stat(self.path).st_mtime
        except OSError:
            if self.listed:
                log.warning("officials file %s is gone: nobody is an official now", self.path)
            self.listed, self._read_at = frozenset(), None
            return self.listed
        if changed != self._read_at:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            self.listed = frozenset(line.split("#", 1)[0].strip() for line in lines) - {""}
            self._read_at = changed
        return self.listed
