"""The Telegram channel over the real gateway + Rasa + action server, against a fake Bot API server."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_server import serve
from bot.app import create_app
from bot.config import Settings
from bot.processes import free_port
from bot.rasa_client import BotMessage
from bot.channels.telegram import MAX_CALLBACK_BYTES, CallbackPayloads, escaped_len, render
from fake_telegram import FakeTelegram, callback_update, html_error, message_update, visible_text

pytestmark = pytest.mark.model

TOKEN = "123:ABC"
SECRET = "s3cret_Webhook-token"
WEBHOOK_PATH = "/telegram/webhook"


@pytest.fixture
def fake():
    telegram = FakeTelegram()
    with serve(telegram.app) as url:
        telegram.url = url
        yield telegram


def telegram_settings(base: Settings, fake: FakeTelegram, **changes) -> Settings:
    return dataclasses.replace(base, telegram_bot_token=TOKEN, telegram_api_base=fake.url, **changes)


@contextlib.contextmanager
def polling_gateway(base: Settings, fake: FakeTelegram):
    with serve(create_app(telegram_settings(base, fake))) as url:
        yield url


@contextlib.contextmanager
def webhook_gateway(base: Settings, fake: FakeTelegram):
    port = free_port()
    settings = telegram_settings(base, fake, telegram_webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                                 telegram_webhook_secret=SECRET)
    with serve(create_app(settings), port=port) as url:
        yield url


def post_update(url: str, update: dict, secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return httpx.post(f"{url}{WEBHOOK_PATH}", json=update, headers=headers, timeout=10)


def call_index(fake: FakeTelegram, call) -> int:
    return next(i for i, c in enumerate(fake.calls) if c is call)


# --- end to end over the real dialogue ------------------------------------------------------------------

def test_question_gets_an_escaped_html_answer_with_citation_cards_after_typing(gateway_settings, fake):
    chat = 501
    with webhook_gateway(gateway_settings, fake) as url:
        assert post_update(url, message_update(1, chat, "Công văn 704/UBND-KGVX <b>nói gì</b> & ai làm?")).status_code == 200
        answer = fake.wait_sent(chat)[0]
    text = answer.params["text"]
    assert answer.params["parse_mode"] == "HTML" and html_error(text) is None
    assert "sốt xuất huyết" in text
    assert "📄 <b>Công văn 704/UBND-KGVX</b> (23/6/2022, UBND tỉnh)" in text
    assert "Nguồn: Công văn số" not in text and text.count("<b>Nguồn:</b>") == 1   # cards, not the lines again
    assert "<b>nói gì</b>" not in text
    typing = fake.recorded("sendChatAction", chat)
    assert typing and typing[0].params["action"] == "typing"
    assert call_index(fake, typing[0]) < call_index(fake, answer)
    webhook = fake.recorded("setWebhook")
    assert webhook and webhook[0].params["url"].endswith(WEBHOOK_PATH) and webhook[0].params["secret_token"] == SECRET


def test_buttons_become_an_inline_keyboard_and_pressing_one_answers_the_choice(gateway_settings, fake):
    chat = 502
    with polling_gateway(gateway_settings, fake):
        fake.push(message_update(10, chat, "Kế hoạch 146/KH-UBND về việc gì?"))
        fake.wait_sent(chat, 1)
        fake.push(message_update(11, chat, "Hạn chót khi nào?"))
        choice = fake.wait_sent(chat, 2)[1]
        rows = choice.params["reply_markup"]["inline_keyboard"]
        assert len(rows) >= 2 and all(len(row) == 1 for row in rows)
        second = rows[1][0]
        assert len(second["callback_data"].encode()) <= MAX_CALLBACK_BYTES
        fake.push(callback_update(12, chat, second["callback_data"], "cb-502", message=choice.result))
        chosen = fake.wait_sent(chat, 3)[2]
        answered = fake.wait_for(lambda f: f.recorded("answerCallbackQuery"), what="answerCallbackQuery")
    assert "vào năm 2023" in chosen.params["text"]
    assert answered[0].params["callback_query_id"] == "cb-502"
    assert answered[0].params.get("text") == f"Bạn chọn: {second['text']}"[:200]
    assert call_index(fake, answered[0]) < call_index(fake, chosen)


def test_start_help_and_unknown_commands_answer_in_vietnamese(gateway_settings, fake):
    chat = 503
    with polling_gateway(gateway_settings, fake):
        fake.push(message_update(20, chat, "/start"))
        fake.wait_sent(chat, 1)
        fake.push(message_update(21, chat, "/help"))
        fake.wait_sent(chat, 2)
        fake.push(message_update(22, chat, '/choose_option{"option": "1"}'))
        start, help_, unknown = (c.params["text"] for c in fake.wait_sent(chat, 3))
    assert "Xin chào" in start and "Trợ lý ảo" in start and "UBND tỉnh Lạng Sơn" in start
    assert "Hướng dẫn sử dụng" in help_ and "Hạn chót khi nào?" in help_
    assert unknown == help_   # a command it does not know (no intent injection through Telegram)


def test_polling_gets_updates_from_get_updates_and_never_logs_the_token(gateway_settings, fake, caplog):
    chat = 504
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")   # the CLI's ingest (sample_index) quietened it
    with polling_gateway(gateway_settings, fake) as url:
        fake.push(message_update(30, chat, "xin chào"))
        reply = fake.wait_sent(chat)[0]
        no_webhook = httpx.post(f"{url}{WEBHOOK_PATH}", json={}, timeout=10)
    assert reply.params["text"].strip()
    assert fake.recorded("getUpdates") and fake.recorded("deleteWebhook") and not fake.recorded("setWebhook")
    assert no_webhook.status_code in (404, 405)
    assert "/bot<token>/getUpdates" in caplog.text      # httpx did log the URLs…
    assert "Set Bot API URL" in caplog.text and TOKEN not in caplog.text   # …with the token redacted


def test_webhook_rejects_a_missing_or_wrong_secret_and_processes_nothing(gateway_settings, fake):
    bad_chat, good_chat = 505, 506
    with webhook_gateway(gateway_settings, fake) as url:
        missing = post_update(url, message_update(40, bad_chat, "xin chào"), secret=None)
        wrong = post_update(url, message_update(41, bad_chat, "xin chào"), secret=SECRET + "x")
        right = post_update(url, message_update(42, good_chat, "xin chào"))
        fake.wait_sent(good_chat)   # the accepted one is answered: a barrier for the rejected ones
    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert not [c for c in fake.calls if str(c.params.get("chat_id")) == str(bad_chat)]


def test_webhook_mode_without_a_secret_refuses_to_start():
    settings = Settings(telegram_bot_token=TOKEN, telegram_webhook_url="https://example.org/telegram/webhook")
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        create_app(settings)


def test_a_redelivered_update_is_answered_once(gateway_settings, fake):
    chat = 507
    question = message_update(50, chat, "Công văn 704/UBND-KGVX nói gì?")
    with webhook_gateway(gateway_settings, fake) as url:
        assert post_update(url, question).status_code == 200
        assert post_update(url, question).status_code == 200        # Telegram retrying the same update
        assert post_update(url, message_update(51, chat, "xin chào")).status_code == 200
        # Updates of one chat are handled in order: once "xin chào" is answered, so is the redelivery.
        fake.wait_for(lambda f: any("sốt xuất huyết" not in c.params["text"] for c in f.sent(chat)),
                      what="the answer to 'xin chào'")
    answers = [c for c in fake.sent(chat) if "sốt xuất huyết" in c.params["text"]]
    assert len(answers) == 1


def test_a_429_is_retried_after_retry_after_and_the_message_arrives(gateway_settings, fake):
    chat = 508
    fake.fail_next_send_message(retry_after=1)
    with webhook_gateway(gateway_settings, fake) as url:
        post_update(url, message_update(60, chat, "Công văn 704/UBND-KGVX nói gì?"))
        delivered = fake.wait_sent(chat)[0]
    attempts = fake.recorded("sendMessage", chat, ok_only=False)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert "sốt xuất huyết" in delivered.params["text"]


# --- long answers -----------------------------------------------------------------------------------------

def sentences(count: int) -> str:
    return " ".join(f"Câu thứ {i} nói về <b>việc</b> & nhiệm vụ số {i} của các sở, ban, ngành."
                    for i in range(count))


def test_render_splits_escapes_and_adds_cards_for_long_messages():
    citation = {"doc_number": "704/UBND-KGVX", "doc_type": "Công văn", "issued_date": "2022-06-23",
                "issuer": "UBND tỉnh", "quote": "Trích dẫn có <thẻ> & ký tự đặc biệt."}
    message = BotMessage(sentences(150) + "\nNguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh",
                         citations=[citation])
    chunks = render(message)
    assert len(chunks) >= 3 and all(len(c) <= 4096 and html_error(c) is None for c in chunks)
    assert "Nguồn: Công văn số" not in "".join(chunks)
    assert chunks[-1].endswith("📄 <b>Công văn 704/UBND-KGVX</b> (23/6/2022, UBND tỉnh)\n"
                               "<i>“Trích dẫn có &lt;thẻ&gt; &amp; ký tự đặc biệt.”</i>")


def test_long_callback_payloads_go_through_a_table():
    payloads = CallbackPayloads()
    short = '/choose_option{"option": "2"}'
    long = '/ask_document{"doc_number": "' + "Quyết định số 1234/QĐ-UBND ngày 31/12/2024" * 2 + '"}'
    assert payloads.decode(payloads.encode(short)) == short
    encoded = payloads.encode(long)
    assert len(encoded.encode()) <= MAX_CALLBACK_BYTES and payloads.decode(encoded) == long
    assert payloads.decode("k:unknown") is None


@contextlib.contextmanager
def echoing_rasa(text_for: callable):
    """A stand-in for Rasa's REST webhook whose answer is long (no real answer exceeds 4096 chars)."""
    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse([{"recipient_id": body["sender"], "text": text_for(body["message"])},
                             {"recipient_id": body["sender"], "custom": {"citations": [], "abstained": False}}])

    with serve(Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])) as url:
        yield url


def test_a_long_answer_arrives_split_under_4096_with_the_echo_escaped(fake):
    chat = 509
    long = sentences(150)
    with echoing_rasa(lambda question: f"Bạn hỏi: {question}\n{long}") as rasa_url:
        settings = telegram_settings(Settings(rasa_url=rasa_url, max_message_chars=1000), fake)
        with serve(create_app(settings)):
            fake.push(message_update(70, chat, "Việc <b>A</b> & B?"))
            fake.wait_for(lambda f: any(c.params["text"].endswith("149 của các sở, ban, ngành.")
                                        for c in f.sent(chat)), what="the last part of the long answer")
    sent = fake.recorded("sendMessage", chat, ok_only=False)
    assert len(sent) >= 3 and all(c.status == 200 and len(c.params["text"]) <= 4096 for c in sent)
    assert sent[0].params["text"].startswith("Bạn hỏi: Việc &lt;b&gt;A&lt;/b&gt; &amp; B?")
    shown = "\n".join(visible_text(c.params["text"]) for c in sent)
    assert re.sub(r"\s+", " ", shown) == f"Bạn hỏi: Việc <b>A</b> & B? {long}"
    assert all(visible_text(c.params["text"]).endswith((".", "?")) for c in sent)

