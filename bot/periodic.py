"""A job the gateway runs every so often in its event loop (the notifier's passes, the daily purge)."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable


class Periodic:
    """``job`` now, then every ``interval_s``; a failing run is logged with its traceback and the next
    one comes at its time (a store down now may be back then)."""

    def __init__(self, job: Callable[[], Awaitable[object]], interval_s: float, log: logging.Logger, what: str):
        self.job, self.interval_s, self.log, self.what = job, interval_s, log, what
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self.job()
            except Exception:   # noqa: BLE001 - a bad run must not stop the next one
                self.log.exception("%s failed, next in %.0f s", self.what, self.interval_s)
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
