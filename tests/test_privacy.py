"""The right to be forgotten and retention (Law 91/2025/QH15): `trolyao privacy list|export|forget|purge`
over every store holding users' data — Rasa's conversations (SQLite, or PostgreSQL when scaled), the
feedback, the gateway's rate-limit hits (SQLite, or Redis when scaled) —, the daily purge in the
gateway, the chat's "xóa dữ liệu của tôi" (actions and the gateway's part), and the web chat's footnote.

Rasa's tracker table is created here with the columns of Rasa 3.6's SQLTrackerStore (`events`); the
dialogue test (test_privacy_dialogue.py) runs against the table real Rasa writes."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from asgi_server import serve
from click.testing import CliRunner
from scale_out_stack import scale_out_servers  # noqa: F401  (fixture)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.privacy_actions import ASK, DONE, KEPT
from bot.addresses import RedisAddress
from bot.app import create_app
from bot.cli import cli
from bot.conversations import PostgresConversations
from bot.gateway import FORGET_FAILED, Gateway
from bot.privacy import Retention, privacy_stores
from bot.redis_state import RedisGatewayState
from bot.pseudonyms import Pseudonyms
from bot.secret_key import secret_key
from bot.state import GatewayState
from limits import parse_many
from retrieval.feedback import FeedbackRecord, FeedbackStore
from retrieval.follow.store import FollowStore
from retrieval.settings import Settings

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone.utc)
OLD = NOW - dt.timedelta(days=120)      # past the default 90 days
RECENT = NOW - dt.timedelta(days=2)
EARLIER = NOW - dt.timedelta(days=3)    # Bob's last activity, before Alice's
ALICE, BOB = "tg:111", "zalo:222"
LIMITS = parse_many("100/minute")

# Rasa 3.6's SQLTrackerStore.SQLEvent
EVENTS_TABLE = """CREATE TABLE IF NOT EXISTS events (id {id} PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"""


def event_rows(sender: str, at: dt.datetime, text: str) -> list[tuple]:
    moment = at.timestamp()
    user = {"event": "user", "timestamp": moment, "text": text, "parse_data": {"intent": {"name": "ask_directive"}}}
    bot = {"event": "bot", "timestamp": moment + 1, "text": f"Trả lời: {text}"}
    return [(sender, "user", moment, "ask_directive", None, json.dumps(user, ensure_ascii=False)),
            (sender, "bot", moment + 1, None, None, json.dumps(bot, ensure_ascii=False))]


def conversations_rows() -> list[tuple]:
    return (event_rows(ALICE, OLD, "Công văn 704 nói gì?") + event_rows(ALICE, RECENT, "Ai chủ trì?")
            + event_rows(BOB, EARLIER, "Sở Y tế được giao việc gì?"))


def feedback_records() -> list[FeedbackRecord]:
    return [FeedbackRecord(ALICE, "down", "Công văn 704 nói gì?", "…", [], OLD.isoformat()),
            FeedbackRecord(ALICE, "abstained", "Giá vàng hôm nay?", "Xin lỗi…", [], RECENT.isoformat()),
            FeedbackRecord(BOB, "up", "Sở Y tế được giao việc gì?", "…", [{"doc_number": "704/UBND-KGVX"}],
                           EARLIER.isoformat())]


def pseudonym(settings: Settings, sender: str) -> str:
    """What the gateway keys a sender's rate-limit hits by (bot/pseudonyms.py)."""
    return Pseudonyms(secret_key(settings)).of(sender)


def hit_at(state, key: str, at: dt.datetime) -> None:
    state.clock = lambda: at.timestamp()
    assert state.hit(LIMITS, key)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A data directory holding Alice (old and recent data) and Bob (recent) in every store."""
    settings = Settings(data=tmp_path / "data", feedback=tmp_path / "data" / "feedback.sqlite3")
    settings.data_dir.mkdir(parents=True)
    with closing(sqlite3.connect(settings.conversations_path)) as db, db:
        db.execute(EVENTS_TABLE.format(id="INTEGER"))
        db.executemany("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                       "VALUES (?, ?, ?, ?, ?, ?)", conversations_rows())
    feedback = FeedbackStore(settings.feedback_path)
    for record in feedback_records():
        feedback.record(record)
    state = GatewayState(settings.gateway_state_path)
    alice, bob = pseudonym(settings, ALICE), pseudonym(settings, BOB)
    hit_at(state, alice, RECENT)   # the old one after: a hit clears its sender's hits past the window
    hit_at(state, alice, OLD)
    hit_at(state, bob, EARLIER)
    state.close()
    follows = FollowStore.sqlite(settings.follows_path, clock=lambda: RECENT.timestamp())
    follows.follow(ALICE, "Sở Tư pháp")   # Alice follows an agency (retrieval/follow/store.py)
    follows.close()
    return settings


def run(settings: Settings, *args: str, now: dt.datetime = NOW):
    return CliRunner().invoke(cli, ["privacy", *args], obj={"settings": settings, "now": lambda: now})


def rows(path: Path, query: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(query).fetchall()


def held(settings: Settings) -> dict[str, set[str]]:
    """Which senders each store still holds, read straight from the files."""
    return {"conversations": {s for (s,) in rows(settings.conversations_path, "SELECT sender_id FROM events")},
            "feedback": {s for (s,) in rows(settings.feedback_path, "SELECT conversation_id FROM feedback")},
            "gateway": {named[k] for (k,) in rows(settings.gateway_state_path, "SELECT key FROM hits")
                        for named in [{pseudonym(settings, s): s for s in (ALICE, BOB)}]},
            "follows": {s for (s,) in rows(settings.follows_path, "SELECT sender FROM follows")}}


# -- the command ---------------------------------------------------------------------------------------

def test_list_shows_each_sender_with_their_last_activity_and_where_they_are_held(settings):
    result = run(settings, "list")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert [line[0] for line in lines] == [ALICE, BOB]     # newest first
    alice = dict(zip(("sender", "last", "stores"), lines[0]))
    assert dt.datetime.fromisoformat(alice["last"]) == RECENT + dt.timedelta(seconds=1)   # her last event
    assert alice["stores"] == "conversations, feedback, follows"   # the gateway holds pseudonyms: it names nobody


def test_export_prints_everything_about_one_user_as_json_and_deletes_nothing(settings):
    before = held(settings)
    result = run(settings, "export", "--sender", ALICE)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sender"] == ALICE
    texts = [event.get("text") for event in data["stores"]["conversations"]]
    assert texts == ["Công văn 704 nói gì?", "Trả lời: Công văn 704 nói gì?", "Ai chủ trì?", "Trả lời: Ai chủ trì?"]
    assert [r["question"] for r in data["stores"]["feedback"]] == ["Công văn 704 nói gì?", "Giá vàng hôm nay?"]
    assert len(data["stores"]["gateway"]) == 2
    assert "Sở Y tế" not in result.output                  # nothing of Bob's
    assert held(settings) == before


def test_forget_deletes_every_row_of_that_user_and_no_one_elses(settings):
    result = run(settings, "forget", "--sender", ALICE)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["conversations: 4 events",
                                          "feedback: 2 records (ratings, abstained questions)",
                                          "gateway: 2 rate-limit hits",
                                          "officials: 0 sign-in records",   # official status is kept
                                          "follows: 1 records (subscriptions, notifications sent and waiting)"]
    assert held(settings) == {"conversations": {BOB}, "feedback": {BOB}, "gateway": {BOB}, "follows": set()}
    assert json.loads(run(settings, "export", "--sender", ALICE).output)["stores"] == \
        {"conversations": [], "feedback": [], "gateway": [], "officials": [], "follows": []}
    assert run(settings, "forget", "--sender", ALICE).output.startswith("conversations: 0 events")


def test_purge_deletes_only_what_is_older_than_the_retention(settings):
    result = run(settings, "purge")
    assert result.exit_code == 0, result.output
    assert "conversations: 2 events" in result.output and "feedback: 1 records" in result.output \
        and "gateway: 1 rate-limit hits" in result.output
    export = json.loads(run(settings, "export", "--sender", ALICE).output)["stores"]
    assert [e["text"] for e in export["conversations"]] == ["Ai chủ trì?", "Trả lời: Ai chủ trì?"]
    assert [r["rating"] for r in export["feedback"]] == ["abstained"]
    assert held(settings) == {**{store: {ALICE, BOB} for store in ("conversations", "feedback", "gateway")},
                              "follows": {ALICE}}   # a subscription lasts until the user ends it
    # a shorter retention, given on the command line, reaches the recent data too
    assert "conversations: 4 events" in run(settings, "purge", "--days", "1").output
    assert held(settings)["conversations"] == set()


def test_retention_comes_from_the_settings(settings):
    kept_long = settings.model_copy(update={"retention_days": 365})
    assert "conversations: 0 events" in run(kept_long, "purge").output


@pytest.mark.parametrize("sender", ["111", "tg:", "", "TG 111"])
def test_a_sender_that_is_not_channel_colon_id_is_a_one_line_error(settings, sender):
    result = run(settings, "forget", "--sender", sender)
    assert result.exit_code == 1 and "CHANNEL:ID" in result.output and "Traceback" not in result.output
    assert held(settings)["conversations"] == {ALICE, BOB}


def test_an_unreachable_database_is_a_one_line_error(settings):
    # nothing listens on port 1
    result = run(settings.model_copy(update={"database_url": "postgresql://trolyao@127.0.0.1:1/x"}),
                 "--scaled", "forget", "--sender", ALICE)
    assert result.exit_code == 1 and "PostgreSQL" in result.output and "Traceback" not in result.output


def test_a_fresh_data_directory_holds_no_one(tmp_path):
    settings = Settings(data=tmp_path / "empty")
    assert run(settings, "list").output == ""
    assert run(settings, "forget", "--sender", ALICE).exit_code == 0


# -- the daily purge in the gateway ------------------------------------------------------------------------

def test_the_retention_task_purges_with_its_clock(settings):
    retention = Retention(privacy_stores(settings), days=90, clock=lambda: NOW)
    removed = asyncio.run(retention.purge_once())
    assert [(r.store, r.count) for r in removed] == [("conversations", 2), ("feedback", 1), ("gateway", 1),
                                                     ("officials", 0), ("follows", 0)]   # subscriptions last until ended
    assert asyncio.run(retention.purge_once())[0].count == 0


def test_the_gateway_purges_when_it_starts(settings):
    app = create_app(settings.model_copy(update={"retention_days": 30}))
    with serve(app):
        assert app.state.retention.purged.wait(30)
    assert held(settings)["conversations"] == {ALICE, BOB}   # recent data kept
    assert rows(settings.conversations_path, "SELECT COUNT(*) FROM events") == [(4,)]


def test_the_web_chat_states_the_retention_and_how_to_delete(settings):
    with serve(create_app(settings.model_copy(update={"retention_days": 30}))) as url:
        page = httpx.get(f"{url}/", timeout=10).text
    assert "được lưu 30 ngày rồi tự động xóa" in page and "“xóa dữ liệu của tôi”" in page
    assert "{{" not in page


# -- in the chat: the action ----------------------------------------------------------------------------------

def test_the_chat_asks_to_confirm_then_deletes_that_users_feedback(talk, assistant):
    other = talk()
    assistant.feedback.record(FeedbackRecord(other.sender, "down", "q", "a"))
    user = talk()
    assistant.feedback.record(FeedbackRecord(user.sender, "down", "Công văn 704 nói gì?", "…"))
    asked = user.say("xóa dữ liệu của tôi", "forget_me", "action_forget_me")
    assert asked.text == ASK and [b["title"] for b in asked.buttons] == ["Xóa", "Không"]
    assert user.slots["forget_asked"] is True
    confirmed = user.say(asked.buttons[0]["payload"], "forget_me", "action_forget_me",
                         entities=[{"entity": "confirm", "value": "yes"}])
    assert confirmed.text == DONE
    assert {"forget": True} in [e["data"]["custom"] for e in user.events if e.get("event") == "bot"]
    assert {"event": "reset_slots", "timestamp": None} in user.last_events   # no focus left for follow-ups
    assert [r.conversation_id for r in assistant.feedback.records()] == [other.sender]


def test_no_keeps_everything_and_a_stray_yes_only_asks(talk, assistant):
    user = talk()
    assistant.feedback.record(FeedbackRecord(user.sender, "down", "q", "a"))
    stray = user.say('/forget_me{"confirm": "yes"}', "forget_me", "action_forget_me",
                     entities=[{"entity": "confirm", "value": "yes"}])
    assert stray.text == ASK                             # not asked before: ask first
    kept = user.say('/forget_me{"confirm": "no"}', "forget_me", "action_forget_me",
                    entities=[{"entity": "confirm", "value": "no"}])
    assert kept.text == KEPT and user.slots["forget_asked"] is None
    assert len(assistant.feedback.records()) == 1


def test_xoadulieu_on_telegram_asks_the_dialogue_as_the_words_would():
    from fake_telegram import FakeTelegram, message_update
    from stub_gateway import StubGateway
    from test_telegram import over, served_telegram

    fake, stub = FakeTelegram(), StubGateway()
    with serve(fake.app) as url:
        fake.url = url
        with served_telegram(fake, over(stub)):
            fake.push(message_update(40, 605, "/xoadulieu"))
            fake.wait_sent(605, 1)
    assert [(call.user_id, call.text) for call in stub.calls] == [("605", "xóa dữ liệu của tôi")]


# -- in the chat: the gateway's part ------------------------------------------------------------------------

def rasa_confirming_forget() -> Starlette:
    """Rasa's REST webhook answering as the dialogue does once the user pressed "Xóa" (a stand-in)."""
    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse([{"recipient_id": body["sender"], "text": DONE},
                             {"recipient_id": body["sender"], "custom": {"forget": True}}])

    return Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])


def ask_once(gateway: Gateway, text: str):
    async def turn():
        try:
            return await gateway.handle("tg", "111", text)
        finally:
            await gateway.aclose()

    return asyncio.run(turn())


def test_the_gateway_deletes_the_conversation_and_hits_once_the_dialogue_confirms(settings):
    with serve(rasa_confirming_forget()) as rasa:
        state = GatewayState(settings.gateway_state_path)
        gateway = Gateway(settings.model_copy(update={"rasa_url": rasa}), state=state)   # erases where Rasa keeps
        replies = ask_once(gateway, "xóa")
        state.close()
    assert [r.text for r in replies] == [DONE]
    current = held(settings)
    assert ALICE not in current["conversations"] and ALICE not in current["gateway"]
    assert BOB in current["conversations"] and BOB in current["gateway"]


def test_a_store_failing_during_forget_is_never_reported_as_done(settings):
    with closing(sqlite3.connect(settings.conversations_path)) as db, db:
        db.execute("DROP TABLE events")
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")    # no sender_id: the DELETE fails
    with serve(rasa_confirming_forget()) as rasa:
        gateway = Gateway(settings.model_copy(update={"rasa_url": rasa}))
        replies = ask_once(gateway, "xóa")
    assert [r.text for r in replies] == [FORGET_FAILED]


# -- the scale-out mode's stores: PostgreSQL and Redis of the test's own -----------------------------------

def seed_conversations(url: str) -> None:
    """Alice's and Bob's conversations in a fresh `events` table of Rasa's shape on PostgreSQL."""
    import psycopg

    with psycopg.connect(url) as db:
        db.execute("DROP TABLE IF EXISTS events")
        db.execute(EVENTS_TABLE.format(id="SERIAL"))
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, "
                               "data) VALUES (%s, %s, %s, %s, %s, %s)", conversations_rows())


@pytest.mark.stack
def test_the_scaled_stores_list_export_forget_and_purge(scale_out_servers, tmp_path):  # noqa: F811
    postgres, redis_address = scale_out_servers.postgres.address, scale_out_servers.redis.address
    settings = Settings(data=tmp_path, scaled=True, database_url=postgres.url, redis_url=redis_address.url)
    import psycopg

    seed_conversations(postgres.url)
    state = RedisGatewayState(RedisAddress.parse(redis_address.url))
    state.redis.flushdb()
    for sender in (ALICE, "web:a/b", BOB):
        assert state.hit(LIMITS, pseudonym(settings, sender))

    listed = run(settings, "list")
    assert listed.exit_code == 0, listed.output
    # Only the conversations name users; the gateway's hits are keyed by pseudonyms and name nobody.
    assert {line.split("\t")[0] for line in listed.output.splitlines()} == {ALICE, BOB}
    exported = json.loads(run(settings, "export", "--sender", ALICE).output)["stores"]
    assert len(exported["conversations"]) == 4 and len(exported["gateway"]) == 1

    forgotten = run(settings, "forget", "--sender", ALICE)
    assert forgotten.output.splitlines()[0] == "conversations: 4 events"
    assert forgotten.output.splitlines()[2] == "gateway: 1 rate-limit hits"
    conversations = PostgresConversations(postgres.url)
    assert {a.sender for a in conversations.senders()} == {BOB}
    assert {a.sender for a in state.senders()} == {pseudonym(settings, BOB), pseudonym(settings, "web:a/b")}

    with psycopg.connect(postgres.url) as db:
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, "
                               "data) VALUES (%s, %s, %s, %s, %s, %s)", event_rows(ALICE, OLD, "cũ"))
    assert "conversations: 2 events" in run(settings, "purge").output
    assert {a.sender for a in conversations.senders()} == {BOB}
    # --embedded reads the data directory instead, whatever TROLYAO_SCALED says
    assert run(settings, "--embedded", "list").output == ""
    state.close()


@pytest.mark.stack
def test_the_scaled_gateway_erases_from_postgresql_and_redis(scale_out_servers, tmp_path):  # noqa: F811
    postgres, redis_address = scale_out_servers.postgres.address, scale_out_servers.redis.address
    seed_conversations(postgres.url)
    state = RedisGatewayState(RedisAddress.parse(redis_address.url))
    state.redis.flushdb()
    settings = Settings(data=tmp_path, scaled=True, database_url=postgres.url, redis_url=redis_address.url,
                        rate_limit="100/minute")
    assert state.hit(LIMITS, pseudonym(settings, BOB))
    with serve(rasa_confirming_forget()) as rasa:
        settings = settings.model_copy(update={"rasa_url": rasa})
        replies = ask_once(Gateway(settings, state=state), "xóa")      # tg:111 is Alice
    assert [r.text for r in replies] == [DONE]
    assert {a.sender for a in PostgresConversations(postgres.url).senders()} == {BOB}
    assert {a.sender for a in state.senders()} == {pseudonym(settings, BOB)}
    state.close()
