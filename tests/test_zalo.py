"""The Zalo OA channel against a fake Zalo API.

Its edge (signatures, timestamps, ignored events, numbered choices, splitting, token refresh,
redelivery) runs over a stub gateway; two conversations go through the real gateway, Rasa and action
server (marked `model`). Signed webhook events go to `/zalo/webhook`; replies are read from what the
fake CS endpoint recorded. Rejected or ignored events are shown to send nothing by a later event of
the same sender: the channel answers one sender's events in order, so once that later reply is
there, anything the earlier events had caused would be there too.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from asgi_server import serve
from bot.app import create_app
from bot.channels.rendering import CHOICE_HINT
from bot.channels.zalo import MAX_TEXT_CHARS, TEXT_ONLY, ZaloChannel
from retrieval.settings import Settings
from bot.rasa_client import BotMessage
from fake_zalo import FakeZalo
from bot.gateway import APOLOGY
from stub_gateway import StubGateway, channel_app, echo

APP_ID = "3799894204854887828"
OA_ID = "388613280878808645"
OA_SECRET = "oa-secret-for-tests"
APP_SECRET = "app-secret-for-tests"


@dataclasses.dataclass
class Zalo:
    fake: FakeZalo
    url: str

    def post(self, event: dict, *, sign: str | None = "ok", raw: bytes | None = None) -> httpx.Response:
        """POST an event; `sign`: "ok" (right signature), None (no header), or a header value."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if sign == "ok":
            headers["X-ZEvent-Signature"] = mac(body, event["timestamp"])
        elif sign is not None:
            headers["X-ZEvent-Signature"] = sign
        return httpx.post(f"{self.url}/zalo/webhook", content=body, headers=headers, timeout=10)

    def say(self, user: str, text: str, msg_id: str | None = None) -> None:
        response = self.post(text_event(user, text, msg_id))
        assert response.status_code == 200, response.text

    def ask(self, user: str, text: str) -> str:
        """Send a text and wait for its reply (one more message to this user)."""
        before = len(self.fake.sent(user))
        self.say(user, text)
        return self.fake.wait_sent(user, before + 1)[before].text


def mac(body: bytes, timestamp: str, app_id: str = APP_ID, secret: str = OA_SECRET) -> str:
    """Zalo's X-ZEvent-Signature, computed here independently of bot.channels.zalo."""
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


def now_ms(offset_s: float = 0) -> str:
    return str(int((time.time() + offset_s) * 1000))


def text_event(user: str, text: str, msg_id: str | None = None, timestamp: str | None = None) -> dict:
    return {"app_id": APP_ID, "user_id_by_app": "552177279717587730", "event_name": "user_send_text",
            "timestamp": timestamp or now_ms(), "sender": {"id": user}, "recipient": {"id": OA_ID},
            "message": {"text": text, "msg_id": msg_id or uuid.uuid4().hex}}


def other_event(user: str, name: str, msg_id: str | None = None) -> dict:
    message = {"msg_id": msg_id or uuid.uuid4().hex,
               "attachments": [{"type": name.removeprefix("user_send_"), "payload": {"url": "https://example.invalid/x"}}]}
    return {"app_id": APP_ID, "event_name": name, "timestamp": now_ms(), "sender": {"id": user},
            "recipient": {"id": OA_ID}, "message": message}


def new_user() -> str:
    return str(uuid.uuid4().int)[:18]


@contextlib.contextmanager
def served_zalo(app_for: Callable[[Settings], object], base: Settings = Settings()) -> Iterator[Zalo]:
    """The app `app_for(settings)` serves, with Zalo's API and OAuth pointed at a fake."""
    fake = FakeZalo(APP_ID, APP_SECRET, access_token="access-1", refresh_token="refresh-1")
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        settings = base.model_copy(update=dict(
            zalo_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_app_secret=APP_SECRET, zalo_access_token="access-1",
            zalo_refresh_token="refresh-1", zalo_api_base=fake_url, zalo_oauth_base=fake_url))
        with serve(app_for(settings)) as url:
            yield Zalo(fake, url)


def over(gateway: StubGateway) -> Callable[[Settings], object]:
    return lambda settings: channel_app(ZaloChannel(settings, gateway))


@pytest.fixture
def stub():
    return StubGateway()


@pytest.fixture
def zalo(stub):
    """The channel over the stub gateway."""
    with served_zalo(over(stub)) as served:
        yield served


@pytest.fixture
def zalo_dialogue(gateway_settings):
    """The whole gateway app over the real dialogue."""
    with served_zalo(create_app, gateway_settings) as served:
        yield served


# --- the edge, over a stub gateway --------------------------------------------------------------------

def test_bad_signatures_and_stale_timestamps_are_refused_and_nothing_is_processed(zalo, stub):
    user = new_user()
    event = text_event(user, "Công văn 704/UBND-KGVX nói gì?")
    body = json.dumps(event, ensure_ascii=False).encode()
    tampered = body.replace(b"704", b"146")
    assert zalo.post(event, sign=None).status_code == 401                                  # missing
    assert zalo.post(event, sign="mac=" + "0" * 64).status_code == 401                    # wrong
    assert zalo.post(event, sign=mac(body, event["timestamp"], secret="other")).status_code == 401
    assert zalo.post(event, sign=mac(body, event["timestamp"]), raw=tampered).status_code == 401
    assert zalo.post(event, sign=mac(body, str(int(event["timestamp"]) + 1))).status_code == 401  # another time
    assert zalo.post(event, sign=mac(b"[]", event["timestamp"]), raw=b"[]").status_code == 401   # not an event
    for offset in (-6 * 60, +6 * 60):                                                       # stale, signed right
        stale = text_event(user, "Công văn 704/UBND-KGVX nói gì?", timestamp=now_ms(offset))
        assert zalo.post(stale).status_code == 403
    assert zalo.post(other_event(user, "user_send_image")).status_code == 200
    zalo.fake.wait_sent(user, 1)
    assert [c.text for c in zalo.fake.messages] == [TEXT_ONLY]
    assert stub.calls == []


def test_a_redelivered_event_is_passed_on_with_its_id_and_answered_once(zalo, stub):
    user = new_user()
    event = text_event(user, "Công văn 704/UBND-KGVX nói gì?", msg_id="redelivered-1")
    assert zalo.post(event).status_code == 200
    assert zalo.post(event).status_code == 200                # Zalo sends the same message again
    assert zalo.post(other_event(user, "user_send_sticker")).status_code == 200
    zalo.fake.wait_for(lambda fake: any(c.text == TEXT_ONLY for c in fake.sent(user)))
    assert [c.text for c in zalo.fake.sent(user)] == ["Bạn hỏi: Công văn 704/UBND-KGVX nói gì?", TEXT_ONLY]
    assert [(c.channel, c.user_id, c.message_id) for c in stub.calls] == [("zalo", user, "redelivered-1")] * 2


def test_other_user_messages_get_a_polite_text_and_other_events_are_ignored(zalo, stub):
    user = new_user()
    ignored = [{"app_id": APP_ID, "event_name": "follow", "timestamp": now_ms(), "oa_id": OA_ID,
                "follower": {"id": user}, "source": "oa_profile"},
               {"app_id": APP_ID, "event_name": "user_seen_message", "timestamp": now_ms(),
                "sender": {"id": user}, "recipient": {"id": OA_ID}, "message": {"msg_ids": ["m0"]}},
               {"app_id": APP_ID, "event_name": "oa_send_text", "timestamp": now_ms(), "sender": {"id": OA_ID},
                "recipient": {"id": user}, "message": {"text": "hello", "msg_id": "o1"}}]
    for event in ignored:
        assert zalo.post(event).status_code == 200
    image = other_event(user, "user_send_image", msg_id="img-1")
    for event in (image, image, other_event(user, "user_send_location")):    # the image comes twice
        assert zalo.post(event).status_code == 200
    zalo.say(user, "xin chào")                                # a text last: everything before is done then
    zalo.fake.wait_for(lambda fake: len(fake.sent(user)) >= 1 and fake.sent(user)[-1].text != TEXT_ONLY)
    assert [c.text for c in zalo.fake.messages] == [TEXT_ONLY, TEXT_ONLY, "Bạn hỏi: xin chào"]
    assert [c.text for c in stub.calls] == ["xin chào"]
    assert "chữ" in TEXT_ONLY and TEXT_ONLY.startswith("Xin lỗi")


def test_a_typed_number_sends_the_payload_of_the_button_it_numbers():
    buttons = [{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]
    stub = StubGateway(reply=lambda text: [BotMessage("Bạn chắc chứ?", buttons)] if text == "chọn" else echo(text))
    with served_zalo(over(stub)) as zalo:
        user = new_user()
        question = zalo.ask(user, "chọn")
        zalo.ask(user, "2")
        zalo.ask(user, "2")                                   # the last reply had no buttons: a plain "2"
        zalo.ask(user, "chọn")
        zalo.ask(user, "3")                                   # no third option: a plain "3"
    assert question == "Bạn chắc chứ?\n1. Có\n2. Không\n" + CHOICE_HINT
    assert [c.text for c in stub.calls] == ["chọn", "/deny", "2", "chọn", "3"]


def test_a_long_answer_is_sent_as_several_messages_in_order():
    long = " ".join(f"Nhiệm vụ {i}: Sở Y tế chủ trì, phối hợp với các sở, ngành triển khai." for i in range(80))
    reply = BotMessage(long + "\nNguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh",
                       buttons=[{"title": "Việc thứ nhất", "payload": "/choose_option{\"option\": \"1\"}"}])
    stub = StubGateway(reply=lambda text: [reply])
    with served_zalo(over(stub)) as zalo:
        user = new_user()
        zalo.say(user, "việc gì?")
        zalo.fake.wait_for(lambda fake: any(c.text.endswith(CHOICE_HINT) for c in fake.sent(user)))
    calls = zalo.fake.sent(user)
    assert len(calls) >= 3 and all(len(c.text) <= MAX_TEXT_CHARS for c in calls)
    assert all(c.text.endswith(".") for c in calls[:-1])
    assert calls[-1].text.endswith("1. Việc thứ nhất\n" + CHOICE_HINT) and "Nguồn: Công văn" in calls[-1].text
    assert " ".join(c.text for c in calls).split() == (reply.text + " 1. Việc thứ nhất " + CHOICE_HINT).split()


def test_a_failing_answer_is_logged_with_its_traceback_and_the_user_gets_the_apology(caplog):
    def broken(text: str) -> list[BotMessage]:
        raise RuntimeError("gateway broke")

    caplog.set_level(logging.INFO, logger="trolyao")
    with served_zalo(over(StubGateway(reply=broken))) as zalo:
        user = new_user()
        zalo.say(user, "xin chào")
        zalo.fake.wait_for(lambda fake: fake.sent(user))
    assert [c.text for c in zalo.fake.sent(user)] == [APOLOGY]
    [failed] = [r for r in caplog.records if "answering a message failed" in r.getMessage()]
    assert failed.levelno == logging.ERROR and failed.exc_info and failed.exc_info[0] is RuntimeError
    assert user not in caplog.text            # the sender is logged by its hash only


def test_an_expired_token_is_refreshed_and_the_message_sent_again(zalo, caplog):
    caplog.set_level(logging.DEBUG, logger="trolyao")
    user = new_user()
    zalo.fake.expire_access_token()
    zalo.say(user, "Công văn 704/UBND-KGVX nói gì?")
    [answer] = zalo.fake.wait_sent(user, 1)
    refused, resent = zalo.fake.messages
    assert refused.headers["access_token"] == "access-1" and refused.response["error"] == -216
    [refresh] = zalo.fake.refreshes
    assert refresh.headers["secret_key"] == APP_SECRET and refresh.response.get("access_token") == "access-2"
    assert refresh.body == {"refresh_token": "refresh-1", "app_id": APP_ID, "grant_type": "refresh_token"}
    assert resent is answer and resent.headers["access_token"] == "access-2" and resent.body == refused.body
    assert answer.text == "Bạn hỏi: Công văn 704/UBND-KGVX nói gì?"
    # Both new tokens were kept: the next expiry spends refresh-2 (refresh-1 works only once).
    zalo.fake.expire_access_token()
    assert zalo.post(other_event(user, "user_send_image")).status_code == 200
    zalo.fake.wait_sent(user, 2)
    assert [r.body["refresh_token"] for r in zalo.fake.refreshes] == ["refresh-1", "refresh-2"]
    assert zalo.fake.messages[-1].headers["access_token"] == "access-3"
    logged = caplog.text
    assert "zalo" in logged and not any(secret in logged for secret in
                                        ("access-1", "access-2", "refresh-1", "refresh-2", APP_SECRET, user))


# --- end to end over the real dialogue ------------------------------------------------------------------

def test_a_text_question_is_answered_with_its_source_through_the_cs_endpoint(zalo_dialogue):
    zalo = zalo_dialogue
    user = new_user()
    zalo.say(user, "Công văn 704/UBND-KGVX nói gì?")
    [call] = zalo.fake.wait_sent(user, 1)
    assert call.path == "/v3.0/oa/message/cs" and call.headers["access_token"] == "access-1"
    assert call.body["recipient"] == {"user_id": user} and set(call.body["message"]) == {"text"}
    assert "sốt xuất huyết" in call.text
    assert "Nguồn:" in call.text and "704/UBND-KGVX" in call.text.split("Nguồn:", 1)[1]
    assert "<" not in call.text and "**" not in call.text          # plain text, no markup


def test_buttons_are_a_numbered_list_and_a_number_picks_that_option(zalo_dialogue, dialogue):
    zalo = zalo_dialogue
    user = new_user()
    zalo.ask(user, "Kế hoạch 146/KH-UBND về việc gì?")
    question = zalo.ask(user, "Hạn chót khi nào?")
    lines = question.splitlines()
    options = [line for line in lines if line[:1].isdigit() and ". " in line]     # each option listed once
    assert len(options) >= 2 and [o.split(".", 1)[0] for o in options] == [str(i) for i in range(1, len(options) + 1)]
    assert lines[-1] == CHOICE_HINT and "Bạn muốn hỏi việc nào" in question
    chosen = zalo.ask(user, "2")
    assert "vào năm 2023" in chosen and "146/KH-UBND" in chosen
    # Rasa was sent the second button's payload, not the digit
    tracker = httpx.get(f"{dialogue.rasa_url}/conversations/zalo:{user}/tracker", timeout=30).json()
    offered = [e for e in tracker["events"] if e.get("event") == "bot" and (e.get("data") or {}).get("buttons")]
    said = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert said[-1] == offered[-1]["data"]["buttons"][1]["payload"] and said[-1] != "2"
    assert options[1].split(". ", 1)[1].startswith(offered[-1]["data"]["buttons"][1]["title"].rstrip("…"))
