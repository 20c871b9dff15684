"""The Facebook Messenger channel against a fake Graph API.

Its edge (the GET verification, signatures, typing, splitting, quick replies, redelivery, attachments,
Send API failures) runs over a stub gateway; one conversation goes through the real gateway, Rasa and
action server (marked `stack`). Signed events go to `/messenger/webhook`; replies are read from what
the fake Send API recorded. Refused or ignored events are shown to send nothing by a later event of
the same sender: the channel answers one sender's events in order, so once that later reply is
there, anything the earlier events had caused would be there too.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from asgi_server import serve
from bot.app import channels_for, create_app, summary
from bot.channels.messenger import (
    MAX_TEXT_CHARS,
    TEXT_ONLY,
    TYPE_PLEASE,
    AudioMessage,
    MessengerChannel,
)
from bot.channels.rendering import CHOICE_HINT
from bot.buttons import ButtonSeal
from bot.gateway import APOLOGY, BUTTON_EXPIRED, Gateway
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import BotMessage
from fake_messenger import VERSION, FakeGraph
from retrieval.settings import Settings
from stub_gateway import StubGateway, channel_app, echo

PAGE_ID = "104829371625483"
PAGE_TOKEN = "EAAGpageTokenForTests"
APP_SECRET = "messenger-app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
CITATION = {"doc_number": "704/UBND-KGVX", "doc_type": "Công văn", "issued_date": "2022-06-23",
            "issuer": "UBND tỉnh", "quote": "Tăng cường phòng, chống dịch bệnh sốt xuất huyết."}


@dataclasses.dataclass
class Messenger:
    fake: FakeGraph
    url: str

    def post(self, event: dict, *, sign: str | None = "ok", raw: bytes | None = None,
             headers: dict | None = None) -> httpx.Response:
        """POST an event; `sign`: "ok" (right signature), None (no header), or a header value."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if sign == "ok":
            sent["X-Hub-Signature-256"] = hub_signature(body)
        elif sign is not None:
            sent["X-Hub-Signature-256"] = sign
        return httpx.post(f"{self.url}/messenger/webhook", content=body, headers=sent, timeout=10)

    def say(self, user: str, text: str, mid: str | None = None) -> None:
        response = self.post(page_event(user, {"mid": mid or new_mid(), "text": text}))
        assert response.status_code == 200, response.text

    def tap(self, user: str, quick_reply: dict) -> None:
        message = {"mid": new_mid(), "text": quick_reply["title"], "quick_reply": {"payload": quick_reply["payload"]}}
        assert self.post(page_event(user, message)).status_code == 200

    def ask(self, user: str, text: str) -> list:
        """Send a text and wait for its reply: the messages sent to the user since."""
        before = len(self.fake.sent(user))
        self.say(user, text)
        self.fake.wait_sent(user, before + 1)
        return self.fake.sent(user)[before:]


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    """Meta's X-Hub-Signature-256, computed here independently of bot.channels.messenger."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_mid() -> str:
    return f"m_{uuid.uuid4().hex}"


def new_user() -> str:
    return str(uuid.uuid4().int)[:16]


def page_event(user: str, message: dict | None = None, **item: object) -> dict:
    """A Page webhook event with one messaging item from `user` (a message, or e.g. postback=…)."""
    now = int(time.time() * 1000)
    messaging = {"sender": {"id": user}, "recipient": {"id": PAGE_ID}, "timestamp": now, **item}
    if message is not None:
        messaging["message"] = message
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [messaging]}]}


@contextlib.contextmanager
def served_messenger(app_for: Callable[[Settings], object], base: Settings | None = None) -> Iterator[Messenger]:
    """The app `app_for(settings)` serves, with the Graph API pointed at a fake."""
    fake = FakeGraph(PAGE_TOKEN)
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        settings = Settings(**{**(base or Settings()).model_dump(), "messenger_page_access_token": PAGE_TOKEN,
                               "messenger_app_secret": APP_SECRET, "messenger_verify_token": VERIFY_TOKEN,
                               "messenger_api_base": f"{fake_url}/{VERSION}"})
        with serve(app_for(settings)) as url:
            yield Messenger(fake, url)


def over(gateway: StubGateway, **options) -> Callable[[Settings], object]:
    return lambda settings: channel_app(MessengerChannel(settings, gateway, **options))


@pytest.fixture
def stub():
    return StubGateway()


@pytest.fixture
def messenger(stub):
    """The channel over the stub gateway."""
    with served_messenger(over(stub)) as served:
        yield served


# --- set-up and verification ----------------------------------------------------------------------------

def test_the_channel_is_off_until_its_three_secrets_are_set_and_then_served_by_the_gateway():
    full = dict(messenger_page_access_token=PAGE_TOKEN, messenger_app_secret=APP_SECRET,
                messenger_verify_token=VERIFY_TOKEN)
    for missing in full:
        partial = Settings(**{k: v for k, v in full.items() if k != missing})
        assert not partial.messenger_enabled and not channels_for(partial, StubGateway())
        [line] = [line for line in summary(partial) if line.startswith("messenger")]
        assert line.startswith("messenger: off") and missing.upper() in line
        with pytest.raises(ValueError, match=missing.upper()):
            MessengerChannel(partial, StubGateway())
    on = Settings(**full)
    assert on.messenger_enabled and "messenger: on (webhook /messenger/webhook)" in summary(on)
    gateway = Gateway(on, buttons=ButtonSeal(), pseudonyms=Pseudonyms(b"test key"))
    assert [type(c).__name__ for c in channels_for(on, gateway)] == ["MessengerChannel"]
    assert PAGE_TOKEN not in repr(on) and APP_SECRET not in repr(on)          # secrets stay out of reprs


def test_get_verification_echoes_the_challenge_only_for_the_right_token(messenger):
    def verify(**params) -> httpx.Response:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444", **params}
        return httpx.get(f"{messenger.url}/messenger/webhook",
                         params={k: v for k, v in query.items() if v is not None}, timeout=10)

    right = verify()
    assert right.status_code == 200 and right.text == "1158201444"
    assert right.headers["content-type"].startswith("text/plain")
    for wrong in (dict(**{"hub.verify_token": "wrong"}), dict(**{"hub.verify_token": None}),
                  dict(**{"hub.verify_token": VERIFY_TOKEN + "x"}), dict(**{"hub.mode": "unsubscribe"}),
                  dict(**{"hub.challenge": None})):
        refused = verify(**wrong)
        assert refused.status_code == 403 and "1158201444" not in refused.text


def test_forged_and_unsigned_events_are_refused_and_nothing_is_processed(messenger, stub):
    user = new_user()
    event = page_event(user, {"mid": new_mid(), "text": "Công văn 704/UBND-KGVX nói gì?"})
    body = json.dumps(event, ensure_ascii=False).encode()
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert messenger.post(event, sign=None).status_code == 403                                  # unsigned
    assert messenger.post(event, sign=None, headers={"X-Hub-Signature": sha1}).status_code == 403  # old SHA-1 only
    assert messenger.post(event, sign="sha256=" + "0" * 64).status_code == 403                 # forged
    assert messenger.post(event, sign=hub_signature(body, "other secret")).status_code == 403   # another app's
    assert messenger.post(event, sign=hub_signature(body).upper()).status_code == 403
    tampered = body.replace(b"704", b"146")
    assert messenger.post(event, sign=hub_signature(body), raw=tampered).status_code == 403     # body changed
    garbage = b"\xff not json"
    assert messenger.post({}, sign=hub_signature(garbage), raw=garbage).status_code == 400      # signed, not JSON
    messenger.say(user, "xin chào")               # a genuine one last: everything before is done then
    messenger.fake.wait_sent(user, 1)
    assert [c.text for c in stub.calls] == ["xin chào"]
    assert [c.text for c in messenger.fake.sent(user)] == ["Bạn hỏi: xin chào"]


# --- answering, over a stub gateway ---------------------------------------------------------------------

def test_a_genuine_message_is_answered_after_typing_on_with_its_citation_as_text():
    answer = BotMessage("Công văn 704/UBND-KGVX yêu cầu tăng cường phòng, chống dịch sốt xuất huyết.\n"
                        "Nguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh", citations=[CITATION])
    stub = StubGateway(reply=lambda text: [answer])
    with served_messenger(over(stub)) as messenger:
        user, mid = new_user(), new_mid()
        messenger.say(user, "Công văn 704/UBND-KGVX nói gì?", mid=mid)
        [call] = messenger.fake.wait_sent(user, 1)
    typing, message = [c for c in messenger.fake.calls if c.recipient == user]
    assert typing.body == {"recipient": {"id": user}, "sender_action": "typing_on"}    # before the answer
    assert message is call and call.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    assert call.body["messaging_type"] == "RESPONSE" and call.body["recipient"] == {"id": user}
    assert call.text == ("Công văn 704/UBND-KGVX yêu cầu tăng cường phòng, chống dịch sốt xuất huyết.\n\n"
                         "Nguồn:\n📄 Công văn 704/UBND-KGVX (23/6/2022, UBND tỉnh)\n"
                         "“Tăng cường phòng, chống dịch bệnh sốt xuất huyết.”")
    assert "quick_replies" not in call.body["message"]
    assert [(c.channel, c.user_id, c.text, c.message_id) for c in stub.calls] == \
        [("messenger", user, "Công văn 704/UBND-KGVX nói gì?", mid)]


def test_a_redelivered_message_is_passed_on_with_its_mid_and_answered_once(messenger, stub):
    user, mid = new_user(), new_mid()
    event = page_event(user, {"mid": mid, "text": "Sở Y tế được giao những việc gì?"})
    assert messenger.post(event).status_code == 200
    assert messenger.post(event).status_code == 200                # Meta sends the same event again
    image = page_event(user, {"mid": new_mid(), "attachments": [{"type": "image", "payload": {"url": "https://x/1"}}]})
    assert messenger.post(image).status_code == 200
    assert messenger.post(image).status_code == 200                # an attachment redelivered, too
    messenger.say(user, "cảm ơn")
    messenger.fake.wait_sent(user, 3)
    assert [c.text for c in messenger.fake.sent(user)] == \
        ["Bạn hỏi: Sở Y tế được giao những việc gì?", TEXT_ONLY, "Bạn hỏi: cảm ơn"]
    assert [c.message_id for c in stub.calls][:2] == [mid, mid]


def test_a_long_answer_is_split_under_2000_characters_at_sentence_ends_in_order():
    long = " ".join(f"Nhiệm vụ {i}: Sở Y tế chủ trì, phối hợp với các sở, ngành triển khai." for i in range(80))
    stub = StubGateway(reply=lambda text: [BotMessage(long, citations=[CITATION])])
    with served_messenger(over(stub)) as messenger:
        user = new_user()
        messenger.say(user, "việc gì?")
        messenger.fake.wait_for(lambda fake: any("Nguồn:" in c.text for c in fake.sent(user)))
    calls = messenger.fake.sent(user)
    assert len(calls) >= 3 and all(len(c.text) <= MAX_TEXT_CHARS for c in calls)
    assert all(c.text.endswith(".") for c in calls[:-1]) and "📄 Công văn 704/UBND-KGVX" in calls[-1].text
    assert " ".join(c.text for c in calls).split()[:len(long.split())] == long.split()


def test_buttons_are_quick_replies_and_a_tap_sends_the_payload_back():
    buttons = [{"title": "Có", "payload": "/affirm#sealedSEALED1234"}, {"title": "Không", "payload": "/deny#x"},
               {"title": "Dài", "payload": "/choose_option" + "x" * 1200}]
    stub = StubGateway(reply=lambda text: [BotMessage("Bạn chắc chứ?", buttons)] if text == "chọn" else echo(text))
    with served_messenger(over(stub)) as messenger:
        user = new_user()
        [question] = messenger.ask(user, "chọn")
        assert question.text == "Bạn chắc chứ?"                                 # no numbers: titles fit
        assert [q["title"] for q in question.quick_replies] == ["Có", "Không", "Dài"]
        assert all(len(q["payload"]) <= 1000 for q in question.quick_replies)
        for quick in question.quick_replies[1:]:
            messenger.tap(user, quick)
        messenger.tap(user, {"title": "Có", "payload": "k:no-such-key"})        # a key lost to a restart
        messenger.tap(user, {"title": "Có", "payload": "/affirm"})              # not ours at all
        messenger.fake.wait_sent(user, 5)
    assert [c.text for c in stub.calls] == ["chọn", "/deny#x", "/choose_option" + "x" * 1200]
    assert [c.text for c in messenger.fake.sent(user)[3:]] == [BUTTON_EXPIRED, BUTTON_EXPIRED]


def test_long_titles_are_numbered_in_the_text_and_more_than_13_options_are_picked_by_number():
    agencies = [{"title": f"Sở Tài nguyên và Môi trường số {i}", "payload": f"/choose_option{{\"option\": \"{i}\"}}"}
                for i in range(1, 4)]
    many = [{"title": f"Việc {i}", "payload": f"/choose_option{{\"option\": \"{i}\"}}"} for i in range(1, 16)]
    replies = {"ba": [BotMessage("Bạn muốn hỏi cơ quan nào?", agencies)], "nhiều": [BotMessage("Chọn việc:", many)]}
    stub = StubGateway(reply=lambda text: replies.get(text) or echo(text))
    with served_messenger(over(stub)) as messenger:
        user = new_user()
        [three] = messenger.ask(user, "ba")
        [fifteen] = messenger.ask(user, "nhiều")
        messenger.ask(user, "14")                                               # typed: the 14th option
        messenger.ask(user, "14")                                               # no options any more: words
    assert three.text.splitlines() == ["Bạn muốn hỏi cơ quan nào?"] + \
        [f"{i}. Sở Tài nguyên và Môi trường số {i}" for i in range(1, 4)] + [CHOICE_HINT]
    assert [q["title"] for q in three.quick_replies] == ["1. Sở Tài nguyên và…", "2. Sở Tài nguyên và…",
                                                         "3. Sở Tài nguyên và…"]
    assert "quick_replies" not in fifteen.body["message"] and "15. Việc 15" in fifteen.text
    assert [c.text for c in stub.calls][2:] == ['/choose_option{"option": "14"}', "14"]


def test_attachments_get_a_polite_text_audio_goes_to_the_voice_hook_and_other_events_are_ignored():
    heard: list[AudioMessage] = []

    async def voice(audio: AudioMessage) -> list[BotMessage]:
        heard.append(audio)
        return [BotMessage(TYPE_PLEASE)]

    stub = StubGateway()
    with served_messenger(over(stub, voice=voice)) as messenger:
        user = new_user()
        ignored = [page_event(user, {"mid": new_mid(), "text": "echo", "is_echo": True}),
                   page_event(user, delivery={"mids": ["m_1"], "watermark": 1}),
                   page_event(user, read={"watermark": 1}),
                   {"object": "instagram", "entry": [{"messaging": [{"sender": {"id": user}, "message": {"text": "x"}}]}]},
                   {"object": "page", "entry": "nonsense"}]
        for event in ignored:
            assert messenger.post(event).status_code == 200
        audio_mid = new_mid()
        audio = {"mid": audio_mid, "attachments": [{"type": "audio", "payload": {"url": "https://cdn.example/v.mp4"}}]}
        sticker = {"mid": new_mid(), "attachments": [{"type": "image", "payload": {"sticker_id": 369239263222822}}]}
        for message in (audio, sticker):
            assert messenger.post(page_event(user, message)).status_code == 200
        messenger.say(user, "xin chào")
        messenger.fake.wait_sent(user, 3)
    assert [c.text for c in messenger.fake.sent(user)] == [TYPE_PLEASE, TEXT_ONLY, "Bạn hỏi: xin chào"]
    assert heard == [AudioMessage(user, "https://cdn.example/v.mp4", audio_mid)]
    assert [c.text for c in stub.calls] == ["xin chào"]
    assert "hãy gõ câu hỏi" in TYPE_PLEASE


def test_with_voice_off_the_default_voice_hook_asks_the_user_to_type(stub):
    """Voice on: tests/test_voice_channels.py."""
    user = new_user()
    audio = {"mid": new_mid(), "attachments": [{"type": "audio", "payload": {"url": "https://cdn.example/a.mp4"}}]}
    with served_messenger(over(stub), Settings(voice=False)) as messenger:
        assert messenger.post(page_event(user, audio)).status_code == 200
        [reply] = messenger.fake.wait_sent(user, 1)
    assert reply.text == TYPE_PLEASE and stub.calls == []


def test_a_send_api_failure_is_logged_and_the_channel_goes_on(messenger, caplog):
    caplog.set_level(logging.INFO, logger="trolyao")
    user = new_user()
    messenger.fake.fail_messages = True
    messenger.say(user, "câu thứ nhất")
    messenger.fake.wait_for(lambda fake: any(c.status == 500 for c in fake.calls))
    messenger.fake.fail_messages = False
    assert messenger.ask(user, "câu thứ hai")[0].text == "Bạn hỏi: câu thứ hai"
    [failed] = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert failed.levelno == logging.WARNING and "HTTP 500, error 2" in failed.getMessage()
    assert not any(secret in caplog.text for secret in (PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, user))


def test_a_failing_answer_is_logged_with_its_traceback_and_the_user_gets_the_apology(caplog):
    def broken(text: str) -> list[BotMessage]:
        raise RuntimeError("gateway broke")

    caplog.set_level(logging.INFO, logger="trolyao")
    with served_messenger(over(StubGateway(reply=broken))) as messenger:
        user = new_user()
        messenger.say(user, "xin chào")
        messenger.fake.wait_sent(user, 1)
    assert [c.text for c in messenger.fake.sent(user)] == [APOLOGY]
    [failed] = [r for r in caplog.records if "answering a message failed" in r.getMessage()]
    assert failed.levelno == logging.ERROR and failed.exc_info and failed.exc_info[0] is RuntimeError
    assert user not in caplog.text            # the sender is logged by its pseudonym only


# --- end to end over the real dialogue ------------------------------------------------------------------

def test_a_question_through_the_real_stack_is_answered_with_its_source_and_a_quick_reply_picks(gateway_settings):
    with served_messenger(create_app, gateway_settings) as messenger:
        user = new_user()
        [answer] = messenger.ask(user, "Công văn 704/UBND-KGVX nói gì?")
        assert "sốt xuất huyết" in answer.text and answer.body["messaging_type"] == "RESPONSE"
        assert "📄 Công văn 704/UBND-KGVX" in answer.text.split("Nguồn:", 1)[1]
        assert "typing_on" in messenger.fake.actions(user)
        messenger.ask(user, "Kế hoạch 146/KH-UBND về việc gì?")
        question = messenger.ask(user, "Hạn chót khi nào?")[-1]
        quick = question.quick_replies
        assert len(quick) >= 2 and all(len(q["title"]) <= 20 for q in quick)
        assert all(q["payload"].startswith("p:/choose_option") for q in quick)    # sealed by the gateway
        before = len(messenger.fake.sent(user))
        messenger.tap(user, quick[1])
        chosen = messenger.fake.wait_sent(user, before + 1)[before]
    assert "vào năm 2023" in chosen.text and "146/KH-UBND" in chosen.text


def test_a_report_is_offered_as_its_download_link(tmp_path):
    import datetime as dt

    from bot.downloads import ReportFile, ReportFiles

    files = ReportFiles("messenger-test-secret", tmp_path, dt.timedelta(minutes=60))
    report = ReportFile("a" * 32 + ".docx", "Báo cáo nhiệm vụ của Sở Y tế.docx")
    (tmp_path / report.file).write_bytes(b"docx")
    stub = StubGateway(reply=lambda text: [BotMessage("Tôi đã lập báo cáo.", document={"file": report.file,
                                                                                  "title": report.title})],
                       reports=files)
    with served_messenger(over(stub)) as messenger:
        user = new_user()
        messenger.say(user, "lập báo cáo nhiệm vụ của Sở Y tế")
        [call] = messenger.fake.wait_sent(user, 1)
    first, link = call.text.splitlines()
    assert first == "Tôi đã lập báo cáo." and link.startswith(f"Tải tệp “{report.title}” tại: http")
    token = link.split("/files/")[1].split()[0]
    assert files.open(token, caller=None)[0] == report        # a bearer link: whoever holds it, until it expires
