"""The gateway core over the real dialogue: POST /api/chat, /healthz, redelivery, limits, outages."""
from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr

from asgi_server import serve
from bot.app import create_app
from bot.gateway import APOLOGY, RATE_LIMITED, Gateway
from bot.processes import free_port


def test_web_chat_api_answers_with_text_buttons_and_citations(gateway_settings):
    with serve(create_app(gateway_settings)) as url:
        reply = httpx.post(f"{url}/api/chat", json={"sender": "w1", "message": "Công văn 704/UBND-KGVX nói gì?"},
                           timeout=60).json()
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        page = httpx.get(f"{url}/", timeout=10)
    message = reply["messages"][0]
    assert set(message) == {"text", "buttons", "citations", "abstained"}
    assert "sốt xuất huyết" in message["text"] and message["citations"][0]["doc_number"] == "704/UBND-KGVX"
    assert page.status_code == 200 and "Trợ lý ảo" in page.text


def test_bad_requests_get_a_400_with_the_expected_shape(gateway_settings):
    integration = gateway_settings.model_copy(update=dict(api_key=SecretStr("k")))
    with serve(create_app(integration)) as url:
        assert httpx.post(f"{url}/api/chat", content=b"not json").status_code == 400
        bad = httpx.post(f"{url}/api/chat", json={"sender": "w0", "text": "hi"})
        nameless = httpx.post(f"{url}/api/chat", json={"message": "hi"}, headers={"Authorization": "Bearer k"})
    assert bad.status_code == 400 and "message" in bad.json()["error"]
    assert nameless.status_code == 400 and "sender" in nameless.json()["error"]


def test_healthz_is_503_when_rasa_is_down_and_users_get_an_apology(gateway_settings):
    down = gateway_settings.model_copy(update=dict(rasa_url=f"http://127.0.0.1:{free_port()}"))
    with serve(create_app(down)) as url:
        health = httpx.get(f"{url}/healthz", timeout=10)
        reply = httpx.post(f"{url}/api/chat", json={"sender": "w2", "message": "xin chào"}, timeout=30).json()
    assert health.status_code == 503 and health.json() == {"rasa": False, "actions": True}
    assert reply["messages"][0]["text"] == APOLOGY


def test_redelivered_message_is_answered_once(gateway_settings):
    async def run():
        gateway = Gateway(gateway_settings)
        first = await gateway.handle("tg", "42", "xin chào", message_id="1001")
        again = await gateway.handle("tg", "42", "xin chào", message_id="1001")
        await gateway.aclose()
        return first, again

    first, again = asyncio.run(run())
    assert first and first[0].text and again is None


def test_floods_and_oversized_messages_get_polite_answers_without_rasa(gateway_settings):
    limited = gateway_settings.model_copy(update=dict(rate_limit="2/minute", max_message_chars=50))

    async def run():
        gateway = Gateway(limited)
        replies = [await gateway.handle("web", "flood", f"câu hỏi {i}") for i in range(3)]
        long = await gateway.handle("web", "other", "x" * 51)
        await gateway.aclose()
        return replies, long

    replies, long = asyncio.run(run())
    assert replies[2][0].text == RATE_LIMITED and replies[0][0].text != RATE_LIMITED
    assert "dài quá (51 ký tự)" in long[0].text
