"""The gateway's state in Redis (scale-out mode), on a redis-server of the test's own: two gateway
processes share redelivery keys, rate-limit windows and the newest Zalo tokens; with Redis down the
user gets the apology (never an unlimited or twice-answered message), and service resumes by itself
when Redis is back."""
from __future__ import annotations

import asyncio
import os
import subprocess
from collections import defaultdict

import pytest
from asgi_server import serve
from conftest import REPO
from test_gateway_spread import rasa_stand_in

from bot.addresses import RedisAddress
from bot.gateway import APOLOGY, RATE_LIMITED, Gateway
from bot.processes import free_port
from bot.redis_state import RedisGatewayState
from bot.servers import RedisServer
from bot.state import StateUnavailable
from retrieval.settings import Settings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    installed = subprocess.run([str(REPO / "scripts/servers.sh")], capture_output=True, text=True)
    if installed.returncode != 0:
        message = f"redis-server cannot be installed here:\n{installed.stderr[-1500:]}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    server = RedisServer(RedisAddress("127.0.0.1", free_port(), 2), tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def two_processes(redis_server):
    """The state as two gateway processes see it (each its own client)."""
    stores = [RedisGatewayState(redis_server.address) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def test_a_message_redelivered_to_another_process_is_answered_once(two_processes):
    first, second = two_processes
    key = f"tg:{os.urandom(4).hex()}"
    assert first.first_time(key, 60) is True
    assert second.first_time(key, 60) is False and first.first_time(key, 60) is False
    assert second.first_time(f"{key}-other", 60) is True


def test_the_rate_limit_counts_a_sender_across_processes(redis_server, two_processes):
    settings = Settings(rasa_url=f"http://127.0.0.1:{free_port()}", rate_limit="3/minute")
    sender = os.urandom(4).hex()

    async def turns() -> list[str]:
        gateways = [Gateway(settings, state=store) for store in two_processes]
        texts = [(await gateways[turn % 2].handle("web", sender, "xin chào"))[0].text for turn in range(5)]
        for gateway in gateways:
            await gateway.aclose()
        return texts

    texts = asyncio.run(turns())
    assert texts[:3] == [APOLOGY] * 3              # counted (Rasa is down here: the apology answers)
    assert texts[3:] == [RATE_LIMITED] * 2         # the fourth and fifth, whichever process got them


def test_the_newest_zalo_tokens_are_seen_by_every_process(two_processes):
    first, second = two_processes
    name = f"zalo-{os.urandom(4).hex()}"
    assert second.tokens(name, "configured-access", "configured-refresh") == ("configured-access",
                                                                              "configured-refresh")
    first.save_tokens(name, "configured-refresh", "access-2", "refresh-2")
    assert second.tokens(name, "configured-access", "configured-refresh") == ("access-2", "refresh-2")
    # An operator who configures a new refresh token overrides what was saved from the old one.
    assert second.tokens(name, "access-new", "refresh-new") == ("access-new", "refresh-new")


def test_with_redis_down_the_user_gets_the_apology_and_service_resumes_when_it_returns(redis_server):
    with serve(rasa_stand_in("rasa", defaultdict(list))) as rasa:
        settings = Settings(rasa_url=rasa, rate_limit="100/minute")
        store = RedisGatewayState(redis_server.address)

        async def ask(text: str) -> str:
            gateway = Gateway(settings, state=store)
            try:
                return (await gateway.handle("web", "someone", text, message_id=text))[0].text
            finally:
                await gateway.aclose()

        assert asyncio.run(ask("trước")) == "rasa: trước"
        redis_server.stop()
        try:
            with pytest.raises(StateUnavailable):
                store.first_time("any", 60)
            assert asyncio.run(ask("trong lúc")) == APOLOGY
        finally:
            redis_server.start()
        assert asyncio.run(ask("sau")) == "rasa: sau"       # the same client, reconnected by itself
        store.close()
