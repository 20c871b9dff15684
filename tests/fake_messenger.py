"""A fake Graph API for tests: the Messenger Send API (`POST /v21.0/me/messages`).

It records every call and checks what the real API checks: the Page token (here in the
Authorization header; otherwise error 190, HTTP 400), a recipient, and then either a sender action or
a message with `messaging_type`, a text of at most 2000 characters and at most 13 quick replies with
titles of at most 20 characters and payloads of at most 1000. `fail_messages = True` makes it
answer every message with an internal error (HTTP 500), as the real one sometimes does. Tests wait
for calls with `wait_for` (a condition, no sleeps). Audio attachments are served from `/cdn/<name>`
(``media.add``; ``media_url(name)``), as Meta's CDN serves them.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fake_media import HostedFiles

VERSION = "v21.0"
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}


def graph_error(code: int, message: str, status: int = 400) -> tuple[dict, int]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}}, status


@dataclass
class Call:
    headers: dict[str, str]
    body: dict
    status: int = 0
    response: dict = field(default_factory=dict)

    @property
    def recipient(self) -> str | None:
        return (self.body.get("recipient") or {}).get("id")

    @property
    def text(self) -> str:
        return ((self.body.get("message") or {}).get("text")) or ""

    @property
    def quick_replies(self) -> list[dict]:
        return (self.body.get("message") or {}).get("quick_replies") or []

    @property
    def action(self) -> str | None:
        return self.body.get("sender_action")


class FakeGraph:
    def __init__(self, page_token: str):
        self.page_token = page_token
        self.fail_messages = False
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self.media = HostedFiles()
        self.url = ""                        # set by whoever serves `app`
        self.app = Starlette(routes=[Route(f"/{VERSION}/me/messages", self._send, methods=["POST"]),
                                     Route("/cdn/{name}", self._media)])

    def media_url(self, name: str) -> str:
        return f"{self.url}/cdn/{name}"

    async def _media(self, request: Request):
        return await self.media.serve(request.path_params["name"], request)

    def sent(self, user: str) -> list[Call]:
        """Text messages the API accepted for `user`, in order."""
        with self._changed:
            return [c for c in self.calls if c.status == 200 and c.recipient == user and c.action is None]

    def actions(self, user: str) -> list[str]:
        with self._changed:
            return [c.action for c in self.calls if c.status == 200 and c.recipient == user and c.action]

    def wait_for(self, predicate, timeout: float = 60.0) -> None:
        """Block until `predicate(self)` holds after some call (or already holds); fail at the deadline."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"fake Graph API: condition not met within {timeout} s; calls: "
                                     f"{[(c.recipient, c.action or c.text[:80], c.status) for c in self.calls]}")

    def wait_sent(self, user: str, count: int, timeout: float = 60.0) -> list[Call]:
        self.wait_for(lambda fake: len(fake.sent(user)) >= count, timeout)
        return self.sent(user)

    async def _send(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._changed:
            call = Call(dict(request.headers), body)
            call.response, call.status = self._answer(request.headers.get("authorization"), body)
            self.calls.append(call)
            self._changed.notify_all()
        return JSONResponse(call.response, status_code=call.status)

    def _answer(self, authorization: str | None, body: dict) -> tuple[dict, int]:
        if authorization != f"Bearer {self.page_token}":
            return graph_error(190, "Invalid OAuth access token.")
        recipient = (body.get("recipient") or {}).get("id")
        if not recipient:
            return graph_error(100, "(#100) The parameter recipient is required")
        if "sender_action" in body:
            if body["sender_action"] not in SENDER_ACTIONS or "message" in body:
                return graph_error(100, "(#100) Invalid sender_action")
            return {"recipient_id": recipient}, 200
        message = body.get("message") or {}
        text, quick = message.get("text"), message.get("quick_replies") or []
        if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return graph_error(100, "(#100) messaging_type is required")
        if not isinstance(text, str) or not text.strip():
            return graph_error(100, "(#100) Message cannot be empty, must provide valid attachment or text")
        if len(text) > 2000:
            return graph_error(100, "(#100) Length of param message[text] must be less than or equal to 2000")
        if len(quick) > 13 or any(len(q.get("title") or "") > 20 or not q.get("title") or
                                  len(q.get("payload") or "") > 1000 or q.get("content_type") != "text"
                                  for q in quick):
            return graph_error(100, "(#100) Invalid quick_replies")
        if self.fail_messages:
            return graph_error(2, "An unexpected error has occurred. Please retry your request later.", 500)
        return {"recipient_id": recipient, "message_id": f"m_{next(self._ids)}"}, 200
