"""The gateway over several Rasa workers (scale-out mode): each user always reaches the same worker,
the users spread over all of them, a user whose worker is gone is answered by the next one (but a
slow worker is not asked twice), and /healthz names every worker."""
from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

import httpx
from asgi_server import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app import create_app
from bot.gateway import APOLOGY, Gateway, rasa_worker, rasa_workers
from bot.processes import free_port
from retrieval.settings import Settings


def rasa_stand_in(name: str, seen: dict[str, list[str]]) -> Starlette:
    """Rasa's REST webhook and /status, answering with its own name (a stand-in for Rasa, not ours)."""
    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        seen[body["sender"]].append(name)
        return JSONResponse([{"recipient_id": body["sender"], "text": f"{name}: {body['message']}"}])

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "stand-in"})

    return Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"]), Route("/status", status)])


def test_each_user_stays_on_one_worker_and_users_spread_over_all():
    seen: dict[str, list[str]] = defaultdict(list)
    with serve(rasa_stand_in("one", seen)) as one, serve(rasa_stand_in("two", seen)) as two:
        settings = Settings(rasa_worker_urls=f"{one}, {two}", rate_limit="100/minute")

        async def talk() -> None:
            gateway = Gateway(settings)
            for turn in range(3):
                for user in range(20):
                    replies = await gateway.handle("web", f"user-{user}", f"câu {turn}")
                    assert replies[0].text.endswith(f"câu {turn}")
            await gateway.aclose()

        asyncio.run(talk())
    assert len(seen) == 20 and all(len(set(workers)) == 1 and len(workers) == 3 for workers in seen.values())
    assert {workers[0] for workers in seen.values()} == {"one", "two"}
    urls = {"one": one, "two": two}
    assert all(rasa_worker(sender, [one, two]) == urls[workers[0]] for sender, workers in seen.items())


def test_the_spread_is_the_same_in_every_process():
    # sha256, not Python's hash() (salted per process): a restarted gateway sends a user to the same worker.
    urls = ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]
    assert [rasa_worker(f"web:user-{n}", urls)[-1] for n in range(8)] == ["5", "5", "6", "5", "5", "6", "5", "5"]


def test_healthz_names_every_worker_and_fails_when_one_is_down():
    seen: dict[str, list[str]] = defaultdict(list)
    with serve(rasa_stand_in("one", seen)) as one:
        settings = Settings(rasa_worker_urls=f"{one},http://127.0.0.1:{free_port()}",
                            action_server_url=f"http://127.0.0.1:{free_port()}")
        with serve(create_app(settings)) as url:
            health = httpx.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 503
    assert set(health.json()) == {"rasa-1", "rasa-2", "actions"}
    assert health.json()["rasa-1"] is True and health.json()["rasa-2"] is False


def test_a_user_whose_worker_is_gone_is_answered_by_the_next_one():
    seen: dict[str, list[str]] = defaultdict(list)
    gone = f"http://127.0.0.1:{free_port()}"          # nothing listens there: a killed worker
    with serve(rasa_stand_in("live", seen)) as live:
        settings = Settings(rasa_worker_urls=f"{gone},{live}", rate_limit="100/minute")
        orphans = [f"user-{n}" for n in range(40) if rasa_worker(f"web:user-{n}", [gone, live]) == gone]

        async def talk() -> list[str]:
            gateway = Gateway(settings)
            replies = [(await gateway.handle("web", user, "câu hỏi"))[0].text for user in orphans]
            await gateway.aclose()
            return replies

        replies = asyncio.run(talk())
    assert orphans and replies == ["live: câu hỏi"] * len(orphans)
    assert all(rasa_workers(f"web:{user}", [gone, live]) == [gone, live] for user in orphans)


def slow_worker(seen: dict[str, list[str]], name: str, released: threading.Event) -> Starlette:
    """A worker that receives the turn and holds it until ``released`` (a frozen action server behind it)."""
    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        seen[body["sender"]].append(name)
        await asyncio.to_thread(released.wait, 60)
        return JSONResponse([])

    return Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])


def test_a_slow_worker_gets_the_apology_and_the_turn_is_not_sent_twice():
    seen: dict[str, list[str]] = defaultdict(list)
    released = threading.Event()
    with serve(slow_worker(seen, "slow", released)) as slow, serve(rasa_stand_in("other", seen)) as other:
        settings = Settings(rasa_worker_urls=f"{slow},{other}", rasa_timeout_s=0.5, rate_limit="100/minute")
        user = next(f"user-{n}" for n in range(40) if rasa_worker(f"web:user-{n}", [slow, other]) == slow)

        async def talk():
            gateway = Gateway(settings)
            replies = await gateway.handle("web", user, "câu hỏi")
            await gateway.aclose()
            return replies

        replies = asyncio.run(talk())
        released.set()
    assert [reply.text for reply in replies] == [APOLOGY]
    assert seen == {f"web:{user}": ["slow"]}     # the turn may still run there: never a second copy


def test_a_reply_that_is_not_rasas_list_of_messages_gets_the_apology():
    async def webhook(request: Request) -> JSONResponse:
        return JSONResponse({"text": "an object, not a list"})

    with serve(Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])) as odd:
        async def talk():
            gateway = Gateway(Settings(rasa_url=odd))
            replies = await gateway.handle("web", "user", "câu hỏi")
            await gateway.aclose()
            return replies

        assert [reply.text for reply in asyncio.run(talk())] == [APOLOGY]
