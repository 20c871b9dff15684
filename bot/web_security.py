"""The gateway's HTTP middleware: who the client is behind a proxy, the conversation cookie, and the
security headers of every response.

- Client address: only a proxy listed in TROLYAO_TRUSTED_PROXIES is believed about X-Forwarded-For
  (uvicorn's ProxyHeadersMiddleware, which takes IPs and CIDRs); `make run` turns uvicorn's own
  proxy handling off, so this list is the one rule.
- The cookie: Starlette's SessionMiddleware (itsdangerous signature, HttpOnly, SameSite=Lax).
- Headers: a Content-Security-Policy allowing only our own script, style and API (the page has no
  inline script or style, and the chat inserts server text with textContent only), `frame-ancestors`
  from TROLYAO_EMBED_ORIGINS so the portal can embed the page, nosniff, and no referrer to others.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders, Secret
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from retrieval.settings import Settings

COOKIE = "trolyao_conversation"
COOKIE_MAX_AGE_S = 30 * 24 * 3600     # slides: each message rewrites the cookie


def content_security_policy(embed_origins: str) -> str:
    keywords = {"self", "none"}
    ancestors = [f"'{source.strip(chr(39))}'" if source.strip("'") in keywords else source
                 for source in embed_origins.split()] or ["'self'"]
    return "; ".join(["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "connect-src 'self'", "base-uri 'none'", "form-action 'self'",
                      f"frame-ancestors {' '.join(ancestors)}"])


def security_headers(settings: Settings) -> dict[str, str]:
    return {"Content-Security-Policy": content_security_policy(settings.embed_origins),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


class SecurityHeaders:
    """Adds ``headers`` to every HTTP response (pure ASGI: no buffering of the body)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]):
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def middleware(settings: Settings, secret_key: str) -> list[Middleware]:
    """Outermost first: the client address is settled before anything reads it."""
    stack = []
    if settings.trusted_proxy_list:
        stack.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list))
    stack += [Middleware(SecurityHeaders, headers=security_headers(settings)),
              Middleware(SessionMiddleware, secret_key=Secret(secret_key),   # Secret: masked in any repr
                         session_cookie=COOKIE,
                         max_age=COOKIE_MAX_AGE_S, same_site="lax")]
    return stack
