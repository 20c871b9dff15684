"""One sender's messages answered in the order they came, different senders' at the same time;
webhook channels' background answering built on it."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable


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


class BackgroundAnswers:
    """Webhook channels acknowledge at once and answer in the background: each sender's jobs run in
    the order they were spawned, a failing job gets ``on_failure(user)`` (the apology) and its
    traceback logged, and ``drain`` lets the jobs in flight finish when the channel stops."""

    def __init__(self, log: logging.Logger, channel: str, who: Callable[[str], str],
                 on_failure: Callable[[str], Awaitable[object]]):
        self.log, self.channel, self.who, self.on_failure = log, channel, who, on_failure
        self._senders = KeyedLock()
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, user_id: str, job: Awaitable[object]) -> None:
        async def in_order() -> None:
            async with self._senders.hold(user_id):    # tasks start in the order they were made
                try:
                    await job
                except Exception:   # the user gets the apology, not silence; the log gets the traceback
                    self.log.exception("%s %s: answering a message failed", self.channel, self.who(user_id))
                    await self.on_failure(user_id)

        task = asyncio.get_running_loop().create_task(in_order())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.log.error("%s: answering a message failed: %s", self.channel, type(exc).__name__,
                           exc_info=(type(exc), exc, exc.__traceback__))

    async def drain(self, timeout_s: float) -> None:
        """Let the jobs in flight finish (within ``timeout_s``); cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
