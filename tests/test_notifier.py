"""The gateway's notifier: when a new index generation adds tasks, each follower of an agency gets one
message listing the new tasks where it leads or cooperates (action, role, deadline, source); followers
of "tin mới" get the new bulletin's digest; followers of a task's lead agency are reminded
TROLYAO_REMIND_DAYS days before its deadline. Telegram through sendMessage, Zalo only inside its
free-reply window, web chat users at their next message. Never twice (restart, re-ingest, two
gateway processes); a citizen never hears of an internal document's task.

Two generations of a real index (the sample weeks, hashing embedder); Telegram and Zalo are fakes."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from asgi_server import serve
from fake_telegram import FakeTelegram
from fake_messenger import VERSION as GRAPH_VERSION, FakeGraph
from fake_zalo import FakeZalo
from fakes import HashingEmbedder
from scale_out_stack import scale_out_servers  # noqa: F401  (fixture)
from stub_gateway import StubGateway

from actions.officials import Officials
from bot.app import create_app
from bot.channels.messenger import MessengerChannel
from bot.channels.telegram import WEBHOOK_PATH
from bot.channels.zalo import ZaloChannel
from bot.deliveries import WebDelivery, deliveries_for, window_recorder
from bot.gateway import Gateway
from bot.notifier import RETRY_ATTEMPTS, RETRY_BACKOFF_S, RETRY_LEASE_S, Notifier, notifier_for
from bot.processes import free_port
from retrieval.follow.news import snapshot
from retrieval.follow.store import NEWS, FollowStore
from retrieval.pipeline import ingest
from retrieval.settings import Settings
from retrieval.tasks.registry import TaskRegistry

EMBEDDER = HashingEmbedder()
ROLE_WORDS = {"lead": "chủ trì", "partner": "phối hợp", "assignee": "thực hiện"}


@pytest.fixture
def weeks(corpus_files) -> tuple[Path, Path]:
    """The older week (already indexed when the notifier starts) and the newer one (published later)."""
    older, newer = sorted(corpus_files)
    return older, newer


def newer_only(newer: Path, tmp_path: Path) -> TaskRegistry:
    """What the newer week alone holds, read from an index of its own: what followers must be told."""
    root = tmp_path / "newer-only"
    ingest([newer], root, EMBEDDER)
    return TaskRegistry(snapshot(root).tasks.values())


def passes(notifier: Notifier, count: int = 2) -> None:
    """Let the running notifier make ``count`` more passes (the event is set at the end of each)."""
    for _ in range(count):
        notifier.passed.clear()
        assert notifier.passed.wait(30), "the notifier made no pass"


@contextlib.contextmanager
def gateway_with_telegram(settings: Settings):
    app = create_app(settings)
    with serve(app, port=settings.port):
        yield app.state.notifier


def follower(store: FollowStore, sender: str, *topics: str) -> str:
    for topic in topics:
        store.follow(sender, topic)
    return sender


def test_telegram_followers_get_exactly_one_message_with_their_new_tasks(weeks, tmp_path, caplog):
    older, newer = weeks
    fake = FakeTelegram()
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        port = free_port()
        settings = Settings(data=tmp_path / "data", port=port, telegram_bot_token="123:abc", telegram_api_base=fake_url,
                            telegram_webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                            telegram_webhook_secret="s3cret", notify_every_s=0.2, api_key="k3y")
        ingest([older], settings.index_dir, EMBEDDER)
        store = FollowStore.sqlite(settings.follows_path)
        follower(store, "tg:111", "Sở Y tế")
        follower(store, "tg:222", "Sở Nội vụ")            # no task of the newer week
        follower(store, "tg:333", NEWS)
        follower(store, "tg:444", "Sở Y tế")
        store.unfollow("tg:444")                          # unfollowed: hears nothing
        follower(store, "web:abc", "Sở Xây dựng")         # web chat: at the next message
        with gateway_with_telegram(settings) as notifier:
            passes(notifier)                              # it has seen the older week
            published = time.monotonic()
            ingest([newer], settings.index_dir, EMBEDDER)
            fake.wait_sent(111, 1)
            latency = time.monotonic() - published
            fake.wait_sent(333, 1)
            passes(notifier, 3)
            waiting = httpx.post(f"http://127.0.0.1:{port}/api/chat", json={"message": "chào", "sender": "abc"},
                                 headers={"Authorization": "Bearer k3y"}, timeout=30).json()["messages"]
        assert latency < 60
        logging.getLogger("test").info("publication to message: %.2f s", latency)

        expected = newer_only(newer, tmp_path).tasks_of("Sở Y tế")
        [message] = [c.params["text"] for c in fake.sent(111)]
        assert message.startswith(f"🔔 Sở Y tế có {len(expected)} nhiệm vụ mới:")
        for match in expected:
            assert match.task.action[1:40] in message
            assert f"vai trò: {ROLE_WORDS[match.role]}" in message
            assert f"số {match.task.doc_number}" in message and match.task.doc_type in message
        assert fake.sent(222) == [] and fake.sent(444) == []

        [digest] = [c.params["text"] for c in fake.sent(333)]
        items = snapshot(settings.index_dir).bulletins
        newest = next(b.digest for b in items.values() if b.digest.source == newer.name)
        assert newest.title in digest
        assert all(item.doc_number in digest for item in newest.items if item.doc_number)

        building = newer_only(newer, tmp_path).tasks_of("Sở Xây dựng")
        assert waiting[0]["text"].startswith(f"🔔 Sở Xây dựng có {len(building)} nhiệm vụ mới:")

        # a restart, and the same page ingested again: nothing is sent twice
        ingest([newer], settings.index_dir, EMBEDDER)
        with gateway_with_telegram(settings) as notifier:
            passes(notifier, 3)
        assert len(fake.sent(111)) == 1 and len(fake.sent(333)) == 1
        assert store.take_pending("web:abc") == []


def test_a_web_follower_sees_the_notifications_when_the_page_opens(tmp_path):
    from rasa_stand_in import FakeRasa

    rasa = FakeRasa()
    with serve(rasa.app) as rasa_url:
        settings = Settings(data=tmp_path / "data", rasa_url=rasa_url, secret_key="page-test-secret-0123456789")
        with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as browser:
            assert browser.get("/api/notifications").json() == {"messages": []}     # no conversation: none
            assert "set-cookie" not in browser.get("/api/notifications").headers   # and none started
            browser.post("/api/chat", json={"message": "theo dõi Sở Y tế"})
            conversation = rasa.senders[-1]
            store = FollowStore.sqlite(settings.follows_path)
            store.queue(conversation, "🔔 Sở Y tế có 1 nhiệm vụ mới")
            shown = browser.get("/api/notifications").json()["messages"]
            assert [m["text"] for m in shown] == ["🔔 Sở Y tế có 1 nhiệm vụ mới"]
            assert browser.get("/api/notifications").json() == {"messages": []}     # shown once
            with httpx.Client(base_url=url, timeout=30) as stranger:
                store.queue(conversation, "riêng")
                assert stranger.get("/api/notifications").json() == {"messages": []}   # another browser: nothing


def test_a_citizen_never_hears_of_an_internal_documents_tasks(weeks, tmp_path):
    older, newer = weeks
    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3")
    for sender in ("web:official", "web:citizen"):
        follower(store, sender, "Sở Y tế", NEWS)
    notifier = Notifier(index, store, {"web": WebDelivery(store)}, Officials("web:official").audience,
                        lambda: "2024-05-29", [3, 0])
    asyncio.run(notifier.run_once())
    ingest([newer], index, EMBEDDER, access="internal")
    report = asyncio.run(notifier.run_once())
    assert {n.sender for n in report.sent} == {"web:official"}
    official = store.take_pending("web:official")
    assert len(official) == 2 and any(text.startswith("🔔 Sở Y tế có") for text in official)
    assert "[Nội bộ]" in "".join(official)     # the official is told it stays inside
    assert store.take_pending("web:citizen") == []


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request, tmp_path):
    """How two gateway processes would each open the one database they share."""
    if request.param == "sqlite":
        return lambda: FollowStore.sqlite(tmp_path / "follows.sqlite3")
    url = request.getfixturevalue("scale_out_servers").postgres.address.url
    with contextlib.closing(FollowStore.postgres(url)) as store:   # the module's server: start from empty
        for table in ("follows", "sent", "known", "inbound", "pending", "retry"):
            store._run(f"DROP TABLE IF EXISTS {table}")
    return lambda: FollowStore.postgres(url)


def test_two_gateway_processes_send_each_notification_once(weeks, tmp_path, shared_database):
    older, newer = weeks
    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)
    stores = [shared_database(), shared_database()]
    follower(stores[0], "web:u", "Sở Y tế", NEWS)
    notifiers = [Notifier(index, s, {"web": WebDelivery(s)}, Officials().audience, lambda: "2024-05-29", [3, 0])
                 for s in stores]

    async def both() -> list:
        return await asyncio.gather(*(n.run_once() for n in notifiers))

    asyncio.run(both())
    ingest([newer], index, EMBEDDER)
    reports = asyncio.run(both())
    assert sum(len(r.sent) for r in reports) == 2          # the tasks, the digest
    assert len(stores[1].take_pending("web:u")) == 2
    asyncio.run(both())
    assert stores[0].take_pending("web:u") == []
    for store in stores:
        store.close()


def test_two_processes_recording_new_tasks_at_once_never_split_them(shared_database):
    """Of two processes recording a generation's new tasks at the same moment, one finds them all and the
    other none: a follower gets one message listing them, not one half from each process."""
    stores = [shared_database(), shared_database()]
    for round_ in range(10):
        items = [f"{round_}-{i}" for i in range(300)]
        together = threading.Barrier(2)

        def look(store: FollowStore) -> set[str]:
            together.wait()
            return store.unknown("task", items)

        with ThreadPoolExecutor(2) as pool:
            found = list(pool.map(look, stores))
        assert sorted(len(f) for f in found) == [0, len(items)], round_
    for store in stores:
        store.close()


def test_reminders_on_the_configured_days_before_a_deadline_once_each(weeks, tmp_path, monkeypatch):
    _, newer = weeks
    index = tmp_path / "index"
    ingest([newer], index, EMBEDDER)
    registry = TaskRegistry(snapshot(index).tasks.values())
    task = next(t for t in registry.tasks if t.lead and t.deadline_date and not t.lead.startswith("Các"))
    deadline = dt.date.fromisoformat(task.deadline_date)
    settings = Settings(data=tmp_path / "data", index=index, remind_days="3,0")
    store = FollowStore.sqlite(settings.follows_path)
    follower(store, "web:lead", task.lead)
    follower(store, "web:other", "Sở Nội vụ")

    def day(offset: int) -> list[str]:
        pinned = settings.model_copy(update={"today": deadline - dt.timedelta(days=offset)})
        asyncio.run(notifier_for(pinned, store, []).run_once())
        assert store.take_pending("web:other") == []
        return store.take_pending("web:lead")

    [three] = day(3)
    assert "còn 3 ngày nữa đến hạn" in three and task.action[1:40] in three and task.lead in three
    assert day(3) == []                 # the same day again: not twice
    assert day(2) == [] and day(1) == []
    [due] = day(0)
    assert "hôm nay là hạn" in due
    assert "Nguồn:" in due


@pytest.fixture
def fake_zalo():
    fake = FakeZalo("app", "secret", access_token="access-1", refresh_token="refresh-1")
    with serve(fake.app) as url:
        yield fake, url


def test_zalo_is_sent_only_inside_the_free_reply_window(weeks, tmp_path, fake_zalo, caplog):
    older, newer = weeks
    fake, url = fake_zalo
    now = [time.time()]
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3", clock=lambda: now[0])
    settings = Settings(zalo_app_id="app", zalo_oa_secret_key="oa", zalo_access_token="access-1",
                        zalo_app_secret="secret", zalo_refresh_token="refresh-1", zalo_api_base=url,
                        zalo_oauth_base=url)
    gateway = Gateway(settings, http=httpx.AsyncClient(), inbound=window_recorder(store), erase=[])
    for user, days_ago in (("recent", 2), ("stale", 8)):
        now[0] = time.time() - days_ago * 86400
        asyncio.run(gateway.handle("zalo", user, "xin chào"))   # Rasa is not there: the visit is still recorded
        follower(store, f"zalo:{user}", "Sở Y tế")
    follower(store, "zalo:never", "Sở Y tế")
    asyncio.run(gateway.handle("tg", "5", "xin chào"))
    assert store.last_wrote("tg:5") is None                      # Telegram has no window to keep

    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)

    async def run() -> None:
        channel = ZaloChannel(settings, StubGateway())
        notifier = Notifier(index, store, deliveries_for([channel], store), Officials().audience,
                            lambda: "2024-05-29", [3, 0])
        await notifier.run_once()
        ingest([newer], index, EMBEDDER)
        with caplog.at_level(logging.WARNING, logger="trolyao.gateway.notifier"):
            report = await notifier.run_once()
        await channel.http.aclose()
        assert {n.sender for n in report.sent} == {"zalo:recent"}
        assert {n.sender for n, _ in report.not_sent} == {"zalo:stale", "zalo:never"}

    asyncio.run(run())
    assert [c.text.splitlines()[0] for c in fake.sent("recent")][0].startswith("🔔 Sở Y tế có")
    assert fake.sent("stale") == [] and fake.sent("never") == []
    assert caplog.text.count("outside zalo's free-reply window") == 2


def test_messenger_is_sent_only_within_a_day_of_the_users_last_message(weeks, tmp_path):
    older, newer = weeks
    fake = FakeGraph("page-token")
    now = [time.time()]
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3", clock=lambda: now[0])
    for user, hours_ago in (("today", 2), ("yesterday", 30)):
        now[0] = time.time() - hours_ago * 3600
        window_recorder(store)(f"messenger:{user}")
        follower(store, f"messenger:{user}", "Sở Y tế")
    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)
    with serve(fake.app) as url:
        settings = Settings(messenger_page_access_token="page-token", messenger_app_secret="app-secret",
                            messenger_verify_token="verify", messenger_api_base=f"{url}/{GRAPH_VERSION}")

        async def run():
            channel = MessengerChannel(settings, StubGateway())
            notifier = Notifier(index, store, deliveries_for([channel], store), Officials().audience,
                                lambda: "2024-05-29", [3, 0])
            await notifier.run_once()
            ingest([newer], index, EMBEDDER)
            report = await notifier.run_once()
            await channel.http.aclose()
            return report

        report = asyncio.run(run())
    assert [n.sender for n in report.sent] == ["messenger:today"]
    [(note, reason)] = report.not_sent
    assert note.sender == "messenger:yesterday" and "outside messenger's free-reply window" in reason
    assert fake.sent("today")[0].text.startswith("🔔 Sở Y tế có") and fake.sent("yesterday") == []


def test_a_passing_failure_is_sent_once_later_and_a_lasting_one_given_up(weeks, tmp_path):
    older, newer = weeks
    now = [time.time()]
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3", clock=lambda: now[0])
    fake = FakeZalo("app", "secret", access_token="access-1", refresh_token="refresh-1")
    port = free_port()
    settings = Settings(zalo_app_id="app", zalo_oa_secret_key="oa", zalo_access_token="access-1",
                        zalo_app_secret="secret", zalo_refresh_token="refresh-1",
                        zalo_api_base=f"http://127.0.0.1:{port}", zalo_oauth_base=f"http://127.0.0.1:{port}")
    store.wrote("zalo:reader")                    # inside Zalo's reply window
    follower(store, "zalo:reader", "Sở Y tế")
    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)

    async def run() -> list:
        channel = ZaloChannel(settings, StubGateway())
        notifier = Notifier(index, store, deliveries_for([channel], store), Officials().audience,
                            lambda: "2024-05-29", [])
        await notifier.run_once()                 # the first look: what the index holds is known
        ingest([newer], index, EMBEDDER)
        down = await notifier.run_once()          # Zalo's API unreachable: kept for later, not lost
        nothing_due = await notifier.run_once()   # not due yet: not sent twice either
        with serve(fake.app, port=port):
            now[0] += RETRY_BACKOFF_S
            later = await notifier.run_once()
            now[0] += RETRY_BACKOFF_S * 8
            after = await notifier.run_once()
        await channel.http.aclose()
        return [down, nothing_due, later, after]

    down, nothing_due, later, after = asyncio.run(run())
    assert not down.sent and [n.sender for n, _ in down.to_retry] == ["zalo:reader"]
    assert not nothing_due.sent and not nothing_due.to_retry
    assert [n.sender for n in later.sent] == ["zalo:reader"] and not after.sent and not after.to_retry
    assert len(fake.sent("reader")) == 1
    assert not any("to_retry" in record for record in store.export("zalo:reader"))

    # A failure that lasts: counted at each attempt, given up after RETRY_ATTEMPTS (never sent).
    assert store.claim("zalo:reader", "tasks", "lasting")
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        assert store.retry_later("zalo:reader", "tasks", "lasting", "…", RETRY_BACKOFF_S) == attempt
    assert [r for r in store.export("zalo:reader") if "to_retry" in r] == [{"to_retry": "…"}]
    store.settled("zalo:reader", "tasks", "lasting")
    assert not [r for r in store.export("zalo:reader") if "to_retry" in r]


def test_a_notification_claimed_by_a_process_that_died_before_sending_is_sent_by_another(weeks, tmp_path):
    older, newer = weeks
    now = [time.time()]
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3", clock=lambda: now[0])
    follower(store, "web:u", "Sở Y tế")
    index = tmp_path / "index"
    ingest([older], index, EMBEDDER)

    class Dies:
        async def deliver(self, user_id: str, text: str):
            raise SystemExit("the gateway died while sending")   # nothing after the claim runs

    def notifier(delivery) -> Notifier:
        return Notifier(index, store, {"web": delivery}, Officials().audience, lambda: "2024-05-29", [])

    asyncio.run(notifier(WebDelivery(store)).run_once())    # the first look
    ingest([newer], index, EMBEDDER)
    with pytest.raises(SystemExit):
        asyncio.run(notifier(Dies()).run_once())
    survivor = notifier(WebDelivery(store))
    assert not asyncio.run(survivor.run_once()).sent           # within the lease it may yet be sending
    now[0] += RETRY_LEASE_S + 1
    report = asyncio.run(survivor.run_once())
    assert [n.sender for n in report.sent] == ["web:u"] and store.take_pending("web:u")[0].startswith("🔔 Sở Y tế có")
    now[0] += RETRY_LEASE_S + 1
    assert not asyncio.run(survivor.run_once()).sent           # once
