"""One sender's messages answered in the order they came, different senders' at the same time."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class KeyedLock:
    """An `asyncio.Lock` per key (a chat, a user): waiters get it first come, first served, and a
    key's lock is dropped once no task holds it or waits for it, so the table stays as small as
    the number of senders being answered."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}   # key → (its lock, tasks using it)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """The keys in use."""
        return len(self._locks)
