"""Facebook Messenger (a Page's conversations): the webhook at `/messenger/webhook`, replies through the
Send API.

Verification: Meta first GETs the webhook with ``hub.mode=subscribe``, ``hub.verify_token`` and
``hub.challenge``; the challenge is echoed only when the token is MESSENGER_VERIFY_TOKEN (403
otherwise). Every POST must carry ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw
body under MESSENGER_APP_SECRET, compared in constant time: missing or wrong is 403 and nothing of
the request is processed. (Rasa's own connector checks only the old SHA-1 header, with ``==``.)
Accepted events are answered 200 at once and processed in the background (Meta redelivers what is
not acknowledged within seconds), one sender's messages in the order they came; a redelivered
message (same ``mid``) is answered once.

Replies: ``POST {MESSENGER_API_BASE}/me/messages`` with ``messaging_type: RESPONSE`` and the Page
token in the Authorization header (never in the URL, which httpx logs). ``typing_on`` is sent
first; text is cut under Messenger's 2000-character limit at sentence boundaries; citations are
written out as text; buttons become quick replies (at most 13, titles at most 20 characters;
payloads longer than Messenger carries kept in a table). When titles had to be shortened, or there
are more than 13 buttons, the options are also numbered in the text and a typed number picks one.
Audio attachments (a voice message: MP4/AAC on Meta's CDN) go to the voice hook (`VoiceHook`): by
default the voice flow (bot/voice/hook.py), which transcribes them when voice is on and otherwise
asks the user to type; other attachments get a polite "text only". An answer that fails is logged with its traceback and the
user gets the gateway's apology. Logs carry the sender's pseudonym, never tokens, names or texts.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.ordering import BackgroundAnswers
from bot.channels.payloads import PayloadTable
from bot.channels.rendering import SourceCard, button_payload, button_title, chosen_payload, plain_text, source_cards
from bot.channels.splitting import split_text
from bot.downloads import with_bearer_link
from bot.gateway import APOLOGY, BUTTON_EXPIRED, REDELIVERY_TTL_S, Gateway
from bot.inbound import BadBody, parse_json, read_body
from bot.rasa_client import BotMessage
from bot.state import GatewayState, GatewayStore, StateUnavailable
from bot.voice.hook import TYPE_PLEASE, VoiceFlow, VoiceNote
from retrieval.settings import Settings

log = logging.getLogger("trolyao.messenger")

CHANNEL = "messenger"
WEBHOOK_PATH = "/messenger/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_TEXT_CHARS = 2000              # Messenger's limit for one text message
MAX_QUICK_REPLIES = 13
MAX_TITLE_CHARS = 20               # a quick reply's title
MAX_PAYLOAD_CHARS = 1000           # a quick reply's payload
MAX_CHALLENGE_CHARS = 256          # Meta's hub.challenge is a number; anything longer is not Meta's
BUTTONS_TTL_S = 24 * 3600
TEXT_ONLY = ("Xin lỗi, trợ lý hiện chỉ đọc được câu hỏi gõ bằng chữ, chưa xem được hình ảnh, nhãn dán, "
             "tệp hay vị trí. Bạn vui lòng gõ câu hỏi về chỉ đạo, điều hành của UBND tỉnh nhé.")


def signature(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends with an event."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


# --- the voice hook ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AudioMessage:
    """An audio attachment (a voice message) as Messenger announces it."""
    user_id: str                   # the sender's page-scoped id (PSID)
    url: str                       # where Meta's CDN keeps the audio for a while
    message_id: str | None


# The replies to an audio attachment, or None when it was answered already (a redelivery).
VoiceHook = Callable[[AudioMessage], Awaitable[list[BotMessage] | None]]


async def ask_to_type(audio: AudioMessage) -> list[BotMessage]:
    """A voice hook that asks for the question in writing (what the voice flow answers with voice off)."""
    return [BotMessage(TYPE_PLEASE)]


def flow_hook(flow: VoiceFlow) -> VoiceHook:
    """The voice flow as Messenger's hook (redeliveries by ``mid``, through the gateway)."""
    def answer(audio: AudioMessage) -> Awaitable[list[BotMessage] | None]:
        return flow.answer(VoiceNote(CHANNEL, audio.user_id, audio.message_id, audio.url))
    return answer


# --- rendering ---------------------------------------------------------------------------------------

def card_text(card: SourceCard) -> str:
    """📄 Công văn 704/UBND-KGVX (23/6/2022, UBND tỉnh), then the quote on its own line."""
    text = f"📄 {card.name}" + (f" ({card.details})" if card.details else "")
    return text + (f"\n“{card.quote}”" if card.quote else "")


def short_title(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    title = " ".join(title.split()) or "?"
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Outgoing:
    """One reply as Messenger messages: texts (each within the limit), the quick replies of the
    last one, and the buttons a typed number picks (empty when only tapping makes sense)."""
    texts: list[str]
    quick_replies: list[dict]
    numbered: list[dict]


def render(message: BotMessage, payloads: PayloadTable) -> Outgoing:
    text, cards = source_cards(message)
    if cards:
        text = f"{text}\n\nNguồn:\n" + "\n".join(map(card_text, cards))
    buttons = message.buttons
    fits = len(buttons) <= MAX_QUICK_REPLIES and all(len(button_title(b)) <= MAX_TITLE_CHARS for b in buttons)
    numbered: list[dict] = []
    if buttons and not fits:           # the full titles as a numbered list; the quick replies name numbers
        text = plain_text([BotMessage(text, buttons)]).texts[0]
        numbered = buttons
    texts = split_text(text, MAX_TEXT_CHARS)
    quick: list[dict] = []
    if len(buttons) <= MAX_QUICK_REPLIES:
        for n, button in enumerate(buttons, 1):
            title = button_title(button)
            quick.append({"content_type": "text",
                          "title": short_title(title if fits else f"{n}. {title}"),
                          "payload": payloads.encode(button_payload(button))})
    if quick and not texts:
        texts = ["Mời bạn chọn:"]
    return Outgoing(texts, quick, numbered)


# --- the channel -------------------------------------------------------------------------------------

class MessengerChannel:
    def __init__(self, settings: Settings, gateway: Gateway, http: httpx.AsyncClient | None = None,
                 state: GatewayStore | None = None, voice: VoiceFlow | VoiceHook | None = None):
        """``state`` remembers the ids of attachments answered (redeliveries; default: in memory);
        ``voice`` answers audio attachments: the process's voice flow, or any hook (default: a voice
        flow of this channel's own, from the settings)."""
        if not settings.messenger_enabled:
            raise ValueError(f"{', '.join(settings.messenger_missing)} not set: the Messenger channel cannot start")
        self.settings = settings
        self.gateway = gateway
        self.state = state or GatewayState()
        self._own_voice = voice is None
        flow = VoiceFlow.from_settings(settings, gateway) if voice is None else voice
        self._voice_flow = flow if isinstance(flow, VoiceFlow) else None
        self.voice: VoiceHook = flow_hook(flow) if isinstance(flow, VoiceFlow) else flow
        self._token = settings.messenger_page_access_token.get_secret_value()
        self._app_secret = settings.messenger_app_secret.get_secret_value()
        self._verify_token = settings.messenger_verify_token.get_secret_value().encode()
        self.api_base = settings.messenger_api_base.rstrip("/")
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self.payloads = PayloadTable(MAX_PAYLOAD_CHARS)
        self._buttons: TTLCache = TTLCache(maxsize=100_000, ttl=BUTTONS_TTL_S)   # user → numbered buttons
        self._answers = BackgroundAnswers(log, CHANNEL, self._who,
                                          lambda user_id: self.send_text(user_id, APOLOGY))

    # -- lifecycle ---------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route(WEBHOOK_PATH, self.verify, methods=["GET"]),
                Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        """Let the messages being answered finish (a few seconds at most), then close."""
        await self._answers.drain(self.settings.rasa_timeout_s + 5)
        if self._own_http:
            await self.http.aclose()
        if self._own_voice and self._voice_flow is not None:
            await self._voice_flow.aclose()

    # -- webhook -----------------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """Meta's subscription check: echo the challenge for the right verify token."""
        params = request.query_params
        given = params.get("hub.verify_token", "").encode("utf-8", "surrogatepass")
        challenge = params.get("hub.challenge", "")
        if params.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, self._verify_token) \
                or not 0 < len(challenge) <= MAX_CHALLENGE_CHARS:
            log.warning("messenger webhook verification refused")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        log.info("messenger webhook verified")
        return PlainTextResponse(challenge)

    async def webhook(self, request: Request) -> Response:
        supplied = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        try:
            body = await read_body(request)
        except BadBody as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        expected = signature(body, self._app_secret)
        if not supplied or not hmac.compare_digest(supplied.encode("utf-8", "surrogatepass"), expected.encode()):
            log.warning("messenger webhook refused: %s", "wrong signature" if supplied else "no signature")
            return JSONResponse({"error": "invalid signature"}, status_code=403)
        try:
            event = parse_json(body)
        except BadBody as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        for item in _messaging(event):
            self.accept(item)
        return PlainTextResponse("EVENT_RECEIVED")

    def accept(self, item: dict) -> None:
        """Start answering one verified messaging item in the background, or ignore it."""
        sender = item.get("sender") if isinstance(item.get("sender"), dict) else {}
        user_id = _id(sender.get("id"))
        message = item.get("message") if isinstance(item.get("message"), dict) else None
        postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
        if not user_id or (message is None and postback is None) or (message or {}).get("is_echo"):
            return                     # deliveries, reads, reactions, our own messages echoed
        if postback is not None:       # a button of the Page's menu: its payload, else its title
            job = self._answer_button(user_id, postback.get("payload"), _id(postback.get("mid")),
                                      fallback=postback.get("title"))
        else:
            job = self._answer_message(user_id, message)
        if job is not None:
            self._answers.spawn(user_id, job)

    def _answer_message(self, user_id: str, message: dict):
        mid = _id(message.get("mid"))
        quick = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else None
        if quick is not None:
            return self._answer_button(user_id, quick.get("payload"), mid)
        text = message.get("text")
        if isinstance(text, str) and text:
            return self._answer_typed(user_id, text, mid)
        attachments = message.get("attachments") if isinstance(message.get("attachments"), list) else []
        audio = next((a for a in attachments if isinstance(a, dict) and a.get("type") == "audio"), None)
        if audio is not None:          # redeliveries: the voice flow asks the gateway, as for text
            payload = audio.get("payload") if isinstance(audio.get("payload"), dict) else {}
            url = payload.get("url") if isinstance(payload.get("url"), str) else ""
            return self._answer_audio(AudioMessage(user_id, url, mid))
        if mid is not None and not self._first_time(f"{CHANNEL}-other:{mid}"):
            log.info("messenger %s redelivered attachment ignored", self._who(user_id))
            return None
        return self.send_replies(user_id, [BotMessage(TEXT_ONLY)])

    def _first_time(self, key: str) -> bool:
        try:
            return self.state.first_time(key, REDELIVERY_TTL_S)
        except StateUnavailable as exc:   # answering twice beats not answering
            log.warning("messenger: redelivery store unavailable: %s", exc)
            return True

    # -- answering ---------------------------------------------------------------------------------

    async def _answer_text(self, user_id: str, text: str, mid: str | None) -> None:
        await self.typing(user_id)
        await self._send_answer(user_id, await self.gateway.handle(CHANNEL, user_id, text, message_id=mid))

    async def _send_answer(self, user_id: str, replies: list[BotMessage] | None) -> None:
        """The gateway's replies (a report as its download link); None: a redelivery, answered already."""
        if replies is None:
            await self._send(user_id, {"recipient": {"id": user_id}, "sender_action": "typing_off"}, "typing_off")
            return
        await self.send_replies(user_id, [with_bearer_link(reply, self.gateway.reports, self.settings.base_url,
                                                           self.settings.report_link_minutes) for reply in replies])

    async def _answer_typed(self, user_id: str, text: str, mid: str | None) -> None:
        """Typed text; a number picks from the numbered options of the reply before (read here, in
        turn, so that it is the reply this sender saw last)."""
        await self._answer_text(user_id, chosen_payload(text, self._buttons.get(user_id) or []), mid)

    async def _answer_button(self, user_id: str, data: object, mid: str | None, fallback: object = None) -> None:
        """A quick reply (our payload, or "expired") or a Page menu postback (its payload is the Page's
        own, so its title is taken as typed)."""
        payload = self.payloads.decode(data)
        if payload is None and isinstance(fallback, str) and fallback:
            payload = fallback
        if payload is None:
            if mid is None or self._first_time(f"{CHANNEL}-other:{mid}"):
                await self.send_replies(user_id, [BotMessage(BUTTON_EXPIRED)])
            return
        await self._answer_text(user_id, payload, mid)

    async def _answer_audio(self, audio: AudioMessage) -> None:
        await self.typing(audio.user_id)
        await self._send_answer(audio.user_id, await self.voice(audio))

    # -- the Send API ------------------------------------------------------------------------------

    async def send_replies(self, user_id: str, replies: list[BotMessage]) -> bool:
        """Each reply as text messages, its quick replies on the last; False once one is not sent."""
        numbered: list[dict] = []     # a typed number picks from the last reply with buttons
        for reply in replies:
            out = render(reply, self.payloads)
            if reply.buttons:
                numbered = out.numbered
            for i, text in enumerate(out.texts):
                quick = out.quick_replies if i == len(out.texts) - 1 else []
                if not await self.send_text(user_id, text, quick):
                    return False
        if numbered:
            self._buttons[user_id] = numbered
        else:
            self._buttons.pop(user_id, None)
        return True

    async def send_text(self, user_id: str, text: str, quick_replies: list[dict] | None = None) -> bool:
        message: dict = {"text": text}
        if quick_replies:
            message["quick_replies"] = quick_replies
        return await self._send(user_id, {"recipient": {"id": user_id}, "messaging_type": "RESPONSE",
                                          "message": message}, "message")

    async def typing(self, user_id: str) -> None:
        """"typing…" in the user's Messenger until the reply comes (a nicety: failures only logged)."""
        await self._send(user_id, {"recipient": {"id": user_id}, "sender_action": "typing_on"}, "typing_on")

    async def _send(self, user_id: str, body: dict, what: str) -> bool:
        try:
            response = await self.http.post(f"{self.api_base}/me/messages", json=body,
                                             headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as exc:
            log.warning("messenger %s: %s not sent: Send API unreachable (%s)", self._who(user_id), what,
                        type(exc).__name__)
            return False
        if response.status_code == 200:
            return True
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        error = error if isinstance(error, dict) else {}
        log.warning("messenger %s: %s not sent: HTTP %s, error %s %s", self._who(user_id), what,
                    response.status_code, error.get("code", "?"), str(error.get("message") or "")[:100])
        return False

    def _who(self, user_id: str) -> str:
        """The user as logs show them: the gateway's pseudonym of `messenger:<PSID>`."""
        return self.gateway.pseudonyms.of(f"{CHANNEL}:{user_id}")


def _messaging(event: object) -> list[dict]:
    """The messaging items of a Page event (anything else, even signed, is ignored)."""
    if not isinstance(event, dict) or event.get("object") != "page" or not isinstance(event.get("entry"), list):
        return []
    items = []
    for entry in event["entry"]:
        messaging = entry.get("messaging") if isinstance(entry, dict) else None
        if isinstance(messaging, list):
            items += [item for item in messaging if isinstance(item, dict)]
    return items


def _id(value: object) -> str | None:
    """An id as Meta writes it (a string; a number tolerated), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value) or None
