"""When what stands behind the gateway fails, the user gets the Vietnamese apology — never silence, a
5xx or a traceback — and the failure is logged.

- the action server stopped, or frozen, behind a real Rasa (a dialogue stack of this module's own,
  since its action server is stopped);
- Rasa answering something that is not its list of messages: malformed JSON, an object, messages of
  the wrong shape, an error status (Rasa's HTTP answers are faked with httpx's MockTransport: the
  edge is Rasa's, our gateway runs for real).

Telegram's own failure path (a handler that raises: logged with its traceback, the apology sent) is in
tests/test_telegram.py, Zalo's in tests/test_zalo.py, beside the rest of each channel.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal

import httpx
import pytest

from asgi_server import serve
from bot.app import create_app
from bot.gateway import APOLOGY, Gateway
from bot.processes import DialogueStack
from retrieval.settings import Settings

QUESTION = "Công văn 704/UBND-KGVX nói gì?"


@pytest.fixture(scope="module")
def own_dialogue(sample_index, tmp_path_factory):
    home = tmp_path_factory.mktemp("failure-dialogue")
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(home / "feedback.sqlite3"),
           "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with DialogueStack(env) as stack:
        yield stack


def settings_for(stack: DialogueStack, data, **changes) -> Settings:
    return Settings(rasa_url=stack.rasa_url, action_server_url=f"http://127.0.0.1:{stack.action_port}", data=data,
                    **changes)


def ask(url: str, sender: str, message: str = QUESTION) -> dict:
    response = httpx.post(f"{url}/api/chat", json={"sender": sender, "message": message}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["messages"][0]


@pytest.mark.stack
def test_a_frozen_action_server_gets_the_apology_within_the_timeout(own_dialogue, tmp_path, caplog):
    actions = own_dialogue.services[0].process
    caplog.set_level(logging.WARNING, logger="trolyao")
    with serve(create_app(settings_for(own_dialogue, tmp_path, rasa_timeout_s=3.0))) as url:
        assert ask(url, "frozen-1")["citations"][0]["doc_number"] == "704/UBND-KGVX"
        os.killpg(actions.pid, signal.SIGSTOP)
        try:
            reply = ask(url, "frozen-2")
        finally:
            os.killpg(actions.pid, signal.SIGCONT)
    assert reply["text"] == APOLOGY
    assert "rasa unavailable: ReadTimeout" in caplog.text


@pytest.mark.stack
def test_a_stopped_action_server_gets_the_apology_and_healthz_names_it(own_dialogue, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="trolyao")
    with serve(create_app(settings_for(own_dialogue, tmp_path))) as url:
        assert ask(url, "down-1")["citations"][0]["doc_number"] == "704/UBND-KGVX"
        own_dialogue.services[0].stop()             # the action server; Rasa goes on without it
        reply = ask(url, "down-2")
        health = httpx.get(f"{url}/healthz", timeout=10)
    assert reply["text"] == APOLOGY and reply["citations"] == []
    assert health.status_code == 503 and health.json() == {"rasa": True, "actions": False}
    assert "Traceback" not in caplog.text and any(r.levelno == logging.WARNING for r in caplog.records)


RASA_ANSWERS = {
    "malformed JSON": (200, b'[{"text": "Xin ch'),
    "an object instead of a list": (200, b'{"messages": [{"text": "Xin ch\\u00e0o"}]}'),
    "a list of strings": (200, b'["Xin ch\\u00e0o"]'),
    "a text that is a number": (200, b'[{"text": 42}]'),
    "buttons that are a string": (200, b'[{"text": "Ch\\u1ecdn", "buttons": "/choose_option"}]'),
    "citations that are a string": (200, b'[{"text": "A"}, {"custom": {"citations": "704", "abstained": false}}]'),
    "an HTML error page": (200, b"<html><body>502 Bad Gateway</body></html>"),
    "invalid UTF-8": (200, b'[{"text": "\xff\xfe"}]'),
    "HTTP 500": (500, b'{"error": "boom"}'),
}


@pytest.mark.parametrize("what", RASA_ANSWERS)
def test_a_reply_from_rasa_that_is_not_its_list_of_messages_gets_the_apology(what, caplog):
    status, body = RASA_ANSWERS[what]
    caplog.set_level(logging.WARNING, logger="trolyao")

    def rasa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    async def run():
        gateway = Gateway(Settings(rasa_url="http://rasa.test"), http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
        try:
            return await gateway.handle("web", "w", "xin chào")
        finally:
            await gateway.aclose()

    replies = asyncio.run(run())
    assert [r.text for r in replies] == [APOLOGY]
    assert "rasa unavailable" in caplog.text and "Traceback" not in caplog.text
