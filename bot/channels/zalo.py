"""Zalo Official Account (Open API v3): the webhook at `/zalo/webhook` and replies as CS messages.

Webhook (as Zalo documents it, and as peer integrations such as Chatwoot verify it): the header
``X-ZEvent-Signature: mac=<hex>`` where ``<hex>`` is ``sha256(app_id + raw body + timestamp + OA secret
key)`` and ``timestamp`` is the event's own ``timestamp`` field (milliseconds, as written in the
body). A missing or wrong signature is answered 401, a timestamp more than five minutes away from
now 403, and nothing of such a request is processed. Accepted events are answered 200 at once and
processed in a background task (Zalo wants its 200 within seconds, or it redelivers), one sender's
messages in the order they came. Voice messages (``user_send_audio``: an audio attachment's URL, AAC in
an .m4a) go to the voice flow (bot/voice/hook.py), which downloads them within its limits.

Replies go through ``POST {ZALO_API_BASE}/v3.0/oa/message/cs`` with the ``access_token`` header, as
plain text (Zalo text messages have no markup), cut under Zalo's 2000-character limit at sentence
boundaries. Buttons become a numbered list; a reply that is just a number picks that button. When
Zalo says the access token is invalid or expired, the channel gets a new one with the refresh token
(``POST {ZALO_OAUTH_BASE}/v4/oa/access_token``; a refresh token works once, so both new tokens are
kept in memory) and sends again, once. Logs carry the sender's pseudonym, never tokens or names.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import time

import httpx
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.ordering import BackgroundAnswers
from bot.channels.rendering import chosen_payload, plain_text
from bot.channels.splitting import split_text
from bot.downloads import with_bearer_link
from bot.gateway import APOLOGY, REDELIVERY_TTL_S, Gateway
from bot.inbound import BadBody, parse_json, read_body
from bot.rasa_client import BotMessage
from bot.state import GatewayState, GatewayStore, StateUnavailable
from bot.voice.hook import VoiceFlow, VoiceNote
from retrieval.settings import Settings

log = logging.getLogger("trolyao.zalo")

CHANNEL = "zalo"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT_CHARS = 2000                  # Zalo's limit for one text message
MAX_CLOCK_SKEW_S = 5 * 60              # older or further in the future: a replay, refused (403)
TOKEN_ERRORS = {-216, -124}            # "Access token is invalid" / "… has expired": refresh, then retry once
TEXT_ONLY = ("Xin lỗi, trợ lý hiện chỉ đọc được câu hỏi gõ bằng chữ hoặc tin nhắn thoại, chưa xem được hình "
             "ảnh, nhãn dán, tệp hay vị trí. Bạn vui lòng gõ câu hỏi về chỉ đạo, điều hành của UBND tỉnh nhé.")
AUDIO_EVENT = "user_send_audio"
BUTTONS_TTL_S = 24 * 3600


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The `X-ZEvent-Signature` value Zalo sends with an event."""
    # surrogatepass: a forged timestamp may hold lone surrogates; it must fail the check, not the server
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode("utf-8", "surrogatepass")
                            + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def event_time_s(timestamp: object) -> float | None:
    """Zalo's `timestamp` (milliseconds since the epoch, as a string or a number) in seconds."""
    try:
        value = float(str(timestamp))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return value / 1000 if value > 1e11 else value    # seconds, should Zalo ever send them


def audio_url(message: dict) -> str:
    """The URL of a voice message's attachment (``attachments[].payload.url``; the event names it audio,
    so the attachment's own type is not asked); "" when there is none: read as unreadable."""
    attachments = message.get("attachments") if isinstance(message.get("attachments"), list) else []
    for attachment in attachments:
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        if isinstance(payload, dict) and isinstance(payload.get("url"), str) and payload["url"]:
            return payload["url"]
    return ""


class ZaloChannel:
    def __init__(self, settings: Settings, gateway: Gateway, http: httpx.AsyncClient | None = None,
                 state: GatewayStore | None = None, voice: VoiceFlow | None = None):
        """``state`` keeps the tokens Zalo issues on refresh (a refresh token is single-use: after a
        restart only the newest one works); default: in memory. ``voice``: the process's voice flow
        (default: one of this channel's own, from the settings)."""
        self.settings = settings
        self.gateway = gateway
        self._own_voice = voice is None
        self.voice = voice or VoiceFlow.from_settings(settings, gateway)
        self.state = state or GatewayState()
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self.api_base = settings.zalo_api_base.rstrip("/")
        self.oauth_base = settings.zalo_oauth_base.rstrip("/")
        self._access_token, self._refresh_token = self._stored_tokens() or (
            settings.zalo_access_token or "", settings.zalo_refresh_token or "")
        self._refresh_lock = asyncio.Lock()
        self._buttons: TTLCache = TTLCache(maxsize=100_000, ttl=BUTTONS_TTL_S)   # user id → last buttons
        self._answers = BackgroundAnswers(log, CHANNEL, self._hash,
                                          lambda user_id: self.send_text(user_id, APOLOGY))

    # -- lifecycle ---------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route("/zalo/webhook", self.webhook, methods=["POST"])]

    async def start(self) -> None:
        if not (self._refresh_token and self.settings.zalo_app_secret):
            log.info("zalo: no ZALO_REFRESH_TOKEN/ZALO_APP_SECRET: the access token cannot be renewed")

    async def stop(self) -> None:
        """Let the messages being answered finish (a few seconds at most), then close."""
        await self._answers.drain(self.settings.rasa_timeout_s + 5)
        if self._own_http:
            await self.http.aclose()
        if self._own_voice:
            await self.voice.aclose()

    # -- webhook -----------------------------------------------------------------------------------

    async def webhook(self, request: Request) -> JSONResponse:
        supplied = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        try:
            body = await read_body(request)
            event = parse_json(body)
        except BadBody as exc:
            log.warning("zalo webhook refused: %s", exc)
            return JSONResponse({"error": "invalid signature" if exc.status == 400 else str(exc)},
                                status_code=401 if exc.status == 400 else exc.status)
        if not supplied or not isinstance(event, dict):
            log.warning("zalo webhook refused: %s", "no signature" if not supplied else "body is not a JSON object")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        timestamp = event.get("timestamp")
        expected = signature(self.settings.zalo_app_id or "", body, "" if timestamp is None else str(timestamp),
                             self.settings.zalo_oa_secret_key or "")
        if not hmac.compare_digest(supplied.lower().encode(), expected.encode()):
            log.warning("zalo webhook refused: wrong signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        sent_at = event_time_s(timestamp)
        if sent_at is None or abs(time.time() - sent_at) > MAX_CLOCK_SKEW_S:
            log.warning("zalo webhook refused: stale timestamp")
            return JSONResponse({"error": "stale timestamp"}, status_code=403)
        self.accept(event)
        return JSONResponse({"ok": True})

    def accept(self, event: dict) -> None:
        """Start answering a verified event in the background, or ignore it."""
        name = str(event.get("event_name") or "")
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        user_id = str(sender.get("id") or "")
        if not name.startswith("user_send_") or not user_id:
            log.debug("zalo event %s ignored", name or "?")      # follow, user_seen_message, oa_send_* …
            return
        msg_id = message.get("msg_id")
        msg_id = None if msg_id is None else str(msg_id)
        if name == "user_send_text":
            job = self._answer_text(user_id, str(message.get("text") or ""), msg_id)
        elif name == AUDIO_EVENT:      # redeliveries: the voice flow asks the gateway, as for text
            job = self._answer_voice(VoiceNote(CHANNEL, user_id, msg_id, audio_url(message)))
        else:
            if msg_id is not None and not self.state.first_time(f"{CHANNEL}-other:{msg_id}", REDELIVERY_TTL_S):
                log.info("zalo %s redelivered %s ignored", self._hash(user_id), name)
                return
            job = self._answer_not_text(user_id, name)
        self._answers.spawn(user_id, job)

    # -- answering ---------------------------------------------------------------------------------

    async def _answer_text(self, user_id: str, text: str, msg_id: str | None) -> None:
        text = chosen_payload(text, self._buttons.get(user_id) or [])
        replies = await self.gateway.handle(CHANNEL, user_id, text, message_id=msg_id)
        if replies is None:             # a redelivery: it was answered the first time
            return
        await self.send_replies(user_id, [with_bearer_link(reply, self.gateway.reports, self.settings.base_url,
                                                           self.settings.report_link_minutes) for reply in replies])

    async def _answer_voice(self, note: VoiceNote) -> None:
        replies = await self.voice.answer(note)
        if replies is None:             # a redelivery: it was answered the first time
            return
        await self.send_replies(note.user_id, [with_bearer_link(reply, self.gateway.reports, self.settings.base_url,
                                                                self.settings.report_link_minutes)
                                               for reply in replies])

    async def _answer_not_text(self, user_id: str, event_name: str) -> None:
        log.info("zalo %s sent %s: asked for text", self._hash(user_id), event_name)
        await self.send_replies(user_id, [BotMessage(TEXT_ONLY)])

    async def send_replies(self, user_id: str, replies: list[BotMessage]) -> bool:
        """Send the replies as text messages; remember their buttons for a numbered answer."""
        texts, buttons = plain_text(replies)
        if buttons:
            self._buttons[user_id] = buttons
        else:
            self._buttons.pop(user_id, None)
        for text in texts:
            for piece in split_text(text, MAX_TEXT_CHARS):
                if not await self.send_text(user_id, piece):
                    return False
        return True

    async def send_text(self, user_id: str, text: str) -> bool:
        """One CS text message; on an expired token, refresh it and send again once."""
        for attempt in (1, 2):
            token = self._access_token
            result = await self._post_cs(user_id, text, token)
            if result is None:
                return False
            error = result.get("error", 0)
            if error == 0:
                return True
            if error in TOKEN_ERRORS and attempt == 1:
                log.info("zalo: access token rejected (%s), refreshing it", error)
                if await self.refresh_token(used=token):
                    continue
            log.warning("zalo %s: message not sent: error %s %s", self._hash(user_id), error,
                        str(result.get("message") or "")[:100])
            return False
        return False

    async def _post_cs(self, user_id: str, text: str, token: str) -> dict | None:
        try:
            response = await self.http.post(f"{self.api_base}/v3.0/oa/message/cs",
                                            headers={"access_token": token},
                                            json={"recipient": {"user_id": user_id}, "message": {"text": text}})
            result = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("zalo %s: message API unreachable: %s", self._hash(user_id), type(exc).__name__)
            return None
        if not isinstance(result, dict):
            log.warning("zalo %s: message API answered HTTP %s", self._hash(user_id), response.status_code)
            return None
        if "error" not in result and response.status_code != 200:
            result["error"] = response.status_code
        return result

    def _stored_tokens(self) -> tuple[str, str] | None:
        """The newest tokens any gateway process saved (None when the store is unreachable)."""
        try:
            return self.state.tokens(CHANNEL, self.settings.zalo_access_token or "",
                                     self.settings.zalo_refresh_token or "")
        except StateUnavailable as exc:
            log.warning("zalo: saved tokens unreadable (%s); using the configured ones", exc)
            return None

    async def refresh_token(self, used: str) -> bool:
        """A new access token (and refresh token) from the refresh token; True when there is one.

        `used` is the access token that was refused: when another message refreshed it meanwhile,
        the new one is simply used (a refresh token is single-use: never spend it twice)."""
        async with self._refresh_lock:
            if self._access_token != used:
                return True
            stored = self._stored_tokens()
            if stored is not None and stored[0] != used:   # another gateway process refreshed it
                self._access_token, self._refresh_token = stored
                return True
            if not (self._refresh_token and self.settings.zalo_app_secret):
                log.warning("zalo: access token expired and cannot be refreshed "
                            "(set ZALO_REFRESH_TOKEN and ZALO_APP_SECRET)")
                return False
            try:
                response = await self.http.post(
                    f"{self.oauth_base}/v4/oa/access_token",
                    headers={"secret_key": self.settings.zalo_app_secret},
                    data={"refresh_token": self._refresh_token, "app_id": self.settings.zalo_app_id or "",
                          "grant_type": "refresh_token"})
                result = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("zalo: token refresh failed: %s", type(exc).__name__)
                return False
            if not isinstance(result, dict) or not result.get("access_token"):
                error = result.get("error") if isinstance(result, dict) else None
                log.warning("zalo: token refresh refused (HTTP %s, error %s)", response.status_code, error)
                return False
            self._access_token = str(result["access_token"])
            if result.get("refresh_token"):
                self._refresh_token = str(result["refresh_token"])
            try:
                self.state.save_tokens(CHANNEL, self.settings.zalo_refresh_token or "", self._access_token,
                                       self._refresh_token)
            except StateUnavailable as exc:   # kept in memory; lost only if this process stops first
                log.error("zalo: the new tokens could not be saved (%s); a restart would need a new "
                          "ZALO_REFRESH_TOKEN", exc)
            log.info("zalo: access token refreshed (valid %s s)", result.get("expires_in", "?"))
            return True

    def _hash(self, user_id: str) -> str:
        """The user as logs show them: the gateway's pseudonym of `zalo:<user id>`."""
        return self.gateway.pseudonyms.of(f"{CHANNEL}:{user_id}")
