"""Rasa's Redis lock store with atomic ticket updates (runs inside .venv-rasa, like the components).

Rasa 3.6's RedisLockStore changes a conversation's ticket lock by GET, change in Python, SET. Two
Rasa processes receiving one user's messages at the same moment both read "no lock", both issue
ticket 0 and both process at once: each starts a session and appends its own turn, and the later
session hides the earlier turn (the upstream review called issue_ticket "far from atomic"; the fix,
a concurrent lock store, went to Rasa Pro only). Here every read-change-write of a lock runs in a
Redis transaction (WATCH/MULTI, retried on conflict), so one worker's turn ends before the other's
begins. Selected in the generated endpoints.yml: `lock_store: type: nlu.locks.AtomicRedisLockStore`.
"""
from __future__ import annotations

import json
from typing import Callable, Optional, Tuple, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
Change = Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]


class AtomicRedisLockStore(RedisLockStore):
    """The keys of Rasa's `type: redis` lock store (url, port, db, password, ...), atomically."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _change(self, conversation_id: str, change: Change) -> T:
        """Apply ``change`` (old lock → new lock or None to delete, result) atomically."""
        key = self.key_prefix + conversation_id

        def transaction(pipe) -> T:
            raw = pipe.get(key)     # watched: a concurrent write makes EXEC fail and this run again
            lock, result = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())
            return result

        return self.red.transaction(transaction, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:    # as Rasa's: the channel turns a LockError into its error reply
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: (self._without(lock, ticket_number), None))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Drop the ticket, and the lock when nobody waits: in one step, so that a ticket issued in
        between by another worker is never deleted with the lock."""
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            lock = self._without(lock, ticket_number)
            return (lock if lock is not None and lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)

    @staticmethod
    def _without(lock: Optional[TicketLock], ticket_number: int) -> Optional[TicketLock]:
        if lock is not None:
            lock.remove_ticket_for(ticket_number)
        return lock
