"""A stand-in for Rasa's REST webhook (Rasa is not ours to fake in dialogue tests, but the gateway's
own edge tests need only its contract): answers "Đã nhận: <message>" and remembers each sender."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeRasa:
    def __init__(self):
        self.senders: list[str] = []

        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            self.senders.append(body["sender"])
            return JSONResponse([{"recipient_id": body["sender"], "text": f"Đã nhận: {body['message']}"}])

        self.app = Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])
