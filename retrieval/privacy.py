"""What every store holding a user's data answers to: the right to be forgotten and retention.

Vietnam's Law on Personal Data Protection (91/2025/QH15) asks that a user's data be deleted on
request and kept no longer than needed. Each store that keeps something about a user (Rasa's
conversations, the feedback, the gateway's rate-limit hits) implements ``SenderData`` in its own
module; ``PrivacyStores`` composes them for `trolyao privacy` and the chat's "xóa dữ liệu của tôi".

A user is named as everywhere else: ``channel:id`` (`tg:…`, `zalo:…`, `web:…`), as stored.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from retrieval.errors import InputError

SENDER_RE = re.compile(r"[a-z][a-z0-9_]*:\S.*")


def sender_id(value: str) -> str:
    """``value`` as a sender id (``channel:id``), or an InputError saying what one looks like."""
    value = (value or "").strip()
    if not SENDER_RE.fullmatch(value):
        raise InputError(f"sender must be CHANNEL:ID (tg:123456, zalo:841234, web:abc), not {value!r}")
    return value


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class SenderActivity:
    """A sender a store holds something about, and the time of the newest thing it holds."""

    sender: str
    last_seen: dt.datetime


@runtime_checkable
class SenderData(Protocol):
    """One store's part. ``name`` labels its counts; ``unit`` says what they count."""

    name: str
    unit: str

    def senders(self) -> list[SenderActivity]: ...

    def export(self, sender: str) -> list[dict[str, Any]]:
        """Everything held about ``sender``, as JSON-ready records."""

    def forget(self, sender: str) -> int:
        """Delete everything held about ``sender``; how many records went."""

    def purge(self, before: dt.datetime) -> int:
        """Delete what is older than ``before`` (UTC); how many records went."""


@dataclass(frozen=True)
class Removed:
    """What one store deleted."""

    store: str
    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.store}: {self.count} {self.unit}"


class PrivacyStores:
    """Every store at once, in a fixed order."""

    def __init__(self, stores: list[SenderData]):
        self.stores = stores

    def senders(self) -> list[tuple[SenderActivity, list[str]]]:
        """Each sender held anywhere, newest activity first, with the stores that hold them."""
        newest: dict[str, dt.datetime] = {}
        where: dict[str, list[str]] = {}
        for store in self.stores:
            for activity in store.senders():
                seen = utc(activity.last_seen)
                newest[activity.sender] = max(seen, newest.get(activity.sender, seen))
                where.setdefault(activity.sender, []).append(store.name)
        return [(SenderActivity(sender, seen), where[sender])
                for sender, seen in sorted(newest.items(), key=lambda item: (-item[1].timestamp(), item[0]))]

    def export(self, sender: str) -> dict[str, Any]:
        sender = sender_id(sender)
        return {"sender": sender, "stores": {store.name: store.export(sender) for store in self.stores}}

    def forget(self, sender: str) -> list[Removed]:
        sender = sender_id(sender)
        return [Removed(store.name, store.forget(sender), store.unit) for store in self.stores]

    def purge(self, before: dt.datetime) -> list[Removed]:
        before = utc(before)
        return [Removed(store.name, store.purge(before), store.unit) for store in self.stores]


def retention_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """Data older than this is past retention."""
    if days < 1:
        raise InputError(f"retention must be at least 1 day, not {days}")
    return utc(now) - dt.timedelta(days=days)
