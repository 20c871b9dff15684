"""A stand-in for `bot.gateway.Gateway` in tests whose subject is a channel's edge (signatures,
splitting, keyboards, retries, redelivery): no Rasa behind it, so these tests take a second, not the
minute the dialogue stack needs. Tests about the dialogue go through the real gateway and Rasa."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette

from bot.downloads import ReportFiles
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

    async def handle(self, channel: str, user_id: str, text: str,
                     message_id: str | None = None) -> list[BotMessage] | None:
        seen = message_id is not None and any(c.message_id == message_id for c in self.calls)
        self.calls.append(Handled(channel, user_id, text, message_id))
        return None if seen else self.reply(text)

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
