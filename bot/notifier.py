"""The gateway's notifier: new tasks to the followers of an agency, new bulletins to the followers of
"tin mới", deadline reminders to the followers of a task's lead agency.

Every ``every_s`` (default 30 s, so a new generation reaches followers within a minute) it looks at
the index's ``current`` generation; the store tells which tasks and bulletins it has not seen
(retrieval/follow/news.py), so a missed generation, a restart or a re-ingest of the same page
changes nothing. Each notification is claimed in the store before it is sent: two gateway processes
send it once; it is held in the store's retries until it is settled, so a passing failure (a network
error, the channel's API failing) or a process dying between the claim and the send leaves it to be
sent again (with backoff, after a lease) by whichever process takes it first: at least once, never twice
at once. Reminders are checked on each pass against the day (``TROLYAO_TODAY`` pins it), for
each day count in ``TROLYAO_REMIND_DAYS``. A follower sees only what their audience may read
(a citizen never an internal document's task). The first pass over an index only records what it
holds: followers hear of what comes after they could have followed.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.deliveries import Delivery, Undelivered
from bot.periodic import Periodic
from retrieval.follow import messages
from retrieval.follow.news import Snapshot, generation_name, snapshot
from retrieval.follow.store import NEWS, FollowStore
from retrieval.schema import Task, readable_by
from retrieval.tasks.registry import TaskRegistry

log = logging.getLogger("trolyao.gateway.notifier")
RETRY_BACKOFF_S = 60.0     # a passing failure is tried again after 1, 2, 4, 8 minutes …
RETRY_ATTEMPTS = 5         # … then given up on (logged)
RETRY_LEASE_S = 120.0      # a retry taken by one process is left alone by the others meanwhile


@dataclass(frozen=True)
class Notification:
    sender: str
    kind: str       # "tasks" / "bulletin" / "remind<N>"
    item: str       # what it is about: the claim's key with sender and kind
    text: str


@dataclass
class PassReport:
    """One pass: what was sent, and what was not (with why)."""

    sent: list[Notification] = field(default_factory=list)
    not_sent: list[tuple[Notification, str]] = field(default_factory=list)
    to_retry: list[tuple[Notification, str]] = field(default_factory=list)   # a passing failure: later


@dataclass(frozen=True)
class _View:
    """The tasks one audience may read: all of them, the new ones, and each one's key."""

    all: TaskRegistry
    fresh: TaskRegistry
    key: dict[int, str]   # id(task) → task key

    @classmethod
    def of(cls, current: Snapshot, audience: str, new_keys: set[str]) -> _View:
        visible = {k: t for k, t in current.tasks.items() if readable_by(t.access, audience)}
        return cls(TaskRegistry(visible.values()), TaskRegistry(visible[k] for k in sorted(new_keys) if k in visible),
                   {id(t): k for k, t in visible.items()})


def _days_left(task: Task, today: str) -> int | None:
    if not task.deadline_date:
        return None
    try:
        return messages.days_until(task.deadline_date, today)
    except ValueError:   # a deadline the extractor could not make a date of: no reminder, no crash
        return None


class Notifier:
    def __init__(self, index_dir: Path, store: FollowStore, deliveries: dict[str, Delivery],
                 audience: Callable[[str], str], today: Callable[[], str], remind_days: list[int],
                 every_s: float = 30.0):
        self.index_dir, self.store, self.deliveries = index_dir, store, deliveries
        self.audience, self.today, self.remind_days, self.every_s = audience, today, remind_days, every_s
        self._snapshot: Snapshot | None = None
        self._periodic: Periodic | None = None
        self.passed = threading.Event()   # set after each pass: for whoever must know one has run

    # -- what to send ------------------------------------------------------------------------
    def _current(self) -> Snapshot | None:
        name = generation_name(self.index_dir)
        if name is None:
            return None
        if self._snapshot is None or self._snapshot.generation != name:
            self._snapshot = snapshot(self.index_dir)
        return self._snapshot

    def plan(self) -> list[Notification]:
        """The notifications this pass owes (blocking: SQLite/PostgreSQL and the index's store)."""
        current = self._current()
        if current is None:
            return []
        # The baseline mark goes in after the index's content: a process that finds it knows every
        # older task is recorded; two processes taking their first look together both send nothing.
        index = str(self.index_dir.resolve())
        first = not self.store.is_known("baseline", index)
        new_tasks = self.store.unknown("task", current.tasks)
        new_bulletins = self.store.unknown("bulletin", current.bulletins)
        if first:
            self.store.unknown("baseline", [index])
            log.info("notifier: first look at %s: %d tasks, %d inputs recorded as known", current.generation,
                     len(current.tasks), len(current.bulletins))
            new_tasks, new_bulletins = set(), set()
        planned: list[Notification] = []
        today = self.today()
        views: dict[str, _View] = {}   # per audience, built once a pass (two at most)
        for follow in self.store.followers():
            audience = self.audience(follow.sender)
            if follow.topic == NEWS:
                for key in sorted(new_bulletins):
                    bulletin = current.bulletins[key]
                    if readable_by(bulletin.access, audience):
                        planned.append(Notification(follow.sender, "bulletin", key,
                                                    messages.bulletin_digest(bulletin.digest)))
                continue
            if audience not in views:
                views[audience] = _View.of(current, audience, new_tasks)
            view = views[audience]
            fresh = view.fresh.find(agency=follow.topic)
            if fresh:
                keys = sorted(view.key[id(m.task)] for m in fresh)
                planned.append(Notification(follow.sender, "tasks", f"{follow.topic}|{','.join(keys)}",
                                            messages.new_tasks(follow.topic, fresh)))
            for match in view.all.find(agency=follow.topic, roles=("lead",)):
                days = _days_left(match.task, today)
                if days is not None and days in self.remind_days:
                    planned.append(Notification(follow.sender, f"remind{days}", view.key[id(match.task)],
                                                messages.reminder(follow.topic, match.task, days)))
        return planned

    # -- sending -----------------------------------------------------------------------------
    async def run_once(self) -> PassReport:
        report = PassReport()
        retries = [Notification(*due) for due in await asyncio.to_thread(self.store.take_due, RETRY_LEASE_S)]
        for note in retries:
            await self._send(note, report)
        for note in await asyncio.to_thread(self.plan):
            if not await asyncio.to_thread(self.store.claim, note.sender, note.kind, note.item):
                continue   # another process, or an earlier pass, has it
            # Held until settled: a crash between the claim and the send leaves it to be sent later.
            await asyncio.to_thread(self.store.hold, note.sender, note.kind, note.item, note.text, RETRY_LEASE_S)
            await self._send(note, report)
        if report.sent:
            log.info("notifier: %d notification(s) sent", len(report.sent))
        self.passed.set()
        return report

    async def _send(self, note: Notification, report: PassReport) -> None:
        """Send a claimed notification; a passing failure is retried later with backoff (at least once
        in the end, unless it keeps failing RETRY_ATTEMPTS times), any other is logged and dropped."""
        channel, _, user_id = note.sender.partition(":")
        delivery = self.deliveries.get(channel)
        failed = Undelivered("channel not configured") if delivery is None else await delivery.deliver(user_id, note.text)
        if failed is None:
            report.sent.append(note)
            await asyncio.to_thread(self.store.settled, note.sender, note.kind, note.item)
            return
        if failed.retry:
            attempts = await asyncio.to_thread(self.store.retry_later, note.sender, note.kind, note.item, note.text,
                                               RETRY_BACKOFF_S)
            if attempts < RETRY_ATTEMPTS:
                report.to_retry.append((note, failed.reason))
                log.warning("notifier: %s notification to a %s user not sent yet (%s): retried later",
                            note.kind, channel, failed)
                return
            await asyncio.to_thread(self.store.settled, note.sender, note.kind, note.item)
            failed = Undelivered(f"{failed.reason}, {attempts} times: given up")
        report.not_sent.append((note, failed.reason))
        log.warning("notifier: %s notification to a %s user not sent: %s", note.kind, channel, failed)

    def start(self) -> None:
        self._periodic = Periodic(self.run_once, self.every_s, log, "notifier: pass")
        self._periodic.start()

    async def stop(self) -> None:
        if self._periodic is not None:
            await self._periodic.stop()


def notifier_for(settings, store: FollowStore, channels: list) -> Notifier:
    """The deployment's notifier: its index, audience (TROLYAO_OFFICIALS), day and reminder days."""
    import datetime as dt

    from actions.officials import officials_for
    from bot.deliveries import deliveries_for

    pinned = settings.today
    return Notifier(settings.index_dir, store, deliveries_for(channels, store), officials_for(settings).audience,
                    lambda: (pinned or dt.date.today()).isoformat(), settings.reminder_days, settings.notify_every_s)
