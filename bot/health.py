"""The gateway's /healthz: every process and server of the mode it runs in, each asked at once.

`make run`: Rasa and the action server. `make run-scaled`: each Rasa worker, each action worker (at its
own address: they share one port for Rasa), Redis (PING) and PostgreSQL (a query). A check that does
not answer within PROBE_TIMEOUT_S counts as down, so /healthz itself answers within about that.

The two servers are also asked before every turn of the scale-out mode (bot/gateway.py): Rasa wraps
its tracker store in a fail-safe one, so with PostgreSQL down it would answer from an empty in-memory
conversation and a follow-up would lose its context. Their probes keep one connection each (a query
on it costs a fraction of a millisecond) and open a new one after a failure.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import httpx
import psycopg
import redis.asyncio

from bot.addresses import PostgresAddress, RedisAddress
from retrieval.settings import Settings

PROBE_TIMEOUT_S = 2.0
Probe = Callable[[], Awaitable[bool]]


def http_probe(http: httpx.AsyncClient, url: str) -> Probe:
    async def probe() -> bool:
        return (await http.get(url, timeout=PROBE_TIMEOUT_S)).status_code == 200
    return probe


class RedisProbe:
    def __init__(self, address: RedisAddress):
        # The client's pool reconnects by itself once Redis is back.
        self.client = redis.asyncio.Redis(host=address.host, port=address.port, db=address.db,
                                          password=address.password, socket_timeout=PROBE_TIMEOUT_S,
                                          socket_connect_timeout=PROBE_TIMEOUT_S)

    async def __call__(self) -> bool:
        return bool(await self.client.ping())

    async def aclose(self) -> None:
        await self.client.aclose()


class PostgresProbe:
    def __init__(self, address: PostgresAddress):
        self.url = address.url
        self.connection: psycopg.AsyncConnection | None = None

    async def __call__(self) -> bool:
        if self.connection is None or self.connection.closed:
            self.connection = await psycopg.AsyncConnection.connect(self.url, connect_timeout=PROBE_TIMEOUT_S,
                                                                    autocommit=True)
        try:
            return (await (await self.connection.execute("SELECT 1")).fetchone()) == (1,)
        except psycopg.Error:
            await self.aclose()     # a broken connection: the next probe opens a new one
            raise

    async def aclose(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None


def store_probes(settings: Settings) -> dict[str, RedisProbe | PostgresProbe]:
    """The servers every turn of the scale-out mode needs (none in the embedded mode)."""
    if not settings.scaled:
        return {}
    return {"redis": RedisProbe(RedisAddress.parse(settings.redis_url)),
            "postgres": PostgresProbe(PostgresAddress.parse(settings.database_url))}


def numbered(kind: str, urls: list[str], path: str, http: httpx.AsyncClient) -> dict[str, Probe]:
    """``rasa`` for a single server, ``rasa-1``, ``rasa-2``… for workers."""
    if len(urls) == 1:
        return {kind: http_probe(http, f"{urls[0]}{path}")}
    return {f"{kind}-{number}": http_probe(http, f"{url}{path}") for number, url in enumerate(urls, start=1)}


def process_probes(settings: Settings, http: httpx.AsyncClient) -> dict[str, Probe]:
    return {**numbered("rasa", settings.rasa_urls, "/status", http),
            **numbered("actions", settings.action_urls, "/health", http)}


async def check(named: dict[str, Probe]) -> dict[str, bool]:
    """Every probe at once; an error or a timeout is "down" (the reason is not the caller's to see)."""
    async def safely(probe: Probe) -> bool:
        try:
            return await asyncio.wait_for(probe(), PROBE_TIMEOUT_S + 0.5)
        except Exception:   # any failure of a probe means down; /healthz must answer regardless
            return False
    results = await asyncio.gather(*(safely(probe) for probe in named.values()))
    return dict(zip(named, results))
