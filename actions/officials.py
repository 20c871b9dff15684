"""Who is an official: the users who also read internal documents (TROLYAO_OFFICIALS).

A user is named as everywhere (`tg:<chat id>`, `zalo:<user id>`, `web:<id>`). The setting is a
comma-separated list, or the path of a file with one id per line (`#` starts a comment), re-read when
it changes, so an official is added or removed without restarting the action server. Everyone not
listed is a citizen: the safe default when the list is missing or unreadable.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("trolyao.actions")


class Officials:
    def __init__(self, setting: str | None = None):
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
        return "official" if sender and sender in self._current() else "public"

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
