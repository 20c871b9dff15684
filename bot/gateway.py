"""What every channel does with an incoming message: one call to Rasa's REST webhook.

The sender id is namespaced by channel (`tg:…`, `zalo:…`, `web:…`). Redelivered messages (same
channel message id) are answered once; floods get a polite message instead of a queue; oversized
messages are refused; when Rasa, the action server or the gateway's store is down the user gets a
Vietnamese apology within `rasa_timeout_s`. Text is cleaned of what cannot reach Rasa (lone
surrogates, control characters); a "/" payload reaches Rasa only when the gateway issued it to this
user (bot/buttons.py), anything else typed with a leading "/" is read as words. With several Rasa
workers, each user has a worker of their own (a stable hash); when it is gone, the next worker
continues the conversation (they share its tracker). Logs and the rate-limit store carry the sender's
pseudonym (an HMAC under the secret key: bot/pseudonyms.py), never the id itself, names, phone
numbers or tokens. A voice note is admitted (`admit`: redelivery, rate limit) before it is downloaded
and transcribed (bot/voice/hook.py), then its words answered as typed words (`answer_words`); the
"Tôi nói chưa đúng" button it offers (`/voice_misheard`, sealed) is answered here, not by Rasa.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Callable

import httpx
from limits import parse_many

from actions.focus import VOICE_INPUT
from bot import health
from bot.buttons import ButtonSeal, looks_sealed
from bot.downloads import ReportFile, ReportFiles
from bot.inbound import as_words, clean_text
from bot.privacy import Pseudonymous, conversations_store
from bot.rasa_client import BotMessage, fold_messages, forget_requested
from bot.pseudonyms import Pseudonyms
from bot.secret_key import derived_key, secret_key
from bot.state import GatewayState, GatewayStore, StateUnavailable
from retrieval.privacy import PrivacyStores, SenderData
from retrieval.settings import Settings

log = logging.getLogger("trolyao.gateway")

APOLOGY = ("Xin lỗi, hệ thống trợ lý đang tạm gián đoạn nên chưa trả lời được. "
           "Bạn vui lòng thử lại sau ít phút.")
RATE_LIMITED = "Bạn gửi nhanh quá, tôi chưa kịp trả lời hết. Bạn vui lòng đợi một chút rồi hỏi tiếp nhé."
EMPTY = "Bạn muốn hỏi gì về chỉ đạo, điều hành của UBND tỉnh? Hãy gõ câu hỏi bằng chữ nhé."
FORGET_FAILED = ("Xin lỗi, tôi chưa xóa hết được dữ liệu của bạn do hệ thống đang gián đoạn. "
                 "Bạn vui lòng gửi lại yêu cầu “xóa dữ liệu của tôi” sau ít phút.")
BUTTON_EXPIRED = "Nút này đã hết hạn. Bạn vui lòng gõ lại câu hỏi nhé."
REDELIVERY_TTL_S = 24 * 3600
# The web page's own buttons (👍/👎 under an answer): fixed payloads anyone may send, since their
# intents are reachable in words too ("👍", "sai rồi").
PAGE_PAYLOADS = {"web": frozenset({"/feedback_positive", "/feedback_negative"})}
# A voice note's answer offers this button (bot/voice/hook.py). Pressed (sealed, as every "/" payload),
# the gateway answers it itself: it concerns how the question reached us, not the dialogue, so Rasa
# needs no intent, training data or rule for it, and a user cannot type their way to it.
VOICE_MISHEARD = "/voice_misheard"
MISHEARD = ("Xin lỗi vì tôi nghe chưa đúng. Bạn vui lòng gõ câu hỏi bằng chữ (có dấu càng tốt) "
            "để tôi trả lời chính xác nhé.")
GATEWAY_REPLIES = {VOICE_MISHEARD: MISHEARD}


@dataclass(frozen=True)
class Admission:
    """What `Gateway.admit` decided for a message before reading it: a redelivery (answered the
    first time), refused (the replies say why), or admitted."""
    sender: str
    redelivered: bool = False
    refusal: list[BotMessage] | None = None

    @property
    def admitted(self) -> bool:
        return not self.redelivered and self.refusal is None


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
                 erase: list[SenderData] | None = None, buttons: ButtonSeal | None = None,
                 pseudonyms: Pseudonyms | None = None, reports: ReportFiles | None = None,
                 inbound: Callable[[str], None] | None = None):
        """``state``: where redelivery keys and rate-limit hits are kept (default: in memory);
        ``stores``: probes of the shared servers Rasa needs, asked before each turn (scale-out mode);
        ``erase``: besides ``state``, what to delete of a user who confirmed "xóa dữ liệu của tôi"
        (default: Rasa's stored conversation where the settings say the stack keeps it);
        ``buttons``: seals the payloads of the buttons sent; ``pseudonyms``: how senders are written in
        logs and stores (both default to keys derived from the configured secret key, so every
        gateway process, and a restarted one, agrees); ``reports``: the reports the dialogue made, for
        the channels to deliver (default: the data directory's folder, links keyed from the secret key);
        ``inbound``: told of each sender that writes (the notifier's reply windows: bot/deliveries.py)."""
        self.settings = settings
        key = secret_key(settings) if buttons is None or pseudonyms is None else ""
        self.pseudonyms = pseudonyms or Pseudonyms(key)
        self.buttons = buttons or ButtonSeal(derived_key(key, "buttons"))
        self.stores = stores or {}
        self.http = http or httpx.AsyncClient(timeout=settings.rasa_timeout_s)
        self.state = state or GatewayState()
        self.erase = [conversations_store(settings)] if erase is None else erase
        self._limits = parse_many(settings.rate_limit)
        self._reports = reports
        self.inbound = inbound

    @property
    def reports(self) -> ReportFiles:
        """Made on first use: most gateways of the tests never deliver a report."""
        if self._reports is None:
            self._reports = ReportFiles(secret_key(self.settings), self.settings.reports_dir,
                                        dt.timedelta(minutes=self.settings.report_link_minutes))
        return self._reports

    def sender(self, channel: str, user_id: str) -> str:
        """The namespaced sender Rasa, the stores and the seals know a user by (`tg:…`, `zalo:…`)."""
        return f"{channel}:{clean_text(user_id)}"

    async def handle(self, channel: str, user_id: str, text: str,
                     message_id: str | None = None) -> list[BotMessage] | None:
        """The replies to send, or None when this message was already handled (a redelivery)."""
        sender = self.sender(channel, user_id)
        try:
            if not self._first_time(channel, sender, message_id):
                return None
            text = clean_text(text or "").strip()
            if text.startswith("/"):
                payload = self.buttons.open(sender, text)
                if payload is None and text in PAGE_PAYLOADS.get(channel, ()):
                    payload = text
                if payload is None and looks_sealed(text):
                    log.info("%s %s button with an invalid seal", channel, self.pseudonyms.of(sender))
                    return [BotMessage(BUTTON_EXPIRED)]
                text = payload if payload is not None else as_words(text)
            refusal = self._unreadable(text)
            if refusal is not None:
                return [refusal]
            if not self._within_limit(channel, sender):
                return [BotMessage(RATE_LIMITED)]
        except StateUnavailable as exc:
            log.warning("%s %s gateway store unavailable: %s", channel, self.pseudonyms.of(sender), exc)
            return [BotMessage(APOLOGY)]
        return await self._converse(sender, text)

    def admit(self, channel: str, user_id: str, message_id: str | None = None) -> Admission:
        """A message that must be read before it is text (a voice note), checked as a typed one is
        (redelivery, the sender's rate limit) before the costly reading, so that neither a redelivery
        nor a flood is transcribed. Its words then go to `answer_words`."""
        sender = self.sender(channel, user_id)
        try:
            if not self._first_time(channel, sender, message_id):
                return Admission(sender, redelivered=True)
            if not self._within_limit(channel, sender):
                return Admission(sender, refusal=[BotMessage(RATE_LIMITED)])
        except StateUnavailable as exc:
            log.warning("%s %s gateway store unavailable: %s", channel, self.pseudonyms.of(sender), exc)
            return Admission(sender, refusal=[BotMessage(APOLOGY)])
        return Admission(sender)

    async def answer_words(self, admission: Admission, text: str, offer: list[dict] | None = None) -> list[BotMessage]:
        """The answer to words read from an admitted message (a transcript): words only, never a
        payload, within the size limit; ``offer``: buttons added to the last reply, sealed for the
        sender like the dialogue's."""
        if not admission.admitted:
            raise ValueError("answer_words needs a message `admit` let through")
        text = as_words(clean_text(text or "").strip())
        refusal = self._unreadable(text)
        # Rasa hears that the words were heard, not typed: a question the documents decline then offers
        # the nearest documents (actions/voice_rescue.py) instead of a bare "cannot answer".
        replies = [refusal] if refusal is not None else \
            await self._converse(admission.sender, text, metadata={"input": VOICE_INPUT})
        if offer:
            replies[-1].buttons = [*replies[-1].buttons, *self.buttons.seal_buttons(admission.sender, offer)]
        return replies

    def _first_time(self, channel: str, sender: str, message_id: str | None) -> bool:
        """False for a redelivery (the message id seen within a day); otherwise the sender's last-message
        time is recorded (the notifier's reply windows)."""
        if message_id is not None and not self.state.first_time(f"{channel}:{message_id}", REDELIVERY_TTL_S):
            log.info("%s %s redelivered message ignored", channel, self.pseudonyms.of(sender))
            return False
        if self.inbound is not None:
            self._note_inbound(sender)
        return True

    def _unreadable(self, text: str) -> BotMessage | None:
        """The reply to a text Rasa must not get: empty, or longer than the limit."""
        if not text:
            return BotMessage(EMPTY)
        if len(text) > self.settings.max_message_chars:
            return BotMessage(too_long(len(text), self.settings.max_message_chars))
        return None

    def _within_limit(self, channel: str, sender: str) -> bool:
        if self.state.hit(self._limits, self.pseudonyms.of(sender)):
            return True
        log.info("%s %s rate limited", channel, self.pseudonyms.of(sender))
        return False

    async def _converse(self, sender: str, text: str, metadata: dict | None = None) -> list[BotMessage]:
        """One turn: a payload the gateway answers itself, else Rasa's replies with their buttons
        sealed for the sender and any document that is not a report file dropped."""
        if text in GATEWAY_REPLIES:
            log.info("%s pressed %s", self.pseudonyms.of(sender), text)
            return [BotMessage(GATEWAY_REPLIES[text])]
        replies = await self.ask_rasa(sender, text, metadata)
        for reply in replies:
            reply.buttons = self.buttons.seal_buttons(sender, reply.buttons)
            if reply.document is not None and ReportFile.of(reply.document) is None:
                log.warning("%s reply named a document that is not a report file: dropped", self.pseudonyms.of(sender))
                reply.document = None
        return replies

    def _note_inbound(self, sender: str) -> None:
        try:
            self.inbound(sender)
        except Exception as exc:   # noqa: BLE001 - a missed window record must not cost the answer
            log.warning("%s last-message time not recorded: %s", self.pseudonyms.of(sender), type(exc).__name__)

    async def ask_rasa(self, sender: str, text: str, metadata: dict | None = None) -> list[BotMessage]:
        started = time.perf_counter()
        down = [name for name, up in (await health.check(self.stores)).items() if not up]
        if down:
            log.warning("%s not sent to rasa: %s down", self.pseudonyms.of(sender), ", ".join(down))
            return [BotMessage(APOLOGY)]
        messages = None
        for rasa_url in rasa_workers(sender, self.settings.rasa_urls):
            try:
                body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
                response = await self.http.post(f"{rasa_url}/webhooks/rest/webhook", json=body)
                response.raise_for_status()
                raw = response.json()
                messages = fold_messages(raw)
                if forget_requested(raw):
                    messages = await self.forget(sender, messages)
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

    async def forget(self, sender: str, replies: list[BotMessage]) -> list[BotMessage]:
        """The user confirmed deleting their data and Rasa has saved the turn: delete their stored
        conversation and rate-limit hits (the action server deleted their feedback). ``replies`` say
        so; when a store fails the user is told to ask again, never that it is done."""
        try:
            removed = await asyncio.to_thread(PrivacyStores(self.erase).forget, sender)
            if isinstance(self.state, SenderData):   # in this thread: the store's connection is ours
                removed += PrivacyStores([Pseudonymous(self.state, self.pseudonyms)]).forget(sender)
        except Exception as exc:   # noqa: BLE001 - any store failing means "not done": say so
            log.warning("%s forget failed: %s", self.pseudonyms.of(sender), type(exc).__name__)
            return [BotMessage(FORGET_FAILED)]
        log.info("%s forgotten: %s", self.pseudonyms.of(sender), ", ".join(map(str, removed)))
        return replies

    async def health(self) -> dict[str, bool]:
        """Every process and server behind this gateway answers its health check (bot/health.py)."""
        return await health.check({**health.process_probes(self.settings, self.http), **self.stores})

    async def aclose(self) -> None:
        await self.http.aclose()
        for probe in self.stores.values():
            await probe.aclose()
