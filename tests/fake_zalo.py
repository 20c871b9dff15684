"""A fake Zalo OA Open API for tests: the CS message endpoint and the OAuth token refresh.

It records every call (headers and body) and checks what the real API checks: the `access_token`
header of a message must be the current token (else error -216, as Zalo answers an invalid or
expired token), a refresh needs the app's `secret_key` header, the app id and the current refresh
token, which works once. Tests wait for calls with `wait_for` (a condition, no sleeps). Voice messages'
audio is served from `/media/<name>` (``media.add``; ``media_url(name)`` is its address).
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fake_media import HostedFiles

EXPIRED = {"error": -216, "message": "Access token is invalid"}


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: dict
    response: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return ((self.body.get("message") or {}).get("text")) or ""

    @property
    def user_id(self) -> str | None:
        return (self.body.get("recipient") or {}).get("user_id")


class FakeZalo:
    def __init__(self, app_id: str, app_secret: str, access_token: str, refresh_token: str):
        self.app_id = app_id
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.messages: list[Call] = []       # every POST /v3.0/oa/message/cs
        self.refreshes: list[Call] = []      # every POST /v4/oa/access_token
        self._changed = threading.Condition()
        self._serial = itertools.count(2)
        self.media = HostedFiles()
        self.url = ""                        # set by whoever serves `app`
        self.app = Starlette(routes=[Route("/v3.0/oa/message/cs", self._message, methods=["POST"]),
                                     Route("/v4/oa/access_token", self._refresh, methods=["POST"]),
                                     Route("/media/{name}", self._media)])

    def media_url(self, name: str) -> str:
        return f"{self.url}/media/{name}"

    async def _media(self, request: Request):
        return await self.media.serve(request.path_params["name"], request)

    def expire_access_token(self) -> None:
        """The current access token stops working: the next message sent with it gets -216."""
        with self._changed:
            self.access_token = f"expired-{self.access_token}"

    def sent(self, user_id: str | None = None) -> list[Call]:
        """Messages accepted (error 0), optionally to one user."""
        with self._changed:
            return [c for c in self.messages if c.response.get("error") == 0
                    and (user_id is None or c.user_id == user_id)]

    def wait_for(self, predicate, timeout: float = 60.0) -> None:
        """Block until `predicate(self)` holds after some call (or already holds); fail at the deadline."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"fake Zalo: condition not met within {timeout} s; messages: "
                                     f"{[(c.user_id, c.text[:80], c.response) for c in self.messages]}, "
                                     f"refreshes: {len(self.refreshes)}")

    def wait_sent(self, user_id: str, count: int, timeout: float = 60.0) -> list[Call]:
        self.wait_for(lambda fake: len(fake.sent(user_id)) >= count, timeout)
        return self.sent(user_id)

    async def _message(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._changed:
            call = Call(request.url.path, dict(request.headers), body)
            recipient = (body.get("recipient") or {}).get("user_id")
            text = (body.get("message") or {}).get("text")
            if request.headers.get("access_token") != self.access_token:
                call.response = EXPIRED
            elif not recipient or not isinstance(text, str) or not text:
                call.response = {"error": -201, "message": "Parameters are invalid"}
            elif len(text) > 2000:
                call.response = {"error": -201, "message": "Text is too long"}
            else:
                call.response = {"error": 0, "message": "Success",
                                 "data": {"message_id": f"m{len(self.messages)}", "user_id": recipient}}
            self.messages.append(call)
            self._changed.notify_all()
        return JSONResponse(call.response)

    async def _refresh(self, request: Request) -> JSONResponse:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}  # (no python-multipart)
        with self._changed:
            call = Call(request.url.path, dict(request.headers), form)
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                call.response = {"error": -14001, "error_name": "Form expected"}
            elif request.headers.get("secret_key") != self.app_secret:
                call.response = {"error": -14014, "error_name": "Invalid secret key"}
            elif form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
                call.response = {"error": -14002, "error_name": "Invalid app id or grant type"}
            elif form.get("refresh_token") != self.refresh_token:
                call.response = {"error": -14020, "error_name": "Invalid refresh token"}
            else:
                n = next(self._serial)
                self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
                call.response = {"access_token": self.access_token, "refresh_token": self.refresh_token,
                                 "expires_in": "90000"}
            self.refreshes.append(call)
            self._changed.notify_all()
        return JSONResponse(call.response)
