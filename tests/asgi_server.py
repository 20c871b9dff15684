"""Serve an ASGI app (the gateway, a fake Telegram or Zalo API) with uvicorn in a thread, for tests."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import uvicorn

from bot.processes import free_port


@contextlib.contextmanager
def serve(app, port: int | None = None) -> Iterator[str]:
    """Yield the base URL once uvicorn has started (lifespan done); shut it down afterwards."""
    port = port or free_port()
    # proxy_headers off, as `make run` has it: the gateway alone decides whom to believe (X-Forwarded-For)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                          proxy_headers=False))
    started = threading.Event()

    def run() -> None:
        import asyncio

        async def main() -> None:
            task = asyncio.ensure_future(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            started.set()
            await task

        asyncio.run(main())

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    if not started.wait(30) or not server.started:
        raise RuntimeError(f"uvicorn did not start on port {port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
