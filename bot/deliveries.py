"""How a notification reaches a user of each channel, outside a conversation turn.

``deliver(user_id, text)`` returns None when sent, else an Undelivered saying why and whether trying
again later may succeed (a network error, the API failing) or not (outside a window, no channel); the
notifier retries the former with backoff and logs the latter. Zalo's
CS messages and Messenger's standard messages are only allowed within a window after the user's
last message (Zalo: 7 days; Messenger: 24 hours); the gateway records when each user last wrote
(FollowStore.wrote), and outside the window nothing is sent. Web chat users have no address to send
to: their notifications wait in the store and are shown by /api/chat at their next message.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from retrieval.follow.store import FollowStore

WINDOWS_S = {"zalo": 7 * 24 * 3600.0, "messenger": 24 * 3600.0}


@dataclass(frozen=True)
class Undelivered:
    reason: str
    retry: bool = False     # a passing failure: the same message may go through later

    def __str__(self) -> str:
        return self.reason


class Delivery(Protocol):
    async def deliver(self, user_id: str, text: str) -> Undelivered | None: ...


class TelegramDelivery:
    """sendMessage through the Telegram channel's bot (plain text: no markup to escape)."""

    def __init__(self, bot, limit: int = 4096):
        self.bot, self.limit = bot, limit

    async def deliver(self, user_id: str, text: str) -> Undelivered | None:
        from telegram.error import BadRequest, Forbidden

        from bot.channels.splitting import split_text

        try:
            for piece in split_text(text, self.limit):
                await self.bot.send_message(int(user_id), piece)
        except (Forbidden, BadRequest) as exc:   # blocked by the user, no such chat: trying again will not help
            return Undelivered(f"Telegram refused it: {type(exc).__name__}")
        except Exception as exc:   # noqa: BLE001 - network errors, timeouts, flood control: later may work
            return Undelivered(f"Telegram did not take it: {type(exc).__name__}", retry=True)
        return None


class WindowedDelivery:
    """A channel that may only write to a user within ``window_s`` of their last message."""

    def __init__(self, channel: str, send_text: Callable[[str, str], Awaitable[bool]], store: FollowStore,
                 window_s: float, clock: Callable[[], float] = time.time, limit: int = 2000):
        self.channel, self.send_text, self.store, self.window_s, self.clock = \
            channel, send_text, store, window_s, clock
        self.limit = limit

    async def deliver(self, user_id: str, text: str) -> Undelivered | None:
        last = self.store.last_wrote(f"{self.channel}:{user_id}")
        if last is None or self.clock() - last > self.window_s:
            hours = self.window_s / 3600
            return Undelivered(f"outside {self.channel}'s free-reply window (the user has not written in the "
                               f"last {hours:.0f} h)")
        from bot.channels.splitting import split_text

        for piece in split_text(text, self.limit):
            if not await self.send_text(user_id, piece):
                return Undelivered(f"{self.channel}'s API refused it", retry=True)
        return None


class WebDelivery:
    def __init__(self, store: FollowStore):
        self.store = store

    async def deliver(self, user_id: str, text: str) -> Undelivered | None:
        self.store.queue(f"web:{user_id}", text)
        return None


def deliveries_for(channels: list, store: FollowStore) -> dict[str, Delivery]:
    """A delivery for the web chat and for each channel the gateway runs."""
    from bot.channels.messenger import MAX_TEXT_CHARS as MESSENGER_CHARS, MessengerChannel
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import MAX_TEXT_CHARS as ZALO_CHARS, ZaloChannel

    found: dict[str, Delivery] = {"web": WebDelivery(store)}
    for channel in channels:
        if isinstance(channel, TelegramChannel):
            found["tg"] = TelegramDelivery(channel.application.bot)
        elif isinstance(channel, ZaloChannel):
            found["zalo"] = WindowedDelivery("zalo", channel.send_text, store, WINDOWS_S["zalo"], limit=ZALO_CHARS)
        elif isinstance(channel, MessengerChannel):
            found["messenger"] = WindowedDelivery("messenger", channel.send_text, store, WINDOWS_S["messenger"],
                                                  limit=MESSENGER_CHARS)
    return found


def window_recorder(store: FollowStore) -> Callable[[str], None]:
    """The gateway's ``inbound`` hook: remember when users of a windowed channel last wrote."""
    def wrote(sender: str) -> None:
        if sender.partition(":")[0] in WINDOWS_S:
            store.wrote(sender)
    return wrote
