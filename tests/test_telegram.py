"""The Telegram channel against a fake Bot API server.

Its edge (webhook secret, commands, keyboards, 429s, splitting, redelivery, errors) runs over a stub
gateway; two conversations go through the real gateway, Rasa and action server (marked `model`).
"""
from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from asgi_server import serve
from bot.app import create_app
from bot.channels.telegram import (
    BUTTON_EXPIRED,
    CHOOSE,
    MAX_CALLBACK_BYTES,
    callback_payloads,
    TelegramChannel,
    escaped_len,
    render,
    tg_len,
)
from bot.channels.splitting import split_text
from retrieval.settings import Settings
from bot.gateway import APOLOGY
from bot.processes import free_port
from bot.rasa_client import BotMessage
from fake_telegram import FakeTelegram, callback_update, html_error, message_update, visible_text
from stub_gateway import Handled, StubGateway, channel_app, echo

TOKEN = "123:ABC"
SECRET = "s3cret_Webhook-token"
WEBHOOK_PATH = "/telegram/webhook"
CITATION = {"doc_number": "704/UBND-KGVX", "doc_type": "Công văn", "issued_date": "2022-06-23",
            "issuer": "UBND tỉnh", "quote": "Trích dẫn có <thẻ> & ký tự đặc biệt."}


@pytest.fixture
def fake():
    telegram = FakeTelegram()
    with serve(telegram.app) as url:
        telegram.url = url
        yield telegram


@pytest.fixture
def stub():
    return StubGateway()


@contextlib.contextmanager
def served_telegram(fake: FakeTelegram, app_for: Callable[[Settings], object], base: Settings = Settings(),
                    webhook: bool = False) -> Iterator[str]:
    """The app `app_for(settings)` serves, with Telegram pointed at the fake: polling, or a webhook."""
    port = free_port()
    mode = {"telegram_webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            "telegram_webhook_secret": SECRET} if webhook else {}
    settings = base.model_copy(update=dict(telegram_bot_token=TOKEN, telegram_api_base=fake.url, **mode))
    with serve(app_for(settings), port=port) as url:
        yield url


def over(gateway: StubGateway) -> Callable[[Settings], object]:
    return lambda settings: channel_app(TelegramChannel(settings, gateway))


def post_update(url: str, update: dict, secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return httpx.post(f"{url}{WEBHOOK_PATH}", json=update, headers=headers, timeout=10)


def call_index(fake: FakeTelegram, call) -> int:
    return next(i for i, c in enumerate(fake.calls) if c is call)


def sentences(count: int) -> str:
    return " ".join(f"Câu thứ {i} nói về <b>việc</b> & nhiệm vụ số {i} của các sở, ban, ngành."
                    for i in range(count))


# --- the edge, over a stub gateway --------------------------------------------------------------------

def test_a_long_answer_arrives_after_typing_escaped_and_split_under_4096(fake):
    chat = 601
    long = sentences(150)
    stub = StubGateway(reply=lambda question: [BotMessage(f"Bạn hỏi: {question}\n{long}")])
    with served_telegram(fake, over(stub), webhook=True) as url:
        assert post_update(url, message_update(70, chat, "Việc <b>A</b> & B?")).status_code == 200
        fake.wait_for(lambda f: any(c.params["text"].endswith("149 của các sở, ban, ngành.") for c in f.sent(chat)),
                      what="the last part of the long answer")
    assert stub.calls == [Handled("tg", str(chat), "Việc <b>A</b> & B?", "70")]
    sent = fake.recorded("sendMessage", chat, ok_only=False)
    assert len(sent) >= 3 and all(c.status == 200 and c.params["parse_mode"] == "HTML" for c in sent)
    assert sent[0].params["text"].startswith("Bạn hỏi: Việc &lt;b&gt;A&lt;/b&gt; &amp; B?")
    shown = "\n".join(visible_text(c.params["text"]) for c in sent)
    assert re.sub(r"\s+", " ", shown) == f"Bạn hỏi: Việc <b>A</b> & B? {long}"
    assert all(visible_text(c.params["text"]).endswith((".", "?")) for c in sent)
    typing = fake.recorded("sendChatAction", chat)
    assert typing and typing[0].params["action"] == "typing"
    assert call_index(fake, typing[0]) < call_index(fake, sent[0])


def test_webhook_rejects_a_missing_or_wrong_secret_and_a_body_that_is_no_update(fake, stub):
    bad_chat, good_chat = 605, 606
    with served_telegram(fake, over(stub), webhook=True) as url:
        missing = post_update(url, message_update(40, bad_chat, "xin chào"), secret=None)
        wrong = post_update(url, message_update(41, bad_chat, "xin chào"), secret=SECRET + "x")
        empty = post_update(url, {})
        right = post_update(url, message_update(42, good_chat, "xin chào"))
        fake.wait_sent(good_chat)   # the accepted one is answered: a barrier for the rejected ones
    assert (missing.status_code, wrong.status_code, empty.status_code, right.status_code) == (403, 403, 400, 200)
    assert [c.user_id for c in stub.calls] == [str(good_chat)]
    assert not [c for c in fake.calls if str(c.params.get("chat_id")) == str(bad_chat)]
    [webhook] = fake.recorded("setWebhook")
    assert webhook.params["url"].endswith(WEBHOOK_PATH) and webhook.params["secret_token"] == SECRET


def test_the_channel_refuses_to_start_without_a_token_or_a_well_formed_webhook_secret(stub):
    webhook = "https://example.org/telegram/webhook"
    refused = [(Settings(), "TELEGRAM_BOT_TOKEN"),
               (Settings(telegram_bot_token=TOKEN, telegram_webhook_url=webhook), "TELEGRAM_WEBHOOK_SECRET is not"),
               (Settings(telegram_bot_token=TOKEN, telegram_webhook_url=webhook, telegram_webhook_secret="a b"),
                "must be 1-256 characters")]
    for settings, reason in refused:
        with pytest.raises(ValueError, match=reason):
            TelegramChannel(settings, stub)


def test_start_help_and_unknown_commands_answer_in_vietnamese_without_the_gateway(fake, stub):
    chat = 603
    with served_telegram(fake, over(stub)):
        fake.push(message_update(20, chat, "/start"))
        fake.wait_sent(chat, 1)
        fake.push(message_update(21, chat, "/help"))
        fake.wait_sent(chat, 2)
        fake.push(message_update(22, chat, '/choose_option{"option": "1"}'))
        start, help_, unknown = (c.params["text"] for c in fake.wait_sent(chat, 3))
    assert "Xin chào" in start and "Trợ lý ảo" in start and "UBND tỉnh Lạng Sơn" in start
    assert "Hướng dẫn sử dụng" in help_ and "Hạn chót khi nào?" in help_
    assert unknown == help_   # a command it does not know (no intent injection through Telegram)
    assert stub.calls == []


def test_polling_gets_updates_from_get_updates_and_never_logs_the_token(fake, stub, caplog):
    chat = 604
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")   # the CLI's ingest (sample_index) quietens it
    with served_telegram(fake, over(stub)) as url:
        fake.push(message_update(30, chat, "xin chào"))
        reply = fake.wait_sent(chat)[0]
        no_webhook = httpx.post(f"{url}{WEBHOOK_PATH}", json={}, timeout=10)
    assert reply.params["text"] == "Bạn hỏi: xin chào"
    assert fake.recorded("getUpdates") and fake.recorded("deleteWebhook") and not fake.recorded("setWebhook")
    assert no_webhook.status_code in (404, 405)
    assert "/bot<token>/getUpdates" in caplog.text      # httpx did log the URLs…
    assert "Set Bot API URL" in caplog.text and TOKEN not in caplog.text   # …with the token redacted


def test_a_redelivered_update_is_passed_on_with_its_id_and_answered_once(fake, stub):
    chat = 607
    question = message_update(50, chat, "câu hỏi")
    with served_telegram(fake, over(stub), webhook=True) as url:
        assert post_update(url, question).status_code == 200
        assert post_update(url, question).status_code == 200        # Telegram retrying the same update
        assert post_update(url, message_update(51, chat, "câu sau")).status_code == 200
        # Updates of one chat are handled in order: once the last one is answered, so is the redelivery.
        fake.wait_sent(chat, 2)
    assert [c.message_id for c in stub.calls] == ["50", "50", "51"]
    assert [c.params["text"] for c in fake.sent(chat)] == ["Bạn hỏi: câu hỏi", "Bạn hỏi: câu sau"]


def test_a_429_is_retried_after_retry_after_and_the_message_arrives(fake, stub):
    chat = 608
    fake.fail_next_send_message(retry_after=1)
    with served_telegram(fake, over(stub), webhook=True) as url:
        post_update(url, message_update(60, chat, "xin chào"))
        delivered = fake.wait_sent(chat)[0]
    attempts = fake.recorded("sendMessage", chat, ok_only=False)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert delivered.params["text"] == "Bạn hỏi: xin chào"


def test_buttons_are_an_inline_keyboard_whose_press_sends_the_payload_or_says_it_expired(fake):
    chat = 609
    long_payload = '/ask_document{"doc_number": "' + "Quyết định số 1234/QĐ-UBND " * 3 + '"}'
    buttons = [{"title": "Có", "payload": "/affirm"}, {"title": "Văn bản dài", "payload": long_payload}]
    stub = StubGateway(reply=lambda text: [BotMessage(buttons=buttons)] if text == "chọn" else echo(text))
    with served_telegram(fake, over(stub)):
        fake.push(message_update(80, chat, "chọn"))
        choice = fake.wait_sent(chat, 1)[0]
        rows = choice.params["reply_markup"]["inline_keyboard"]
        fake.push(callback_update(81, chat, rows[1][0]["callback_data"], "cb-1", message=choice.result))
        chosen = fake.wait_sent(chat, 2)[1]
        fake.push(callback_update(82, chat, "k:forgotten-by-a-restart", "cb-2", message=choice.result))
        expired = fake.wait_sent(chat, 3)[2]
        fake.wait_for(lambda f: len(f.recorded("answerCallbackQuery")) == 2, what="both presses answered")
    answered = fake.recorded("answerCallbackQuery")
    assert choice.params["text"] == CHOOSE
    assert [[b["text"] for b in row] for row in rows] == [["Có"], ["Văn bản dài"]]
    assert all(len(row[0]["callback_data"].encode()) <= MAX_CALLBACK_BYTES for row in rows)
    assert stub.calls[1].text == long_payload and chosen.params["text"] == html.escape(f"Bạn hỏi: {long_payload}",
                                                                                       quote=False)
    assert expired.params["text"] == BUTTON_EXPIRED and len(stub.calls) == 2
    assert [(a.params["callback_query_id"], a.params.get("text")) for a in answered] == \
        [("cb-1", "Bạn chọn: Văn bản dài"), ("cb-2", None)]
    assert call_index(fake, answered[0]) < call_index(fake, chosen)


def test_a_failing_update_is_logged_with_its_traceback_and_answered_with_the_apology(fake, caplog):
    chat = 610

    def broken(text: str) -> list[BotMessage]:
        raise RuntimeError(f"gateway broke near {TOKEN}")

    caplog.set_level(logging.INFO, logger="trolyao")
    with served_telegram(fake, over(StubGateway(reply=broken))):
        fake.push(message_update(90, chat, "xin chào"))
        [apology] = fake.wait_sent(chat, 1)
    assert apology.params["text"] == html.escape(APOLOGY, quote=False)
    [failed] = [r for r in caplog.records if "update failed" in r.getMessage()]
    assert failed.levelno == logging.ERROR and failed.exc_info and failed.exc_info[0] is RuntimeError
    assert "Traceback" in caplog.text and "RuntimeError: gateway broke near <token>" in caplog.text
    assert TOKEN not in caplog.text


# --- rendering ------------------------------------------------------------------------------------------

def test_splitting_measures_the_escaped_text_in_utf16_code_units():
    text = " ".join(f"Câu {i} có <thẻ> & biểu tượng 📄 của các sở, ban, ngành." for i in range(200))
    parts = split_text(text, 4096, escaped_len)
    assert len(parts) >= 3 and " ".join(parts) == text
    assert all(tg_len(html.escape(p, quote=False)) <= 4096 for p in parts)
    assert max(tg_len(html.escape(p, quote=False)) for p in parts) > 4000    # full messages, not timid ones
    assert len(parts[0]) < 4096 - 3 * 50      # a plain character count would overfill the first message
    assert all(html_error(html.escape(p, quote=False)) is None for p in parts)
    assert [len(p) for p in split_text("&" * 2000, 4096, escaped_len)] == [819, 819, 362]   # &amp; is 5


def test_render_splits_escapes_and_adds_cards_for_long_messages():
    message = BotMessage(sentences(150) + "\nNguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh",
                         citations=[CITATION])
    chunks = render(message)
    assert len(chunks) >= 3 and all(len(c) <= 4096 and html_error(c) is None for c in chunks)
    assert "Nguồn: Công văn số" not in "".join(chunks)
    assert chunks[-1].endswith("📄 <b>Công văn 704/UBND-KGVX</b> (23/6/2022, UBND tỉnh)\n"
                               "<i>“Trích dẫn có &lt;thẻ&gt; &amp; ký tự đặc biệt.”</i>")


def test_long_callback_payloads_go_through_a_table():
    payloads = callback_payloads()
    short = '/choose_option{"option": "2"}'
    long = '/ask_document{"doc_number": "' + "Quyết định số 1234/QĐ-UBND ngày 31/12/2024" * 2 + '"}'
    assert payloads.decode(payloads.encode(short)) == short
    encoded = payloads.encode(long)
    assert len(encoded.encode()) <= MAX_CALLBACK_BYTES and payloads.decode(encoded) == long
    assert payloads.decode("k:unknown") is None


# --- end to end over the real dialogue ------------------------------------------------------------------

def test_a_question_gets_the_dialogues_answer_with_its_citation_cards(gateway_settings, fake):
    chat = 501
    with served_telegram(fake, create_app, gateway_settings, webhook=True) as url:
        assert post_update(url, message_update(1, chat, "Công văn 704/UBND-KGVX <b>nói gì</b> & ai làm?")).status_code == 200
        answer = fake.wait_sent(chat)[0]
    text = answer.params["text"]
    assert answer.params["parse_mode"] == "HTML" and html_error(text) is None
    assert "sốt xuất huyết" in text
    assert "📄 <b>Công văn 704/UBND-KGVX</b> (23/6/2022, UBND tỉnh)" in text
    assert "Nguồn: Công văn số" not in text and text.count("<b>Nguồn:</b>") == 1   # cards, not the lines again
    assert "<b>nói gì</b>" not in text


def test_the_dialogues_choices_are_buttons_and_pressing_one_answers_the_choice(gateway_settings, fake):
    chat = 502
    with served_telegram(fake, create_app, gateway_settings):
        fake.push(message_update(10, chat, "Kế hoạch 146/KH-UBND về việc gì?"))
        fake.wait_sent(chat, 1)
        fake.push(message_update(11, chat, "Hạn chót khi nào?"))
        choice = fake.wait_sent(chat, 2)[1]
        rows = choice.params["reply_markup"]["inline_keyboard"]
        assert len(rows) >= 2 and all(len(row) == 1 for row in rows)
        second = rows[1][0]
        fake.push(callback_update(12, chat, second["callback_data"], "cb-502", message=choice.result))
        chosen = fake.wait_sent(chat, 3)[2]
    assert "vào năm 2023" in chosen.params["text"]
