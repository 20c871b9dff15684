"""A fake Telegram Bot API server for tests: the methods python-telegram-bot calls, every call recorded.

Serve `FakeTelegram().app` with `asgi_server.serve` and point the bot at it (TELEGRAM_API_BASE). Tests
push updates for getUpdates (long polling with a short timeout), wait for recorded calls with a
deadline, and can make the next sendMessage answer a 429. sendMessage checks what Telegram checks:
HTML that Telegram can parse (known tags, balanced, `<` and `&` escaped) and at most 4096 characters
after entity parsing; a bad message gets Telegram's 400, so a rendering bug cannot pass unnoticed.
sendDocument takes a multipart upload, as PTB sends it; the file is recorded as an ``Upload`` in the
call's ``params["document"]``. Voice notes: `add_file` makes a file getFile finds (by file_id) and the
file API serves at `/file/bot<token>/<file_path>` (downloads recorded in ``files.downloads``);
`voice_update` is a message carrying one, with the duration and size Telegram would declare.
"""
from __future__ import annotations

import asyncio
import email.parser
import email.policy
import html
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fake_media import HostedFiles

BOT_USER = {"id": 123, "is_bot": True, "first_name": "Trợ lý ảo", "username": "trolyao_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_POLL_S = 1.0          # getUpdates never holds a request longer than this
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
             "tg-spoiler", "tg-emoji", "blockquote"}
_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|[<&]")


@dataclass
class Call:
    method: str
    params: dict
    at: float                      # time.monotonic() when it arrived
    status: int = 200              # what the fake answered
    result: object = None          # and the result it returned (e.g. the sent Message)


def html_error(text: str) -> str | None:
    """Why Telegram would refuse `text` with parse_mode HTML, or None."""
    stack: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("<", "&"):
            return f"Bad Request: can't parse entities: unexpected {token!r} at byte offset {match.start()}"
        if match.group(2) is None:
            continue   # an entity
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in HTML_TAGS:
            return f"Bad Request: can't parse entities: unsupported start tag \"{tag}\""
        if closing:
            if not stack or stack.pop() != tag:
                return f"Bad Request: can't parse entities: can't find end tag corresponding to \"{tag}\""
        else:
            stack.append(tag)
    if stack:
        return f"Bad Request: can't parse entities: can't find end tag corresponding to \"{stack[-1]}\""
    return None


def visible_text(text: str) -> str:
    """The message as the user sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^<>]+>", "", text))


def tg_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_update(update_id: int, chat_id: int, text: str, message_id: int | None = None) -> dict:
    """A private-chat text message; `/command` texts carry their bot_command entity."""
    message = {"message_id": message_id or update_id, "date": int(time.time()),
               "chat": {"id": chat_id, "type": "private", "first_name": "Người dùng"},
               "from": {"id": chat_id, "is_bot": False, "first_name": "Người dùng", "language_code": "vi"},
               "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def voice_update(update_id: int, chat_id: int, file_id: str, duration: int | None, file_size: int | None,
                 kind: str = "voice", mime_type: str = "audio/ogg") -> dict:
    """A voice note (``kind="voice"``), an audio file (``kind="audio"``) or a file sent as a document
    (``kind="document"``, which declares no duration: pass None) in a private chat."""
    media = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "mime_type": mime_type}
    if duration is not None:
        media["duration"] = duration
    if file_size is not None:
        media["file_size"] = file_size
    message = {"message_id": update_id, "date": int(time.time()),
               "chat": {"id": chat_id, "type": "private", "first_name": "Người dùng"},
               "from": {"id": chat_id, "is_bot": False, "first_name": "Người dùng", "language_code": "vi"},
               kind: media}
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, chat_id: int, data: str, callback_id: str, message: dict | None = None) -> dict:
    """A press on an inline button of `message` (a sent message as the fake returned it)."""
    message = message or {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                          "from": BOT_USER, "text": "…"}
    return {"update_id": update_id,
            "callback_query": {"id": callback_id, "chat_instance": f"ci-{chat_id}", "data": data,
                               "from": {"id": chat_id, "is_bot": False, "first_name": "Người dùng"},
                               "message": message}}


@dataclass
class FakeTelegram:
    url: str = ""                  # set by whoever serves `app`
    calls: list[Call] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    _fail_next_send: list[int] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    files: HostedFiles = field(default_factory=HostedFiles)
    _file_paths: dict[str, str] = field(default_factory=dict)     # file_id → file_path

    # what tests use

    def push(self, *updates: dict) -> None:
        with self._changed:
            self.updates.extend(updates)

    def add_file(self, file_id: str, content: bytes | None, file_path: str | None = None) -> str:
        """A file users sent (None: an endless stream); its file_path on the file API."""
        path = file_path or f"voice/{file_id}.oga"
        with self._changed:
            self._file_paths[file_id] = path
        self.files.add(path, content, "audio/ogg")
        return path

    def fail_next_send_message(self, retry_after: int = 1) -> None:
        """The next sendMessage gets Telegram's 429 with parameters.retry_after."""
        with self._changed:
            self._fail_next_send.append(retry_after)

    def recorded(self, method: str | None = None, chat_id: int | None = None, ok_only: bool = True) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if (method is None or c.method == method)
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
                    and (not ok_only or c.status == 200)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Delivered sendMessage calls (the ones the fake answered ok)."""
        return self.recorded("sendMessage", chat_id)

    def wait_for(self, predicate: Callable[[FakeTelegram], object], timeout: float = 60.0,
                 what: str = "the expected calls") -> object:
        """Block until predicate(self) is truthy (re-checked on every call); fail after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate(self)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; calls: {methods}")
                self._changed.wait(min(left, 0.5))

    def wait_sent(self, chat_id: int, count: int = 1, timeout: float = 60.0) -> list[Call]:
        self.wait_for(lambda f: len(f.sent(chat_id)) >= count, timeout, f"{count} message(s) to chat {chat_id}")
        return self.sent(chat_id)

    # the server

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                                 Route("/file/bot{token}/{path:path}", self._file)])

    async def _file(self, request: Request):
        return await self.files.serve(request.path_params["path"], request)

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await _params(request)
        call = Call(method, params, time.monotonic())
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        else:
            status, body = await handler(params)
        call.status, call.result = status, body.get("result")
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return JSONResponse(body, status_code=status)

    async def _m_getMe(self, params: dict):
        return 200, {"ok": True, "result": BOT_USER}

    async def _m_setWebhook(self, params: dict):
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    async def _m_deleteWebhook(self, params: dict):
        return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}

    async def _m_setMyCommands(self, params: dict):
        return 200, {"ok": True, "result": True}

    async def _m_sendChatAction(self, params: dict):
        return 200, {"ok": True, "result": True}

    async def _m_answerCallbackQuery(self, params: dict):
        return 200, {"ok": True, "result": True}

    async def _m_getFile(self, params: dict):
        file_id = str(params.get("file_id") or "")
        with self._changed:
            path = self._file_paths.get(file_id)
        if path is None:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        content = self.files.files[path][0]
        result = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_path": path}
        if content is not None:
            result["file_size"] = len(content)
        return 200, {"ok": True, "result": result}

    async def _m_getUpdates(self, params: dict):
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), MAX_POLL_S)
        deadline = time.monotonic() + wait
        while True:
            with self._changed:
                if offset:   # confirmed: Telegram forgets them
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return 200, {"ok": True, "result": ready}
            await asyncio.sleep(0.02)

    async def _m_sendDocument(self, params: dict):
        upload = params.get("document")
        if not isinstance(upload, Upload) or not upload.content:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: there is no document in the request"}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": BOT_USER,
                   "chat": {"id": int(params["chat_id"]), "type": "private"},
                   "document": {"file_name": upload.filename, "file_id": f"doc-{len(self.calls)}",
                                "file_unique_id": f"u-{len(self.calls)}", "file_size": len(upload.content)}}
        return 200, {"ok": True, "result": message}

    async def _m_sendMessage(self, params: dict):
        with self._changed:
            retry_after = self._fail_next_send.pop(0) if self._fail_next_send else None
        if retry_after is not None:
            return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                         "parameters": {"retry_after": retry_after}}
        text = str(params.get("text") or "")
        error = html_error(text) if params.get("parse_mode") == "HTML" else None
        shown = visible_text(text) if params.get("parse_mode") == "HTML" else text
        if error is None and not shown.strip():
            error = "Bad Request: message text is empty"
        if error is None and tg_len(shown) > 4096:
            error = "Bad Request: message is too long"
        if error:
            return 400, {"ok": False, "error_code": 400, "description": error}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": BOT_USER,
                   "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": shown}
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return 200, {"ok": True, "result": message}


@dataclass(frozen=True)
class Upload:
    """A file a multipart call carried."""

    filename: str
    content: bytes


def _multipart(content_type: str, body: bytes) -> dict:
    """multipart/form-data fields (stdlib's MIME parser: the fake needs no form library); a file
    part becomes an Upload."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        content = part.get_payload(decode=True) or b""
        fields[name] = Upload(filename, content) if filename else content.decode()
    return fields


async def _params(request: Request) -> dict:
    """Bot API parameters from a query string, JSON, urlencoded or multipart body; JSON-looking
    values (reply_markup, allowed_updates, …) decoded."""
    params: dict = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.body()
            params.update(json.loads(body) if body else {})
        elif content_type.startswith("application/x-www-form-urlencoded"):   # what PTB sends
            params.update(urllib.parse.parse_qsl((await request.body()).decode(), keep_blank_values=True))
        elif content_type.startswith("multipart/form-data"):   # PTB's uploads (sendDocument)
            params.update(_multipart(content_type, await request.body()))
    for key, value in list(params.items()):
        if isinstance(value, str) and value[:1] in "[{":
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
    return params
