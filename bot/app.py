"""The gateway's ASGI app: web chat at `/`, `POST /api/chat` (and `/api/chat/new`), `GET /healthz`,
officials' sign-in and report downloads (bot/officials_web.py), and the channels' webhooks
(`/telegram/webhook`, `/zalo/webhook`, `/messenger/webhook`) when their credentials are set; one voice
flow (bot/voice/hook.py) for every channel's voice notes, so the process has one transcriber."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot import health
from bot.deliveries import window_recorder
from bot.notifier import notifier_for
from bot.gateway import Gateway
from bot.invitations import Invitations
from bot.officials_web import OfficialsWeb
from bot.privacy import Retention, privacy_stores
from bot.inbound import BadBody, parse_json, read_body
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage
from bot.buttons import ButtonSeal
from bot.secret_key import derived_key, secret_key
from bot.state import gateway_store
from bot.voice.hook import VoiceFlow
from bot.voice.transcriber import voice_available
from bot.web_identity import Refused, WebIdentity
from bot.web_security import middleware
from retrieval.follow.store import FollowsUnavailable, follow_store
from retrieval.officials import SignIns
from retrieval.settings import Settings

log = logging.getLogger("trolyao.gateway")
WEBCHAT = Path(__file__).resolve().parent / "webchat"


def channels_for(settings: Settings, gateway: Gateway, voice: VoiceFlow | None = None) -> list:
    """The channels with credentials; each has `routes()`, `start()`, `stop()`. ``voice``: the voice
    flow they share (default: each its own)."""
    enabled = []
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        enabled.append(TelegramChannel(settings, gateway, voice=voice))
    if settings.zalo_enabled:
        from bot.channels.zalo import ZaloChannel

        enabled.append(ZaloChannel(settings, gateway, state=gateway.state, voice=voice))
    if settings.messenger_enabled:
        from bot.channels.messenger import MessengerChannel

        enabled.append(MessengerChannel(settings, gateway, state=gateway.state, voice=voice))
    return enabled


def summary(settings: Settings) -> list[str]:
    """Where the web chat is and which channels are on (and how to turn the others on)."""
    lines = [f"web chat: http://{settings.host}:{settings.port}/"]
    if settings.telegram_enabled:
        mode = f"webhook {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "polling"
        lines.append(f"telegram: on ({mode})")
    else:
        lines.append("telegram: off (set TELEGRAM_BOT_TOKEN to turn it on)")
    lines.append("zalo: on (webhook /zalo/webhook)" if settings.zalo_enabled else
                 "zalo: off (set ZALO_APP_ID, ZALO_OA_SECRET_KEY and ZALO_ACCESS_TOKEN to turn it on)")
    lines.append("messenger: on (webhook /messenger/webhook)" if settings.messenger_enabled else
                 f"messenger: off (set {' and '.join(settings.messenger_missing)} to turn it on)")
    lines.append(f"voice notes: {voice_summary(settings)}")
    return lines


def voice_summary(settings: Settings) -> str:
    if not settings.voice:
        return "asked to be typed (set TROLYAO_VOICE=1 and run set-up to transcribe them)"
    if not voice_available(settings):
        return "asked to be typed (TROLYAO_VOICE is set but the voice extra or its model is missing: run set-up)"
    return f"transcribed (up to {settings.voice_max_s:g} s, {settings.voice_max_bytes / 1_000_000:g} MB)"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.load()
    ours = logging.getLogger("trolyao")   # every channel's logger (trolyao.gateway, trolyao.zalo) below it
    if not ours.handlers and not logging.getLogger().handlers:   # under plain uvicorn: our lines too
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    key = secret_key(settings)
    follows = follow_store(settings)   # who follows what; notifications sent and waiting (web chat)
    gateway = Gateway(settings, state=gateway_store(settings), stores=health.store_probes(settings),
                      pseudonyms=Pseudonyms(key), buttons=ButtonSeal(derived_key(key, "buttons")),
                      inbound=window_recorder(follows))
    identity = WebIdentity(gateway.state, gateway.pseudonyms,
                           settings.api_key.get_secret_value() if settings.api_key else None,
                           settings.address_rate_limit, settings.new_conversations_per_hour)
    officials = OfficialsWeb(identity, SignIns(settings.officials_path), Invitations(key, settings.base_url),
                             gateway.reports, gateway.pseudonyms)
    voice = VoiceFlow.from_settings(settings, gateway)
    channels = channels_for(settings, gateway, voice)
    notifier = notifier_for(settings, follows, channels)
    retention = Retention(privacy_stores(settings), settings.retention_days,   # own connections (purges in a thread)
                          sweeps=[gateway.reports.sweep])
    page = (WEBCHAT / "index.html").read_text(encoding="utf-8").replace(
        "{{retention_days}}", str(settings.retention_days))   # the footnote states the retention

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def chat(request: Request) -> JSONResponse:
        try:
            body = parse_json(await read_body(request))
        except BadBody as exc:
            return JSONResponse({"error": f"{exc}; expected JSON: {{\"message\"}}"}, status_code=exc.status)
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return JSONResponse({"error": "expected {\"message\": string} (integrations: also \"sender\")"},
                                status_code=400)
        try:
            caller = identity.caller(request, body.get("sender"))
        except Refused as refused:
            return refused.response()
        replies = await gateway.handle("web", caller.user_id, message) or []
        waiting = [BotMessage(text) for text in pending_notifications(f"web:{caller.user_id}")]
        owner = None if caller.integration else f"web:{caller.user_id}"   # a cookie's reports: its own
        return JSONResponse({"messages": officials.web_replies(waiting + replies, owner)})

    def pending_notifications(sender: str) -> list[str]:
        """The notifier's messages waiting for a web user; with their store down (PostgreSQL in the
        scale-out mode) they keep waiting: the answer must not fail for them."""
        try:
            return follows.take_pending(sender)
        except FollowsUnavailable as exc:
            log.warning("notifications for a web user not read: %s", exc)
            return []

    async def notifications(request: Request) -> JSONResponse:
        """What the notifier left for this browser's conversation (new tasks, digests, reminders): the
        page asks when it opens, so a follower sees them at their next visit. Starts nothing."""
        conversation = identity.current(request)
        waiting = [BotMessage(text) for text in pending_notifications(f"web:{conversation}")] if conversation else []
        return JSONResponse({"messages": officials.web_replies(waiting, f"web:{conversation}")})

    async def new_chat(request: Request) -> JSONResponse:
        """The web chat's "new conversation" button: the cookie now names a conversation of its own."""
        old = identity.current(request)
        try:
            identity.new_conversation(request)
        except Refused as refused:
            return refused.response()
        officials.carry_over(old, identity.current(request))
        return JSONResponse({"ok": True})

    async def healthz(request: Request) -> JSONResponse:
        status = await gateway.health()
        return JSONResponse(status, status_code=200 if all(status.values()) else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        for line in summary(settings):
            log.info(line)
        for channel in channels:
            await channel.start()
        retention.start()
        notifier.start()
        try:
            yield
        finally:
            await notifier.stop()
            await retention.stop()
            for channel in reversed(channels):
                await channel.stop()
            await voice.aclose()
            await gateway.aclose()
            gateway.state.close()
            follows.close()

    routes = [Route("/", index), Route("/api/chat", chat, methods=["POST"]),
              Route("/api/chat/new", new_chat, methods=["POST"]), Route("/api/notifications", notifications),
              Route("/healthz", healthz),
              *officials.routes(),
              *[route for channel in channels for route in channel.routes()],
              Mount("/static", StaticFiles(directory=WEBCHAT), name="static")]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware(settings, key))
    app.state.gateway = gateway
    app.state.retention = retention
    app.state.notifier = notifier
    app.state.settings = settings
    return app
