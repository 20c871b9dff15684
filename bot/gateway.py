"""What every channel does with an incoming message: one call to Rasa's REST webhook.

The sender id is namespaced by channel (`tg:…`, `zalo:…`, `web:…`). Redelivered messages (same
channel message id) are answered once; floods get a polite message instead of a queue; oversized
messages are refused; when Rasa, the action server or the gateway's store is down the user gets a
Vietnamese apology within `rasa_timeout_s`. With several Rasa workers, each user has a worker of
their own (a stable hash); when it is gone, the next worker continues the conversation (they share
its tracker). Logs and the rate-limit store carry the sender's pseudonym (an HMAC under the secret
key: bot/pseudonyms.py), never the id itself, names, phone numbers or tokens.
"""
from __future__ import annotations

import hashlib
import logging
import time

import httpx
from limits import parse_many

from bot import health
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage, fold_messages
from bot.secret_key import secret_key
from bot.state import GatewayState, GatewayStore, StateUnavailable
from retrieval.settings import Settings

log = logging.getLogger("trolyao.gateway")

APOLOGY = ("Xin lỗi, hệ thống trợ lý đang tạm gián đoạn nên chưa trả lời được. "
           "Bạn vui lòng thử lại sau ít phút.")
RATE_LIMITED = "Bạn gửi nhanh quá, tôi chưa kịp trả lời hết. Bạn vui lòng đợi một chút rồi hỏi tiếp nhé."
EMPTY = "Bạn muốn hỏi gì về chỉ đạo, điều hành của UBND tỉnh? Hãy gõ câu hỏi bằng chữ nhé."
REDELIVERY_TTL_S = 24 * 3600


def too_long(length: int, limit: int) -> str:
    return (f"Tin nhắn dài quá ({length} ký tự). Bạn vui lòng hỏi ngắn gọn hơn, "
            f"dưới {limit} ký tự, mỗi lần một câu hỏi.")


# The worker never received the request, or died while answering it (SIGKILL, a crash): another
# worker may take the turn. A timeout is not one of these: the turn may still be running there.
WORKER_GONE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)


def rasa_workers(sender: str, urls: list[str]) -> list[str]:
    """The Rasa workers to try for ``sender``, theirs first: a stable hash (the same in every gateway
    process and after a restart), so one user's turns go to one worker while it lives; then the
    others in a fixed ring, since any worker can continue any conversation."""
    first = int(hashlib.sha256(sender.encode()).hexdigest()[:8], 16) % len(urls)
    return urls[first:] + urls[:first]


def rasa_worker(sender: str, urls: list[str]) -> str:
    return rasa_workers(sender, urls)[0]


class Gateway:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None,
                 state: GatewayStore | None = None, stores: dict[str, health.Probe] | None = None,
                 pseudonyms: Pseudonyms | None = None):
        """``state``: where redelivery keys and rate-limit hits are kept (default: in memory);
        ``stores``: probes of the shared servers Rasa needs, asked before each turn (scale-out mode);
        ``pseudonyms``: how senders are written in logs and stores (default: under the configured
        secret key, so every gateway process counts a sender under one name)."""
        self.settings = settings
        self.pseudonyms = pseudonyms or Pseudonyms(secret_key(settings))
        self.stores = stores or {}
        self.http = http or httpx.AsyncClient(timeout=settings.rasa_timeout_s)
        self.state = state or GatewayState()
        self._limits = parse_many(settings.rate_limit)

    async def handle(self, channel: str, user_id: str, text: str,
                     message_id: str | None = None) -> list[BotMessage] | None:
        """The replies to send, or None when this message was already handled (a redelivery)."""
        sender = f"{channel}:{user_id}"
        try:
            if message_id is not None and not self.state.first_time(f"{channel}:{message_id}", REDELIVERY_TTL_S):
                log.info("%s %s redelivered message ignored", channel, self.pseudonyms.of(sender))
                return None
            text = (text or "").strip()
            if not text:
                return [BotMessage(EMPTY)]
            if len(text) > self.settings.max_message_chars:
                return [BotMessage(too_long(len(text), self.settings.max_message_chars))]
            if not self.state.hit(self._limits, self.pseudonyms.of(sender)):
                log.info("%s %s rate limited", channel, self.pseudonyms.of(sender))
                return [BotMessage(RATE_LIMITED)]
        except StateUnavailable as exc:
            log.warning("%s %s gateway store unavailable: %s", channel, self.pseudonyms.of(sender), exc)
            return [BotMessage(APOLOGY)]
        return await self.ask_rasa(sender, text)

    async def ask_rasa(self, sender: str, text: str) -> list[BotMessage]:
        started = time.perf_counter()
        down = [name for name, up in (await health.check(self.stores)).items() if not up]
        if down:
            log.warning("%s not sent to rasa: %s down", self.pseudonyms.of(sender), ", ".join(down))
            return [BotMessage(APOLOGY)]
        messages = None
        for rasa_url in rasa_workers(sender, self.settings.rasa_urls):
            try:
                response = await self.http.post(f"{rasa_url}/webhooks/rest/webhook",
                                                json={"sender": sender, "message": text})
                response.raise_for_status()
                messages = fold_messages(response.json())
                break
            except WORKER_GONE as exc:
                log.warning("%s rasa worker %s gone (%s): trying the next", self.pseudonyms.of(sender), rasa_url,
                            type(exc).__name__)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("%s rasa unavailable: %s", self.pseudonyms.of(sender), type(exc).__name__)
                return [BotMessage(APOLOGY)]
        if messages is None:
            log.warning("%s no rasa worker answered", self.pseudonyms.of(sender))
            return [BotMessage(APOLOGY)]
        if not messages:   # Rasa answered nothing: the action server failed behind it
            log.warning("%s empty reply from rasa (action server down?)", self.pseudonyms.of(sender))
            return [BotMessage(APOLOGY)]
        log.info("%s answered: %d message(s) in %.0f ms", self.pseudonyms.of(sender), len(messages),
                 (time.perf_counter() - started) * 1000)
        return messages

    async def health(self) -> dict[str, bool]:
        """Every process and server behind this gateway answers its health check (bot/health.py)."""
        return await health.check({**health.process_probes(self.settings, self.http), **self.stores})

    async def aclose(self) -> None:
        await self.http.aclose()
        for probe in self.stores.values():
            await probe.aclose()
