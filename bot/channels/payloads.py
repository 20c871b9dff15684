"""Button payloads too long for what a channel's API lets a button carry.

A payload that fits is carried as itself (`p:<payload>`); a longer one stays in a bounded in-memory
table and the button carries its key (`k:<key>`). A key lost to a restart or to expiry decodes to
None: the channel answers "this button has expired", as for a forged one.
"""
from __future__ import annotations

import secrets

from cachetools import TTLCache


class PayloadTable:
    def __init__(self, max_bytes: int, maxsize: int = 50_000, ttl_s: float = 7 * 24 * 3600):
        self.max_bytes = max_bytes
        self._table: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl_s)

    def encode(self, payload: str) -> str:
        data = f"p:{payload}"
        if len(data.encode("utf-8", "surrogatepass")) <= self.max_bytes:
            return data
        key = secrets.token_urlsafe(16)
        self._table[key] = payload
        return f"k:{key}"

    def decode(self, data: object) -> str | None:
        """The payload a button carried, or None (not ours, or its key is gone)."""
        if not isinstance(data, str):
            return None
        if data.startswith("p:"):
            return data[2:]
        if data.startswith("k:"):
            return self._table.get(data[2:])
        return None
