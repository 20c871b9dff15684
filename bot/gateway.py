"""What every channel does with an incoming message: one call to Rasa's REST webhook.

The sender id is namespaced by channel (`tg:…`, `zalo:…`, `web:…`). Redelivered messages (same
channel message id) are answered once; floods get a polite message instead of a queue; oversized
messages are refused; when Rasa or the action server is down the user gets a Vietnamese apology
within `rasa_timeout_s`. Logs carry a hash of the sender, never names, phone numbers or tokens.
"""
from __future__ import annotations

import hashlib
import logging
import time

import httpx
from limits import parse_many

from bot.rasa_client import BotMessage, fold_messages
from bot.state import GatewayState
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


def sender_hash(sender: str) -> str:
    return hashlib.sha256(sender.encode()).hexdigest()[:12]


def rasa_worker(sender: str, urls: list[str]) -> str:
    """The Rasa worker of ``sender``: a stable hash (the same in every gateway process and after a
    restart), so one user's turns go to one worker while it lives; any worker could continue."""
    return urls[int(hashlib.sha256(sender.encode()).hexdigest()[:8], 16) % len(urls)]


class Gateway:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None,
                 state: GatewayState | None = None):
        """``state``: where redelivery keys and rate-limit hits are kept (default: in memory)."""
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=settings.rasa_timeout_s)
        self.state = state or GatewayState()
        self._limits = parse_many(settings.rate_limit)

    async def handle(self, channel: str, user_id: str, text: str,
                     message_id: str | None = None) -> list[BotMessage] | None:
        """The replies to send, or None when this message was already handled (a redelivery)."""
        sender = f"{channel}:{user_id}"
        if message_id is not None:
            if not self.state.first_time(f"{channel}:{message_id}", REDELIVERY_TTL_S):
                log.info("%s %s redelivered message ignored", channel, sender_hash(sender))
                return None
        text = (text or "").strip()
        if not text:
            return [BotMessage(EMPTY)]
        if len(text) > self.settings.max_message_chars:
            return [BotMessage(too_long(len(text), self.settings.max_message_chars))]
        if not self.state.hit(self._limits, sender):
            log.info("%s %s rate limited", channel, sender_hash(sender))
            return [BotMessage(RATE_LIMITED)]
        return await self.ask_rasa(sender, text)

    async def ask_rasa(self, sender: str, text: str) -> list[BotMessage]:
        started = time.perf_counter()
        try:
            rasa_url = rasa_worker(sender, self.settings.rasa_urls)
            response = await self.http.post(f"{rasa_url}/webhooks/rest/webhook",
                                            json={"sender": sender, "message": text})
            response.raise_for_status()
            messages = fold_messages(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("%s rasa unavailable: %s", sender_hash(sender), type(exc).__name__)
            return [BotMessage(APOLOGY)]
        if not messages:   # Rasa answered nothing: the action server failed behind it
            log.warning("%s empty reply from rasa (action server down?)", sender_hash(sender))
            return [BotMessage(APOLOGY)]
        log.info("%s answered: %d message(s) in %.0f ms", sender_hash(sender), len(messages),
                 (time.perf_counter() - started) * 1000)
        return messages

    async def health(self) -> dict[str, bool]:
        """Rasa (each worker) and the action server answer their health checks (within 2 s each)."""
        async def ok(url: str) -> bool:
            try:
                return (await self.http.get(url, timeout=2.0)).status_code == 200
            except httpx.HTTPError:
                return False

        urls = self.settings.rasa_urls
        rasa = {"rasa": await ok(f"{urls[0]}/status")} if len(urls) == 1 else \
            {f"rasa-{number}": await ok(f"{url}/status") for number, url in enumerate(urls, start=1)}
        return {**rasa, "actions": await ok(f"{self.settings.action_server_url}/health")}

    async def aclose(self) -> None:
        await self.http.aclose()
