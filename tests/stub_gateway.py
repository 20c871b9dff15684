"""A stand-in for `bot.gateway.Gateway` in tests whose subject is a channel's edge (signatures,
splitting, keyboards, retries, redelivery): no Rasa behind it, so these tests take a second, not the
minute the dialogue stack needs. Tests about the dialogue go through the real gateway and Rasa."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette

from bot.downloads import ReportFiles
from bot.gateway import Admission
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage


@dataclass(frozen=True)
class Handled:
    channel: str
    user_id: str
    text: str
    message_id: str | None


def echo(text: str) -> list[BotMessage]:
    return [BotMessage(f"Bạn hỏi: {text}")]


@dataclass
class StubGateway:
    """`handle` as the gateway's contract has it: the replies, or None for a message id it has seen
    already. `reply(text)` makes the replies (it may raise, as a broken gateway would)."""
    reply: Callable[[str], list[BotMessage]] = echo
    calls: list[Handled] = field(default_factory=list)
    pseudonyms: Pseudonyms = field(default_factory=lambda: Pseudonyms(b"stub gateway key"))
    reports: ReportFiles | None = None    # the reports folder, for replies that carry a document

    admitted: list[Handled] = field(default_factory=list)   # admit() calls (voice notes), text ""
    _seen: set[str] = field(default_factory=set)

    async def handle(self, channel: str, user_id: str, text: str,
                     message_id: str | None = None) -> list[BotMessage] | None:
        self.calls.append(Handled(channel, user_id, text, message_id))
        return None if self._redelivered(message_id) else self.reply(text)

    def admit(self, channel: str, user_id: str, message_id: str | None = None) -> Admission:
        self.admitted.append(Handled(channel, user_id, "", message_id))
        return Admission(f"{channel}:{user_id}", redelivered=self._redelivered(message_id))

    async def answer_words(self, admission: Admission, text: str, offer: list[dict] | None = None) -> list[BotMessage]:
        channel, user_id = admission.sender.split(":", 1)
        self.calls.append(Handled(channel, user_id, text, None))
        replies = self.reply(text)
        replies[-1].buttons = [*replies[-1].buttons, *(offer or [])]
        return replies

    def _redelivered(self, message_id: str | None) -> bool:
        if message_id is None:
            return False
        seen = message_id in self._seen
        self._seen.add(message_id)
        return seen

    async def aclose(self) -> None:
        pass


def channel_app(channel) -> Starlette:
    """The channel's routes on their own, the channel started and stopped as the gateway's app does."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await channel.start()
        try:
            yield
        finally:
            await channel.stop()

    return Starlette(routes=channel.routes(), lifespan=lifespan)
