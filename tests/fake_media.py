"""Files a fake API serves at URLs of its own (Telegram's file API, Zalo's and Meta's CDN links), each
download recorded. A file added without content is an endless stream with no Content-Length, as a
hostile or broken server might send: a client that does not cap what it reads never finishes it."""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

CHUNK = 64 * 1024


@dataclass
class HostedFiles:
    files: dict[str, tuple[bytes | None, str]] = field(default_factory=dict)   # name → (content, type)
    downloads: list[str] = field(default_factory=list)                         # names asked for, in order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, content: bytes | None, content_type: str = "audio/mp4") -> None:
        with self._lock:
            self.files[name] = (content, content_type)

    def downloaded(self, name: str) -> int:
        with self._lock:
            return self.downloads.count(name)

    async def serve(self, name: str, request: Request) -> Response:
        with self._lock:
            self.downloads.append(name)
            found = self.files.get(name)
        if found is None:
            return Response("not found", status_code=404)
        content, content_type = found
        if content is None:
            async def endless():
                while True:
                    yield b"\0" * CHUNK
                    await asyncio.sleep(0)     # the server's other requests, and the client hanging up

            return StreamingResponse(endless(), media_type=content_type)
        return Response(content, media_type=content_type)
