"""Hostile input never breaks the service.

At every edge — POST /api/chat, the Telegram, Zalo and Messenger webhooks and `trolyao ask` — whatever
arrives (huge, deeply nested, of the wrong type, invalid UTF-8, control characters, HTML/JS, mixed
scripts, emoji, zero-width and combining characters, lone surrogates, 10,000-character messages):
- never a 5xx, never a traceback or an internal path in a response or a message to a user;
- the channels still refuse what they must (Telegram without its secret: 403; Zalo without a right
  signature: 401; Messenger without a right X-Hub-Signature-256: 403);
- a text starting with "/" is read as words: only the buttons the gateway sealed for a user reach
  Rasa as a payload;
- and afterwards the stack answers the next normal question.

The gateway runs in this process (uvicorn in a thread) with Telegram, Zalo and Messenger pointed at
fakes of their APIs, over the real Rasa and action server (the session's `dialogue`). Hypothesis makes the
inputs, derandomized (the same examples on every run): many where Rasa is not reached, fewer that go
through the whole dialogue. The module prints, per edge, how many inputs ran, how many got a 5xx and
the p95 latency.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_server import serve
from bot.app import create_app
from bot.buttons import ButtonSeal
from bot.gateway import APOLOGY, BUTTON_EXPIRED
from bot.inbound import MAX_BODY_BYTES, as_words, clean_text
from bot.processes import free_port
from fake_telegram import FakeTelegram, callback_update, message_update
from fake_messenger import VERSION, FakeGraph
from fake_zalo import FakeZalo
from retrieval.settings import Settings

TG_TOKEN = "4242:hostile-token"
TG_SECRET = "hostile_webhook-secret"
ZALO_APP_ID, ZALO_OA_SECRET, ZALO_APP_SECRET = "1234567890", "oa-secret-hostile", "app-secret-hostile"
FB_TOKEN, FB_SECRET, FB_VERIFY = "EAAhostile-page-token", "fb-app-secret-hostile", "fb-verify-hostile"
NORMAL_QUESTION = "Công văn 704/UBND-KGVX nói gì?"
LEAKS = ("Traceback", "/work/", 'File "', '.py"', "site-packages", "Error:")

# --- what attackers send ------------------------------------------------------------------------------

NASTY = [
    "<img src=x onerror=alert(1)>", "<script>alert('x')</script>", "\"'><svg onload=alert(1)>", "&lt;b&gt;&amp;",
    "/restart", '/ask_directive{"doc_number": "704/UBND-KGVX"}', '/choose_option{"option": "1"}', "/session_start",
    "/feedback_positive#AAAAAAAAAAAAAAAA", "/", "  / /greet", "/start", "/help@trolyao_test_bot",
    "\ud800", "a\udfffb", "\udc80\udcff", "\x00\x01\x1b[31m\x7f", "\u202eRTL override\u202c", "\u200b\u200c\u200d\ufeff",
    "e\u0301\u0302\u0303\u0323" * 40, "Công văn 704/UBND-KGVX nói gì? 😀👍🏽🇻🇳", "Сở Y tế 衛生 حكومة ༀ ဪ",
    "%s%n{0}{{}}", "'; DROP TABLE events; --", "../../etc/passwd", "${jndi:ldap://x/a}", "\n" * 50, "\t",
    "🏳️‍🌈" * 50, "1", "99999999999999999999", "-1", "NaN", "null", "true", "{}", "[]",
]
ANY_CHAR = st.characters(exclude_categories=())        # surrogates and control characters included
texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=ANY_CHAR, max_size=300),
    st.lists(st.sampled_from(NASTY) | st.text(alphabet=ANY_CHAR, max_size=20), min_size=1, max_size=8).map("".join),
    st.tuples(st.sampled_from(NASTY + ["x", "ư", "Sở Y tế "]), st.integers(1000, 10_000))
    .map(lambda p: (p[0] * (p[1] // len(p[0]) + 1))[:p[1]]),                      # up to 10,000 characters
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()    # ASCII with \u escapes: lone surrogates survive as escapes


bodies = st.one_of(
    st.binary(max_size=400),                                                       # garbage, invalid UTF-8
    st.integers(10, 200_000).map(lambda n: b"[" * n + b"]" * n),                   # deeply nested lists
    st.integers(10, 30_000).map(lambda n: b'{"message":' * n + b'"x"' + b"}" * n),  # deeply nested objects
    json_values.map(dumps),                                                        # any JSON
    st.fixed_dictionaries({"sender": json_values, "message": json_values}).map(dumps),  # wrong types
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),                       # surrogates as raw UTF-8
    st.integers(MAX_BODY_BYTES, 3 * MAX_BODY_BYTES)                                # huge
    .map(lambda n: b'{"sender": "a", "message": "' + b"a" * n + b'"}'),
)
FUZZ = dict(derandomize=True, database=None, deadline=None, print_blob=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


# --- the stack and what it measures -------------------------------------------------------------------

@dataclass
class Tally:
    """Per edge: each input's latency and HTTP status."""
    runs: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def record(self, edge: str, seconds: float, status: int) -> None:
        self.runs.setdefault(edge, []).append((seconds, status))

    def report(self) -> str:
        lines = ["hostile inputs per edge (inputs, 5xx, p95 ms):"]
        for edge, runs in self.runs.items():
            latencies = sorted(s for s, _ in runs)
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000
            lines.append(f"  {edge:<28} {len(runs):>5} {sum(1 for _, c in runs if c >= 500):>4} {p95:>9.1f}")
        return "\n".join(lines)


API_KEY = "hostile-test-integration-key"   # the fuzz names its own senders: an integration's


@dataclass
class Stack:
    url: str
    rasa_url: str
    http: httpx.Client
    telegram: FakeTelegram
    zalo: FakeZalo
    graph: FakeGraph
    tally: Tally

    def chat(self, message: object, sender: object = None) -> httpx.Response:
        """POST /api/chat as an integration does (its own sender ids, with the API key): the one place
        that knows how a web request is built."""
        return self.post("/api/chat", dumps({"sender": sender or f"h-{uuid.uuid4().hex[:12]}", "message": message}),
                         {"Authorization": f"Bearer {API_KEY}"}, edge="/api/chat")

    def post(self, path: str, body: bytes, headers: dict | None = None, edge: str = "") -> httpx.Response:
        started = time.perf_counter()
        response = self.http.post(path, content=body, headers={"Content-Type": "application/json", **(headers or {})})
        self.tally.record(edge or path, time.perf_counter() - started, response.status_code)
        return response

    def telegram_update(self, update: bytes, secret: str | None = TG_SECRET, edge: str = "") -> httpx.Response:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        return self.post("/telegram/webhook", update, headers, edge or "/telegram/webhook")

    def zalo_event(self, body: bytes, timestamp: object, sign: bool = True, edge: str = "") -> httpx.Response:
        headers = {"X-ZEvent-Signature": zalo_mac(body, str(timestamp))} if sign else {}
        return self.post("/zalo/webhook", body, headers, edge or "/zalo/webhook")


    def messenger_event(self, body: bytes, sign: bool = True, edge: str = "") -> httpx.Response:
        headers = {"X-Hub-Signature-256": hub_signature(body)} if sign else {}
        return self.post("/messenger/webhook", body, headers, edge or "/messenger/webhook")


def hub_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(FB_SECRET.encode(), body, hashlib.sha256).hexdigest()


def messenger_text(user: str, text: object) -> dict:
    return {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [
        {"sender": {"id": user}, "recipient": {"id": "1"}, "timestamp": 1,
         "message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}]}]}


def zalo_mac(body: bytes, timestamp: str, secret: str = ZALO_OA_SECRET) -> str:
    stamp = timestamp.encode("utf-8", "surrogatepass")
    return "mac=" + hashlib.sha256(ZALO_APP_ID.encode() + body + stamp + secret.encode()).hexdigest()


def now_ms() -> str:
    return str(int(time.time() * 1000))


def zalo_text(user: str, text: object) -> dict:
    return {"app_id": ZALO_APP_ID, "event_name": "user_send_text", "timestamp": now_ms(), "sender": {"id": user},
            "recipient": {"id": "1"}, "message": {"text": text, "msg_id": uuid.uuid4().hex}}


@pytest.fixture(scope="module")
def tally():
    """What the module measured, printed at its end (run pytest with -s to see it)."""
    measured = Tally()
    yield measured
    print("\n" + measured.report())


@pytest.fixture(scope="module")
def stack(dialogue, tally, tmp_path_factory):
    telegram = FakeTelegram()
    zalo = FakeZalo(ZALO_APP_ID, ZALO_APP_SECRET, access_token="access-1", refresh_token="refresh-1")
    graph = FakeGraph(FB_TOKEN)
    with serve(telegram.app) as telegram_url, serve(zalo.app) as zalo_url, serve(graph.app) as graph_url:
        telegram.url = telegram_url
        port = free_port()
        settings = Settings(
            rasa_url=dialogue.rasa_url, action_server_url=dialogue.actions_url, rate_limit="100000/minute",
            address_rate_limit="100000/minute", new_conversations_per_hour=100000, api_key=API_KEY,
            data=tmp_path_factory.mktemp("hostile-data"),
            telegram_bot_token=TG_TOKEN, telegram_api_base=telegram_url, telegram_webhook_secret=TG_SECRET,
            telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            zalo_app_id=ZALO_APP_ID, zalo_oa_secret_key=ZALO_OA_SECRET, zalo_app_secret=ZALO_APP_SECRET,
            zalo_access_token="access-1", zalo_refresh_token="refresh-1", zalo_api_base=zalo_url,
            zalo_oauth_base=zalo_url, messenger_page_access_token=FB_TOKEN, messenger_app_secret=FB_SECRET,
            messenger_verify_token=FB_VERIFY, messenger_api_base=f"{graph_url}/{VERSION}")
        with serve(create_app(settings), port=port) as url, httpx.Client(base_url=url, timeout=60) as http:
            yield Stack(url, dialogue.rasa_url, http, telegram, zalo, graph, tally)


def assert_clean(response: httpx.Response, allowed: set[int]) -> None:
    """No 5xx, the status the edge must give, and nothing of the server's insides in the body."""
    assert response.status_code < 500 and response.status_code in allowed, (response.status_code, response.text[:300])
    assert not any(leak in response.text for leak in LEAKS), response.text[:500]


def assert_answers_normally(stack: Stack) -> None:
    reply = stack.chat(NORMAL_QUESTION)
    assert reply.status_code == 200
    message = reply.json()["messages"][0]
    assert message["text"] != APOLOGY and message["citations"][0]["doc_number"] == "704/UBND-KGVX"


def tracker_latest(stack: Stack, sender: str) -> dict:
    """What Rasa made of the sender's last message (its tracker, over Rasa's HTTP API)."""
    response = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", timeout=30)
    response.raise_for_status()
    return response.json()["latest_message"]


# --- the fixes, one by one ----------------------------------------------------------------------------

def test_cleaning_keeps_the_text_but_what_cannot_reach_rasa():
    assert clean_text("Sở Y tế\ud800 làm gì?\x00\x1b\n\tHết") == "Sở Y tế\ufffd làm gì?\n\tHết"
    assert clean_text("e\u0301 \u200b😀 <b>") == "e\u0301 \u200b😀 <b>"      # combining, zero-width, emoji kept
    assert as_words(' / /restart') == "restart" and as_words('/ask_directive{"doc_number": "1"}') == \
        'ask_directive{"doc_number": "1"}'
    assert as_words("Văn bản 704/UBND-KGVX") == "Văn bản 704/UBND-KGVX"


def test_a_sealed_payload_opens_only_for_its_user_and_only_unchanged():
    seal, other_key = ButtonSeal(b"k" * 32), ButtonSeal(b"o" * 32)
    sealed = seal.seal("web:a", '/choose_option{"option": "2"}')
    assert seal.open("web:a", sealed) == '/choose_option{"option": "2"}'
    assert seal.open("web:b", sealed) is None and other_key.open("web:a", sealed) is None
    assert seal.open("web:a", sealed.replace('"2"', '"3"')) is None
    assert seal.open("web:a", '/choose_option{"option": "2"}') is None
    assert seal.seal_buttons("tg:1", [{"title": "Có", "payload": "có"}]) == [{"title": "Có", "payload": "có"}]


def test_deeply_nested_or_huge_bodies_get_a_4xx_not_a_500(stack):
    nested = stack.post("/api/chat", b"[" * 100_000 + b"]" * 100_000)
    objects = stack.post("/api/chat", b'{"message":' * 5000 + b'"x"' + b"}" * 5000)
    huge = stack.post("/api/chat", b'{"sender": "a", "message": "' + b"a" * (2 * MAX_BODY_BYTES) + b'"}')
    assert (nested.status_code, objects.status_code, huge.status_code) == (400, 400, 413)
    assert "nested too deeply" in nested.json()["error"] and "nested too deeply" in objects.json()["error"]
    tg = stack.telegram_update(b'{"update_id":' * 5000 + b"1" + b"}" * 5000)
    zalo = stack.zalo_event(b'{"timestamp":' * 5000 + b"1" + b"}" * 5000, "1")
    fb = stack.messenger_event(b'{"entry":' * 5000 + b"1" + b"}" * 5000)
    fb_huge = stack.messenger_event(b"[" + b"1," * MAX_BODY_BYTES + b"1]")
    assert (tg.status_code, zalo.status_code, fb.status_code, fb_huge.status_code) == (400, 401, 400, 413)


def test_a_lone_surrogate_or_control_character_is_answered_not_apologised_for(stack):
    for message in (NORMAL_QUESTION + "\ud800", "\x00" + NORMAL_QUESTION + "\udfff\x1b"):
        reply = stack.chat(message)
        assert reply.status_code == 200
        first = reply.json()["messages"][0]
        assert first["text"] != APOLOGY and first["citations"][0]["doc_number"] == "704/UBND-KGVX"


def test_typed_slash_commands_are_words_and_do_not_steer_the_dialogue(stack):
    sender = f"slash-{uuid.uuid4().hex[:8]}"
    assert stack.chat(NORMAL_QUESTION, sender).json()["messages"][0]["citations"][0]["doc_number"] == "704/UBND-KGVX"
    stack.chat("/restart", sender)                      # Rasa's own intent: it would wipe the conversation
    latest = tracker_latest(stack, f"web:{sender}")
    assert latest["text"] == "restart" and latest["intent"]["name"] != "restart"
    follow_up = stack.chat("Văn bản đó do ai ký?", sender).json()["messages"][0]
    assert "704/UBND-KGVX" in follow_up["text"] or \
        [c["doc_number"] for c in follow_up["citations"]] == ["704/UBND-KGVX"]   # the focus survived
    stack.chat('/ask_document{"doc_number": "146/KH-UBND"}', sender)
    latest = tracker_latest(stack, f"web:{sender}")
    assert not latest["text"].startswith("/") and latest["intent"].get("confidence", 1.0) < 1.0   # the NLU's guess


def test_a_pressed_button_reaches_rasa_only_sealed_for_the_one_who_got_it(stack):
    sender = f"btn-{uuid.uuid4().hex[:8]}"
    stack.chat("Kế hoạch 146/KH-UBND về việc gì?", sender)
    choice = stack.chat("Hạn chót khi nào?", sender).json()["messages"]
    buttons = [b for m in choice for b in m["buttons"]]
    assert len(buttons) >= 2 and all(b["payload"].startswith("/choose_option") for b in buttons)
    stolen = stack.chat(buttons[1]["payload"], f"thief-{sender}").json()["messages"]
    forged = stack.chat(buttons[1]["payload"].replace('"2"', '"1"'), sender).json()["messages"]
    assert stolen[0]["text"] == BUTTON_EXPIRED and forged[0]["text"] == BUTTON_EXPIRED
    chosen = stack.chat(buttons[1]["payload"], sender).json()["messages"]
    assert "vào năm 2023" in chosen[0]["text"]
    assert tracker_latest(stack, f"web:{sender}")["intent"]["name"] == "choose_option"


def test_telegram_buttons_are_sealed_and_a_forged_callback_is_read_as_words(stack):
    chat = 7001
    stack.telegram_update(dumps(message_update(1, chat, "Kế hoạch 146/KH-UBND về việc gì?")))
    stack.telegram.wait_sent(chat, 1)
    stack.telegram_update(dumps(message_update(2, chat, "Hạn chót khi nào?")))
    choice = stack.telegram.wait_sent(chat, 2)[1]
    rows = choice.params["reply_markup"]["inline_keyboard"]
    stack.telegram_update(dumps(callback_update(3, chat, rows[1][0]["callback_data"], "cb-real", message=choice.result)))
    chosen = stack.telegram.wait_sent(chat, 3)[2]
    assert "vào năm 2023" in chosen.params["text"]
    forged = 'p:/choose_option{"option": "1"}'        # what a modified client could send as callback data
    stack.telegram_update(dumps(callback_update(4, chat, forged, "cb-forged", message=choice.result)))
    stack.telegram.wait_sent(chat, 4)
    assert tracker_latest(stack, f"tg:{chat}")["text"] == 'choose_option{"option": "1"}'


# --- the fuzz -------------------------------------------------------------------------------------------

def test_fuzz_web_chat_bodies_at_the_edge(stack):
    @settings(max_examples=300, **FUZZ)
    @given(body=bodies)
    def property_(body: bytes) -> None:
        assert_clean(stack.post("/api/chat", body, edge="/api/chat (bodies)"), {200, 400, 413})

    property_()
    assert_answers_normally(stack)


def test_fuzz_web_chat_messages_through_the_dialogue(stack):
    @settings(max_examples=50, **FUZZ)
    @given(message=texts)
    def property_(message: str) -> None:
        response = stack.chat(message)
        assert_clean(response, {200})
        replies = response.json()["messages"]
        assert replies and all(isinstance(m["text"], str) for m in replies)

    property_()
    assert_answers_normally(stack)


def test_fuzz_telegram_webhook_refuses_without_its_secret_and_never_fails_with_it(stack):
    secrets_ = st.none() | st.sampled_from(["", TG_SECRET + "x", TG_SECRET[:-1], TG_SECRET.upper()]) | \
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40)

    @settings(max_examples=120, **FUZZ)
    @given(body=bodies, secret=secrets_)
    def unsigned(body: bytes, secret: str | None) -> None:
        assert_clean(stack.telegram_update(body, secret, edge="/telegram/webhook (no secret)"), {403})

    @settings(max_examples=150, **FUZZ)
    @given(body=bodies)
    def signed(body: bytes) -> None:
        assert_clean(stack.telegram_update(body, edge="/telegram/webhook (bodies)"), {200, 400, 413})

    chats = iter(range(900_000, 901_000))
    asked: list[int] = []

    @settings(max_examples=30, **FUZZ)
    @given(text=texts)
    def messages(text: str) -> None:
        chat = next(chats)
        asked.append(chat)
        update = message_update(chat, chat, text)
        assert_clean(stack.telegram_update(dumps(update), edge="/telegram/webhook (messages)"), {200})

    unsigned()
    signed()
    messages()
    for chat in asked:                        # every message got an answer (or a hint), none a traceback
        sent = stack.telegram.wait_sent(chat, 1, timeout=120)
        assert not any(leak in call.params["text"] for call in sent for leak in LEAKS)
    stack.telegram_update(dumps(message_update(5, 7002, NORMAL_QUESTION)))
    assert "704/UBND-KGVX" in stack.telegram.wait_sent(7002, 1)[0].params["text"]


def test_fuzz_zalo_webhook_requires_its_signature_and_never_fails_with_it(stack):
    @settings(max_examples=120, **FUZZ)
    @given(body=bodies, signature=st.none() | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126),
                                                        max_size=70))
    def unsigned(body: bytes, signature: str | None) -> None:
        headers = {} if signature is None else {"X-ZEvent-Signature": signature}
        assert_clean(stack.post("/zalo/webhook", body, headers, edge="/zalo/webhook (unsigned)"), {401, 413})

    @settings(max_examples=150, **FUZZ)
    @given(event=st.dictionaries(st.sampled_from(["event_name", "sender", "message", "timestamp", "app_id"]),
                                 json_values, max_size=5),
           timestamp=st.one_of(st.just("now"), json_values))
    def signed(event: dict, timestamp: object) -> None:
        event["timestamp"] = now_ms() if timestamp == "now" else timestamp
        body = dumps(event)
        response = stack.zalo_event(body, "" if event["timestamp"] is None else event["timestamp"],
                                    edge="/zalo/webhook (events)")
        assert_clean(response, {200, 401, 403, 413})

    users = iter(range(800_000, 801_000))
    asked: list[str] = []

    @settings(max_examples=30, **FUZZ)
    @given(text=texts)
    def messages(text: str) -> None:
        user = str(next(users))
        asked.append(user)
        event = zalo_text(user, text)
        response = stack.zalo_event(dumps(event), event["timestamp"], edge="/zalo/webhook (messages)")
        assert_clean(response, {200})

    unsigned()
    signed()
    messages()
    for user in asked:
        sent = stack.zalo.wait_sent(user, 1, timeout=120)
        assert not any(leak in call.text for call in sent for leak in LEAKS)
    event = zalo_text("7003", NORMAL_QUESTION)
    assert stack.zalo_event(dumps(event), event["timestamp"]).status_code == 200
    assert "704/UBND-KGVX" in stack.zalo.wait_sent("7003", 1)[0].text


def test_fuzz_messenger_webhook_requires_its_signature_and_never_fails_with_it(stack):
    @settings(max_examples=120, **FUZZ)
    @given(body=bodies, signature=st.none() | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126),
                                                        max_size=80))
    def unsigned(body: bytes, signature: str | None) -> None:
        headers = {} if signature is None else {"X-Hub-Signature-256": signature}
        assert_clean(stack.post("/messenger/webhook", body, headers, edge="/messenger/webhook (unsigned)"),
                     {403, 413})

    messaging = st.fixed_dictionaries({"sender": st.one_of(st.fixed_dictionaries({"id": st.just("7104")}), json_values)},
                                      optional={"message": json_values, "postback": json_values,
                                                "recipient": json_values})
    events = st.one_of(bodies, st.fixed_dictionaries(
        {"object": st.one_of(st.just("page"), json_values),
         "entry": st.lists(st.fixed_dictionaries({"messaging": st.lists(messaging, max_size=3)}) | json_values,
                           max_size=3)}).map(dumps))

    @settings(max_examples=150, **FUZZ)
    @given(body=events)
    def signed(body: bytes) -> None:
        assert_clean(stack.messenger_event(body, edge="/messenger/webhook (events)"), {200, 400, 413})

    users = iter(range(700_000, 701_000))
    asked: list[str] = []

    @settings(max_examples=25, **FUZZ)
    @given(text=texts)
    def messages(text: str) -> None:
        user = str(next(users))
        asked.append(user)
        response = stack.messenger_event(dumps(messenger_text(user, text)), edge="/messenger/webhook (messages)")
        assert_clean(response, {200})

    unsigned()
    signed()
    messages()
    for user in asked:                        # every message got an answer (or a hint), none a traceback
        sent = stack.graph.wait_sent(user, 1, timeout=120)
        assert not any(leak in call.text for call in sent for leak in LEAKS)
    assert not [c.response for c in stack.graph.calls if c.status != 200]   # nothing Meta would refuse
    assert stack.messenger_event(dumps(messenger_text("7005", NORMAL_QUESTION))).status_code == 200
    assert "704/UBND-KGVX" in stack.graph.wait_sent("7005", 1)[0].text


def test_fuzz_cli_ask(tally, sample_index):
    from retrieval.cli import cli

    runner = CliRunner()

    @settings(max_examples=25, **FUZZ)
    @given(question=texts)
    def property_(question: str) -> None:
        started = time.perf_counter()
        result = runner.invoke(cli, ["ask", question, "--index", str(sample_index), "--json"])
        tally.record("trolyao ask", time.perf_counter() - started, 0 if result.exit_code == 0 else 400)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 2), result.output[-500:]      # 2: click's usage error (empty, "-x")
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            assert isinstance(json.loads(result.stdout)["answer"], str)

    property_()


def test_cli_ask_reads_invalid_utf8_as_a_clear_error_and_escaped_surrogates_as_text(sample_index, tmp_path):
    from retrieval.cli import cli

    broken, escaped = tmp_path / "broken.jsonl", tmp_path / "escaped.jsonl"
    broken.write_bytes(b'{"id": "a", "text": "S\xff\xfe Y t\xe1"}\n')
    escaped.write_text('{"id": "q\\ud800", "text": "C\u00f4ng v\u0103n 704/UBND-KGVX n\u00f3i g\u00ec?\\udfff"}\n',
                       encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(cli, ["ask", "--questions", str(broken), "--index", str(sample_index)])
    answered = runner.invoke(cli, ["ask", "--questions", str(escaped), "--index", str(sample_index)])
    assert refused.exit_code == 1 and "not UTF-8 text" in refused.output and "Traceback" not in refused.output
    assert answered.exit_code == 0, answered.output
    record = json.loads(answered.stdout)
    assert record["id"] == "q\ufffd" and record["citations"][0]["doc_number"] == "704/UBND-KGVX"
