"""Which stores hold users' data in this deployment, and the daily retention.

Each store answers for itself (retrieval.privacy.SenderData, implemented in retrieval/feedback.py,
bot/state.py, bot/redis_state.py, bot/conversations.py, retrieval/follow/store.py); this module only picks them as the
settings say — SQLite files in the data directory, or in the scale-out mode PostgreSQL for the
conversations and Redis for the gateway — and runs `purge` once a day in the gateway.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from typing import Callable

from bot.addresses import PostgresAddress
from bot.periodic import Periodic
from bot.conversations import PostgresConversations, SQLiteConversations
from bot.state import GatewaySenderData, gateway_store
from retrieval.feedback import FeedbackStore
from retrieval.officials import SignIns
from bot.pseudonyms import Pseudonyms
from bot.secret_key import secret_key
from retrieval.privacy import PrivacyStores, Removed, SenderActivity, SenderData, retention_cutoff
from retrieval.settings import Settings

log = logging.getLogger("trolyao.gateway.retention")   # the gateway runs it: its log lines

DAY_S = 24 * 3600.0


def conversations_store(settings: Settings, scaled: bool | None = None) -> SenderData:
    """Rasa's tracker store as the stack runs it (bot/processes.py): PostgreSQL when scaled, else SQLite."""
    if settings.scaled if scaled is None else scaled:
        return PostgresConversations(PostgresAddress.parse(settings.database_url).url)
    return SQLiteConversations(settings.conversations_path)


class Pseudonymous:
    """The gateway's store as SenderData: it keys a user's rate-limit hits by their pseudonym
    (bot/pseudonyms.py), so a user named by their id is looked up under it; it cannot list users
    (pseudonyms do not reverse), and the conversations and feedback list them anyway."""

    def __init__(self, store: GatewaySenderData, pseudonyms: Pseudonyms):
        self.store, self.pseudonyms = store, pseudonyms
        self.name, self.unit = store.name, store.unit

    def senders(self) -> list[SenderActivity]:
        return []

    def export(self, sender: str) -> list[dict]:
        return self.store.export(self.pseudonyms.of(sender))

    def forget(self, sender: str) -> int:
        return self.store.forget(self.pseudonyms.of(sender))

    def purge(self, before: dt.datetime) -> int:
        return self.store.purge(before)


def gateway_state(settings: Settings, scaled: bool | None = None) -> Pseudonymous:
    return Pseudonymous(gateway_store(settings, scaled), Pseudonyms(secret_key(settings)))


def privacy_stores(settings: Settings, scaled: bool | None = None,
                   gateway: SenderData | None = None) -> PrivacyStores:
    """Every store holding users' data: conversations, feedback, the gateway's rate-limit hits, the
    officials' sign-ins (exported and listed; kept by forget: retrieval/officials.py says why), subscriptions
    (with the notifications sent and waiting)."""
    from retrieval.follow.store import FollowStore

    scaled = settings.scaled if scaled is None else scaled
    follows = FollowStore.postgres(settings.database_url) if scaled else FollowStore.sqlite(settings.follows_path)
    return PrivacyStores([conversations_store(settings, scaled), FeedbackStore(settings.feedback_path),
                          gateway if gateway is not None else gateway_state(settings, scaled),
                          SignIns(settings.officials_path), follows])


class Retention:
    """Deletes what is older than ``days``, now and then every ``interval_s``, in the gateway's loop.

    The stores are blocking (SQLite, psycopg, redis-py): each purge runs in a worker thread. A failed
    purge is logged and tried again at the next interval; it never stops the gateway."""

    def __init__(self, stores: PrivacyStores, days: int, interval_s: float = DAY_S,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 sweeps: list[Callable[[], int]] | None = None):
        """``sweeps``: other clean-ups run with each purge (the reports whose links expired)."""
        self.stores = stores
        self.sweeps = sweeps or []
        self.days = days
        self.interval_s = interval_s
        self.clock = clock
        self._periodic = Periodic(self.purge_once, interval_s, log, "retention: purge")
        self.purged = threading.Event()   # set after each purge: for whoever must know one has run

    async def purge_once(self) -> list[Removed]:
        removed = await asyncio.to_thread(self.stores.purge, retention_cutoff(self.clock(), self.days))
        for sweep in self.sweeps:
            await asyncio.to_thread(sweep)
        log.info("retention (%d days): removed %s", self.days, ", ".join(map(str, removed)))
        self.purged.set()
        return removed

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
