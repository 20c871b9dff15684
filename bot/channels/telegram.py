"""Telegram through python-telegram-bot (PTB): polling, or a webhook at `/telegram/webhook`.

Polling when TELEGRAM_BOT_TOKEN is set and TELEGRAM_WEBHOOK_URL is not; webhook mode otherwise, where
every request must carry TELEGRAM_WEBHOOK_SECRET in `X-Telegram-Bot-Api-Secret-Token` (403 and
nothing processed without it). Text messages and inline-button presses become one
`Gateway.handle("tg", chat_id, …)` call each; voice notes and audio files (also audio sent as a file,
"document" in the Bot API) go to the voice flow
(bot/voice/hook.py), which finds the file with `getFile` and downloads it from the file API
(TELEGRAM_FILE_API_BASE) only when the duration and size Telegram declares are within the limits.
The replies are rendered as HTML (escaped), buttons as
an inline keyboard, citations as source cards, and split under Telegram's 4096-character limit at
sentence boundaries. 429s are retried after `retry_after` by PTB's AIORateLimiter. An update whose
handling fails is logged with its traceback and answered with the gateway's apology.
Logs carry the gateway's pseudonym of the chat only: never tokens, names or message texts.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import re
import warnings
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.ordering import KeyedLock
from bot.channels.rendering import SourceCard, button_payload, button_title, source_cards
from bot.channels.splitting import split_text
from retrieval.settings import Settings
from bot.channels.payloads import PayloadTable
from bot.gateway import APOLOGY, BUTTON_EXPIRED, Gateway
from bot.inbound import BadBody, parse_json, read_body
from bot.downloads import ReportFile
from bot.rasa_client import BotMessage
from bot.voice.fetch import DownloadFailed
from bot.voice.hook import VoiceFlow, VoiceNote

log = logging.getLogger("trolyao.gateway")

CHANNEL = "tg"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_MESSAGE_CHARS = 4096          # Telegram's limit for one message's text (UTF-16 code units)
MAX_CALLBACK_BYTES = 64           # Telegram's limit for an inline button's callback_data
RATE_LIMIT_RETRIES = 3            # AIORateLimiter: retries after a 429's retry_after
TYPING_REFRESH_S = 4.0            # Telegram shows "typing…" for about 5 s
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

WELCOME = ("Xin chào! Tôi là <b>Trợ lý ảo</b> của UBND tỉnh Lạng Sơn.\n"
           "Tôi trả lời câu hỏi về các văn bản chỉ đạo, điều hành của UBND tỉnh, luôn kèm nguồn trích dẫn.\n\n"
           "Bạn có thể hỏi, ví dụ:\n"
           "• Công văn 704/UBND-KGVX nói gì?\n"
           "• Sở Y tế được giao những việc gì?\n"
           "• Tuần này có những chỉ đạo gì?\n\n"
           "Gõ /help để xem hướng dẫn.")
HELP = ("<b>Hướng dẫn sử dụng</b>\n"
        "Bạn cứ gõ câu hỏi bằng tiếng Việt, mỗi lần một câu hỏi:\n"
        "• Hỏi về một văn bản: “Kế hoạch 146/KH-UBND về việc gì?”\n"
        "• Hỏi về một cơ quan: “Sở Y tế được giao những việc gì?”\n"
        "• Hỏi theo thời gian: “Tuần này có những chỉ đạo gì?”, “Những việc nào sắp đến hạn?”\n"
        "• Hỏi tiếp về câu trả lời trước: “Ai chủ trì?”, “Hạn chót khi nào?”\n\n"
        "Khi có nhiều lựa chọn, bạn bấm vào nút bên dưới tin nhắn. "
        "Mỗi câu trả lời đều ghi rõ văn bản nguồn để bạn đối chiếu.\n\n"
        "Gõ /theodoi Sở Y tế (hoặc /theodoi tin mới) để nhận nhiệm vụ mới và nhắc hạn.\n"
        "Gõ /xoadulieu để xóa toàn bộ dữ liệu của bạn mà trợ lý đang lưu.")
CHOOSE = "Mời bạn chọn:"
COMMANDS = [BotCommand("start", "Bắt đầu trò chuyện"), BotCommand("help", "Hướng dẫn sử dụng"),
            BotCommand("xoadulieu", "Xóa dữ liệu của tôi"),
            BotCommand("theodoi", "Theo dõi một cơ quan hoặc tin mới")]
REPORT_MISSING = "Xin lỗi, tệp báo cáo không còn trên máy chủ. Bạn vui lòng yêu cầu lập lại báo cáo."
FORGET_REQUEST = "xóa dữ liệu của tôi"   # /xoadulieu: the dialogue asks to confirm, as when typed
FOLLOW_REQUEST = "theo dõi"              # /theodoi Sở Y tế: read as "theo dõi Sở Y tế" typed
FOLLOWING_REQUEST = "tôi đang theo dõi gì?"   # /theodoi alone


# --- rendering ---------------------------------------------------------------------------------------

def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def escaped_len(text: str) -> int:
    return tg_len(_escape(text))


def card_html(card: SourceCard) -> str:
    """📄 <b>Công văn 704/UBND-KGVX</b> (23/6/2022, UBND tỉnh), then the quote in italics."""
    text = f"📄 <b>{_escape(card.name)}</b>"
    if card.details:
        text += f" ({_escape(card.details)})"
    if card.quote:
        text += f"\n<i>“{_escape(card.quote)}”</i>"
    return text


def render(message: BotMessage, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """A reply as Telegram HTML messages, each within `limit`: the escaped text split at sentence
    boundaries, then the citation cards (in the last message when they fit)."""
    text, cards = source_cards(message)
    chunks = [_escape(part) for part in split_text(text, limit, escaped_len)]
    if cards:
        blocks, block = [], "<b>Nguồn:</b>"
        for card in map(card_html, cards):   # a card is short (quote capped): it fits in an empty message
            if tg_len(f"{block}\n{card}") > limit:
                blocks.append(block)
                block = card
            else:
                block = f"{block}\n{card}"
        blocks.append(block)
        if chunks and tg_len(f"{chunks[-1]}\n\n{blocks[0]}") <= limit:
            chunks[-1] = f"{chunks[-1]}\n\n{blocks.pop(0)}"
        chunks.extend(blocks)
    if not chunks and message.buttons:
        chunks = [CHOOSE]
    return chunks


# --- callback data (64 bytes at most) ------------------------------------------------------------------

def callback_payloads() -> PayloadTable:
    """Button payloads as callback_data (64 bytes at most: longer ones by a key into a table)."""
    return PayloadTable(MAX_CALLBACK_BYTES)


def keyboard(buttons: list[dict], payloads: PayloadTable) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton((button_title(b) or "?")[:100], callback_data=payloads.encode(button_payload(b)))]
            for b in buttons]
    return InlineKeyboardMarkup(rows) if rows else None


# --- token redaction in third-party logs ---------------------------------------------------------------

class _RedactToken(logging.Filter):
    """httpx logs every request URL, and Bot API URLs contain the bot token."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:   # noqa: BLE001 - a broken record is not ours to fix
            return True
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), ()
        if record.exc_info and not record.exc_text:   # handlers reuse the cached text: redact it once
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def _token_loggers() -> list[logging.Logger]:
    """The loggers that may see Bot API URLs (ours logs tracebacks of failed updates). A logger's
    filters do not apply to its children's records, so each one gets the filter (PTB creates its
    loggers when it is imported)."""
    names = {"httpx", "telegram"} | {name for name in logging.root.manager.loggerDict
                                     if name.split(".")[0] in ("telegram", "httpx")}
    return [log] + [logging.getLogger(name) for name in sorted(names)]


# --- the channel -----------------------------------------------------------------------------------------

class TelegramChannel:
    def __init__(self, settings: Settings, gateway: Gateway, voice: VoiceFlow | None = None):
        """``voice``: the process's voice flow (default: one of this channel's own, from the settings)."""
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set: the Telegram channel cannot start")
        self.settings = settings
        self.gateway = gateway
        self._own_voice = voice is None
        self.voice = voice or VoiceFlow.from_settings(settings, gateway)
        self.webhook = bool(settings.telegram_webhook_url)
        secret = settings.telegram_webhook_secret
        if self.webhook and not secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: refusing to start "
                             "the Telegram webhook without a secret (set TELEGRAM_WEBHOOK_SECRET to 1-256 "
                             "characters of A-Z, a-z, 0-9, _ and -, or unset TELEGRAM_WEBHOOK_URL for polling)")
        if self.webhook and not _SECRET_RE.fullmatch(secret or ""):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - "
                             "(Telegram's rule for secret_token)")
        self._secret = (secret or "").encode()
        self.payloads = callback_payloads()
        self._chats = KeyedLock()
        self._redact = _RedactToken(settings.telegram_bot_token)
        self._redacted = _token_loggers()   # before build(): PTB logs its URLs (with the token) at once
        for logger in self._redacted:
            logger.addFilter(self._redact)
        api = settings.telegram_api_base.rstrip("/")
        builder = (ApplicationBuilder().token(settings.telegram_bot_token)
                   .base_url(f"{api}/bot").base_file_url(settings.telegram_file_base)
                   .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
                   .concurrent_updates(True))
        if self.webhook:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        self.application.add_handler(CommandHandler("start", self._on_start))
        self.application.add_handler(CommandHandler("help", self._on_help))
        self.application.add_handler(CommandHandler("xoadulieu", self._on_forget))
        self.application.add_handler(CommandHandler("theodoi", self._on_follow))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, self._on_help))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self._on_text))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & (filters.VOICE | filters.AUDIO | filters.Document.AUDIO),
                                                    self._on_voice))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_other))
        self.application.add_error_handler(self._on_error)

    # lifecycle

    def routes(self) -> list[Route]:
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])] if self.webhook else []

    async def start(self) -> None:
        await self.application.initialize()          # getMe: a wrong token fails here, loudly
        with contextlib.suppress(Exception):         # a nicety: the "/" menu in Telegram's apps
            await self.application.bot.set_my_commands(COMMANDS)
        await self.application.start()
        if self.webhook:
            await self.application.bot.set_webhook(self.settings.telegram_webhook_url,
                                                   secret_token=self.settings.telegram_webhook_secret,
                                                   allowed_updates=["message", "callback_query"])
            log.info("telegram: webhook set")
        else:
            await self.application.updater.start_polling(allowed_updates=["message", "callback_query"],
                                                         error_callback=self._on_polling_error)
            log.info("telegram: polling")

    async def stop(self) -> None:
        try:
            if self.application.updater is not None and self.application.updater.running:
                await self.application.updater.stop()
            if self.application.running:
                await self.application.stop()
            await self.application.shutdown()
            if self._own_voice:
                await self.voice.aclose()
        finally:
            for logger in self._redacted:
                logger.removeFilter(self._redact)

    # webhook

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("telegram webhook: request with a missing or wrong secret rejected")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            update = Update.de_json(parse_json(await read_body(request)), self.application.bot)
        except BadBody as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except Exception:   # noqa: BLE001 - any malformed body is the sender's problem
            return JSONResponse({"error": "body must be a Telegram Update (JSON)"}, status_code=400)
        if update is None:
            return JSONResponse({"error": "body must be a Telegram Update (JSON)"}, status_code=400)
        await self.application.update_queue.put(update)   # processed in the background: answer at once
        return Response(status_code=200)

    # handlers

    async def _on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            await self._send_html(update.effective_chat.id, [WELCOME])

    async def _on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            await self._send_html(update.effective_chat.id, [HELP])

    async def _on_forget(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            await self._ask(update.effective_chat.id, FORGET_REQUEST, str(update.update_id))

    async def _on_follow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            what = " ".join(context.args or [])
            text = f"{FOLLOW_REQUEST} {what}" if what else FOLLOWING_REQUEST
            await self._ask(update.effective_chat.id, text, str(update.update_id))

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._ask(update.effective_chat.id, update.effective_message.text or "", str(update.update_id))

    async def _on_voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A voice note, an audio file or audio sent as a file: the voice flow, in turn with the chat's
        other messages."""
        chat, message = update.effective_chat, update.effective_message
        media = message.voice or message.audio or message.document
        note = VoiceNote(CHANNEL, str(chat.id), str(update.update_id), url=lambda: self._file_url(media.file_id),
                         duration_s=_seconds(media), size_bytes=media.file_size)
        await self._answer(chat.id, lambda: self.voice.answer(note))

    async def _file_url(self, file_id: str) -> str:
        """Where the file API serves it (getFile; the URL holds the token: never logged)."""
        try:
            found = await self.application.bot.get_file(file_id)
        except TelegramError as exc:
            raise DownloadFailed(f"getFile failed: {type(exc).__name__}") from None
        if not found.file_path:
            raise DownloadFailed("getFile gave no file_path")
        return found.file_path

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, videos…: the gateway answers an empty message with a polite hint."""
        if update.effective_chat:
            await self._ask(update.effective_chat.id, "", str(update.update_id))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = self.payloads.decode(query.data)
        title = _button_title(query)
        with contextlib.suppress(Exception):   # a late answer (query too old) must not stop the reply
            await query.answer(text=f"Bạn chọn: {title}"[:200] if title else None)
        chat = query.message.chat if query.message else None
        if chat is None:
            return
        if payload is None:
            await self._send_html(chat.id, [_escape(BUTTON_EXPIRED)])
            return
        await self._ask(chat.id, payload, f"cb:{query.id}")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's one error handler: the traceback for us, the apology for the user (not silence)."""
        chat = getattr(getattr(update, "effective_chat", None), "id", None)
        who = self._who(chat) if chat is not None else "-"
        error = context.error
        log.error("telegram %s update failed", who, exc_info=(type(error), error, error.__traceback__))
        if chat is None:
            return
        try:
            await self._send_html(chat, [_escape(APOLOGY)])
        except Exception as exc:   # noqa: BLE001 - Telegram itself may be what failed
            log.warning("telegram %s apology not sent: %s", who, type(exc).__name__)

    def _on_polling_error(self, error: Exception) -> None:
        log.warning("telegram polling error: %s", type(error).__name__)

    # the conversation

    async def _ask(self, chat_id: int, text: str, message_id: str) -> None:
        """One message through the gateway, in order per chat, with "typing…" shown meanwhile."""
        await self._answer(chat_id, lambda: self.gateway.handle(CHANNEL, str(chat_id), text, message_id=message_id))

    async def _answer(self, chat_id: int, replies_to: Callable[[], Awaitable[list[BotMessage] | None]]) -> None:
        """The replies ``replies_to()`` makes, sent in order per chat, with "typing…" shown meanwhile."""
        async with self._chats.hold(chat_id):
            await self._typing(chat_id)   # shown before the gateway is asked, then kept alive
            typing = asyncio.create_task(self._keep_typing(chat_id))
            try:
                replies = await replies_to()
            finally:
                typing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await typing
            for reply in replies or []:   # None: a redelivery, answered already
                await self._send_html(chat_id, render(reply), keyboard(reply.buttons, self.payloads))
                report = ReportFile.of(reply.document)
                if report is not None:
                    await self._send_report(chat_id, report)

    async def _send_report(self, chat_id: int, report: ReportFile) -> None:
        """The report itself (sendDocument), then deleted: Telegram keeps the user's copy."""
        path = self.gateway.reports.path(report)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            log.warning("telegram %s report file missing", self._who(chat_id))
            await self._send_html(chat_id, [_escape(REPORT_MISSING)])
            return
        await self.application.bot.send_document(chat_id, document=data, filename=report.title)
        self.gateway.reports.discard(report)

    async def _typing(self, chat_id: int) -> None:
        try:
            await self.application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except Exception as exc:   # noqa: BLE001 - "typing…" is a nicety; the answer matters
            log.info("telegram %s chat action failed: %s", self._who(chat_id), type(exc).__name__)

    async def _keep_typing(self, chat_id: int) -> None:
        while True:
            await asyncio.sleep(TYPING_REFRESH_S)
            await self._typing(chat_id)

    def _who(self, chat_id: int) -> str:
        """The chat as logs show it: the gateway's pseudonym of `tg:<chat id>`."""
        return self.gateway.pseudonyms.of(f"{CHANNEL}:{chat_id}")

    async def _send_html(self, chat_id: int, chunks: list[str],
                         markup: InlineKeyboardMarkup | None = None) -> None:
        for i, chunk in enumerate(chunks):
            await self.application.bot.send_message(
                chat_id, chunk, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup if i == len(chunks) - 1 else None)


def _seconds(media) -> float | None:
    """A voice or audio file's declared duration in seconds (PTB is moving it from int to timedelta);
    None when it declares none (a file sent as a document: the transcriber counts while decoding)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration = getattr(media, "duration", None)
    if duration is None:
        return None
    return duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration)


def _button_title(query) -> str | None:
    """The pressed button's title, from the keyboard of the message it belongs to."""
    markup = getattr(query.message, "reply_markup", None) if query.message else None
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None
