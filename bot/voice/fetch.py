"""Downloading a voice note from where a channel keeps it (Telegram's file API, Zalo's and Meta's CDNs):
http(s) only, within a time limit, and never more than a byte cap, however much the server sends or
says it will send."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx

CONNECT_TIMEOUT_S = 5.0
TIMEOUT_S = 20.0                  # the whole download: a server dripping bytes cannot hold a worker


class DownloadTooLarge(Exception):
    """The file is larger than the cap (as the server declared it, or as it streamed)."""


class DownloadFailed(Exception):
    """Not an http(s) URL, unreachable, an error status, or too slow."""


def download_client() -> httpx.AsyncClient:
    """The client voice notes are downloaded with (CDNs redirect to their edge: followed)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S), follow_redirects=True)


async def download(http: httpx.AsyncClient, url: str, max_bytes: int, timeout_s: float = TIMEOUT_S) -> bytes:
    """The body at ``url``; DownloadTooLarge past ``max_bytes``, DownloadFailed otherwise. Messages
    never carry the URL (Telegram's holds the bot token)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadFailed("not an http(s) URL")
    try:
        async with asyncio.timeout(timeout_s):
            # identity: the cap counts the bytes as they arrive, never a decompressed multiple of them
            async with http.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
                if response.status_code != 200:
                    raise DownloadFailed(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise DownloadTooLarge(f"{declared} bytes declared")
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > max_bytes:
                        raise DownloadTooLarge(f"more than {max_bytes} bytes")
                return bytes(body)
    except TimeoutError:
        raise DownloadFailed(f"not done within {timeout_s:.0f} s") from None
    except httpx.HTTPError as exc:
        raise DownloadFailed(type(exc).__name__) from None
