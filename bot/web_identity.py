"""Who is talking on the web chat API (`POST /api/chat`): nobody chooses their id by saying it.

- a browser's conversation is issued by the gateway in a signed, HttpOnly, SameSite=Lax cookie
  (Starlette's SessionMiddleware, itsdangerous); a request without a valid one (none, tampered,
  expired) starts a new conversation, and the body's `sender` is ignored;
- an integration authenticates with `Authorization: Bearer <TROLYAO_API_KEY>` and names its own
  users: its `sender` becomes `web:<sender>`.
Browsers are also limited per client address (messages, and new conversations per hour), so
rotating cookies neither dodges the per-conversation limit nor makes conversations without end.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import asdict, dataclass

from limits import RateLimitItemPerHour, parse_many
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.gateway import APOLOGY, RATE_LIMITED
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage
from bot.state import GatewayStore, StateUnavailable

log = logging.getLogger("trolyao.gateway")

CONVERSATION = "conversation"        # the session's key holding the web conversation id
MAX_SENDER_CHARS = 100
TOO_MANY_CONVERSATIONS = ("Có quá nhiều cuộc trò chuyện mới được mở từ địa chỉ mạng của bạn trong một giờ qua. "
                          "Bạn vui lòng thử lại sau.")


@dataclass(frozen=True)
class WebCaller:
    user_id: str          # the id after `web:`
    integration: bool     # authenticated with the API key (its own sender), else a cookie conversation


class Refused(Exception):
    """A request the API does not pass on: an English ``error`` for the program, and for a person
    using the web chat the same in Vietnamese as a message it can show."""

    def __init__(self, status: int, error: str, text: str | None = None):
        super().__init__(error)
        self.status, self.error, self.text = status, error, text

    def response(self) -> JSONResponse:
        body: dict = {"error": self.error}
        if self.text:
            body["messages"] = [asdict(BotMessage(self.text))]
        return JSONResponse(body, status_code=self.status)


class WebIdentity:
    def __init__(self, state: GatewayStore, pseudonyms: Pseudonyms, api_key: str | None,
                 address_rate_limit: str, new_conversations_per_hour: int):
        self.state = state
        self.pseudonyms = pseudonyms
        self._api_key = (api_key or "").encode() or None
        self._address_limits = parse_many(address_rate_limit)
        self._new_limits = [RateLimitItemPerHour(new_conversations_per_hour)]

    def caller(self, request: Request, sender: object) -> WebCaller:
        """The caller of ``request`` (``sender``: the body's, used only for integrations); a cookie
        conversation is started when the browser has none. Raises Refused."""
        if "authorization" in request.headers:
            return WebCaller(self._integration_sender(request.headers["authorization"], sender), True)
        address = self._address(request)
        self._hit(self._address_limits, f"address:{address}", 429, "too many requests from this address",
                  RATE_LIMITED)
        conversation = request.session.get(CONVERSATION)
        if isinstance(conversation, str) and conversation:
            request.session[CONVERSATION] = conversation    # rewritten: the cookie's lifetime slides
            return WebCaller(conversation, False)
        return WebCaller(self._start(request, address), False)

    def current(self, request: Request) -> str | None:
        """The browser's conversation id (its cookie's), or None: nothing is started."""
        conversation = request.session.get(CONVERSATION)
        return conversation if isinstance(conversation, str) and conversation else None

    def conversation(self, request: Request) -> str:
        """The browser's conversation id, started when it has none (an official's invitation link
        opened in a fresh browser). Raises Refused."""
        return self.current(request) or self._start(request, self._address(request))

    def new_conversation(self, request: Request) -> None:
        """`POST /api/chat/new`: the browser's next message belongs to a conversation of its own."""
        address = self._address(request)
        self._hit(self._address_limits, f"address:{address}", 429, "too many requests from this address",
                  RATE_LIMITED)
        self._start(request, address)

    def _start(self, request: Request, address: str) -> str:
        self._hit(self._new_limits, f"new:{address}", 429, "too many new conversations from this address",
                  TOO_MANY_CONVERSATIONS)
        conversation = secrets.token_urlsafe(18)
        request.session[CONVERSATION] = conversation
        log.info("web %s conversation started", self.pseudonyms.of(f"web:{conversation}"))
        return conversation

    def _integration_sender(self, authorization: str, sender: object) -> str:
        scheme, _, token = authorization.partition(" ")
        if self._api_key is None:
            raise Refused(401, "integration access is off: TROLYAO_API_KEY is not set on this server")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8", "replace"),
                                                                 self._api_key):
            log.warning("web: request with a wrong API key refused")
            raise Refused(401, "invalid API key: send Authorization: Bearer <TROLYAO_API_KEY>")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
            raise Refused(400, f"an integration must send \"sender\": a non-empty string of at most "
                               f"{MAX_SENDER_CHARS} characters")
        return sender.strip()

    def _address(self, request: Request) -> str:
        """The client's address as a pseudonym (an address is personal data too); behind a trusted
        proxy, `request.client` is already the forwarded one (bot/web_security.py)."""
        return self.pseudonyms.of(request.client.host if request.client else "unknown")

    def _hit(self, limits, key: str, status: int, error: str, text: str) -> None:
        try:
            allowed = self.state.hit(limits, key)
        except StateUnavailable as exc:
            log.warning("web: gateway store unavailable: %s", exc)
            raise Refused(503, "the gateway's store is unavailable", APOLOGY) from None
        if not allowed:
            log.info("web %s: %s", key, error)
            raise Refused(status, error, text)
