"""Following an agency or the new bulletins, in any channel: "theo dõi Sở Y tế" (any spelling, with or
without diacritics; `/theodoi` on Telegram), "theo dõi tin mới", "bỏ theo dõi …", "tôi đang theo dõi
gì?". The action server writes the subscriptions, keyed by the user id (`channel:id`), in SQLite in
the data directory (owner-only) or in the scale-out PostgreSQL; the privacy commands cover them.
What followers are sent is tests/test_notifier.py."""
from __future__ import annotations

import contextlib
import datetime as dt
import stat

import httpx
import pytest
from asgi_server import serve
from fake_telegram import FakeTelegram, message_update
from scale_out_stack import scale_out_servers  # noqa: F401  (fixture)
from stub_gateway import StubGateway, channel_app

from action_turns import ActionConversation
from actions.assistant import Assistant
from actions.privacy_actions import DONE
from actions.server import actions_for
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.privacy import privacy_stores
from bot.processes import free_port
from retrieval.follow.store import NEWS, FollowStore
from retrieval.settings import Settings


@pytest.fixture
def follows(tmp_path):
    store = FollowStore.sqlite(tmp_path / "follows.sqlite3")
    yield store
    store.close()


@pytest.fixture
def chat(hashing_retrieval, follows):
    """A new in-process conversation whose actions write to ``follows``."""
    assistant = Assistant(lambda: hashing_retrieval, follows=follows)
    actions = {action.name(): action for action in actions_for(assistant)}
    return lambda sender=None: ActionConversation(actions, **({"sender": sender} if sender else {}))


def follow(conversation, text):
    return conversation.say(text, "follow", "action_follow").text


def test_an_agency_is_followed_under_its_canonical_name_however_it_is_typed(chat, follows):
    for typed in ("theo dõi Sở Y tế", "theo doi so y te", "theodoi SỞ Y TẾ"):
        conversation = chat()
        reply = follow(conversation, typed)
        assert "Đã đăng ký theo dõi Sở Y tế" in reply, typed
        assert follows.topics(conversation.sender) == ["Sở Y tế"]


def test_following_twice_keeps_one_subscription_and_says_so(chat, follows):
    conversation = chat()
    follow(conversation, "theo dõi Sở Xây dựng")
    assert "đã theo dõi Sở Xây dựng từ trước" in follow(conversation, "theo doi so xay dung")
    assert follows.topics(conversation.sender) == ["Sở Xây dựng"]


def test_new_bulletins_are_followed_with_or_without_diacritics(chat, follows):
    for typed in ("theo dõi tin mới", "theo doi tin moi nhe"):
        conversation = chat()
        assert "mỗi khi có bản tin chỉ đạo, điều hành mới" in follow(conversation, typed)
        assert follows.topics(conversation.sender) == [NEWS]


def test_no_agency_named_asks_which_one_and_stores_nothing(chat, follows):
    conversation = chat()
    assert "Bạn muốn theo dõi cơ quan nào?" in follow(conversation, "tôi muốn theo dõi")
    assert follows.topics(conversation.sender) == []


def test_listing_and_unfollowing(chat, follows):
    conversation = chat()
    assert "Bạn chưa theo dõi mục nào" in conversation.say("tôi đang theo dõi gì?", "list_following",
                                                            "action_list_following").text
    follow(conversation, "theo dõi Sở Y tế")
    follow(conversation, "theo dõi tin mới")
    listing = conversation.say("toi dang theo doi gi", "list_following", "action_list_following").text
    assert "- Sở Y tế" in listing and "- tin mới" in listing

    reply = conversation.say("bỏ theo dõi sở y tế", "unfollow", "action_unfollow").text
    assert reply == "Đã bỏ theo dõi: Sở Y tế."
    assert follows.topics(conversation.sender) == [NEWS]
    assert "Bạn chưa theo dõi Sở Y tế" in conversation.say("bo theo doi so y te", "unfollow", "action_unfollow").text
    assert "tin mới" in conversation.say("thôi theo dõi tin mới", "unfollow", "action_unfollow").text
    assert follows.topics(conversation.sender) == []


def test_unfollowing_everything_and_an_unnamed_unfollow(chat, follows):
    conversation = chat()
    for agency in ("Sở Y tế", "Sở Tài chính"):
        follow(conversation, f"theo dõi {agency}")
    reply = conversation.say("bỏ theo dõi", "unfollow", "action_unfollow").text
    assert reply.startswith("Bạn muốn bỏ theo dõi mục nào?") and len(follows.topics(conversation.sender)) == 2
    reply = conversation.say("bo theo doi tat ca", "unfollow", "action_unfollow").text
    assert "Sở Y tế" in reply and "Sở Tài chính" in reply
    assert follows.topics(conversation.sender) == []


def test_users_are_kept_apart(chat, follows):
    alice, bob = chat("tg:1"), chat("zalo:2")
    follow(alice, "theo dõi Sở Y tế")
    follow(bob, "theo dõi tin mới")
    assert follows.topics("tg:1") == ["Sở Y tế"] and follows.topics("zalo:2") == [NEWS]
    assert {(f.sender, f.topic) for f in follows.followers()} == {("tg:1", "Sở Y tế"), ("zalo:2", NEWS)}


def test_without_a_store_the_user_is_told_it_is_unavailable(hashing_retrieval):
    actions = {a.name(): a for a in actions_for(Assistant(lambda: hashing_retrieval))}
    reply = ActionConversation(actions).say("theo dõi Sở Y tế", "follow", "action_follow").text
    assert "tạm gián đoạn" in reply


def test_the_store_file_is_owner_only(tmp_path):
    path = tmp_path / "data" / "follows.sqlite3"
    FollowStore.sqlite(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_privacy_forget_and_export_cover_subscriptions(tmp_path, follows):
    settings = Settings(data=tmp_path)
    store = FollowStore.sqlite(settings.follows_path)
    store.follow("tg:7", "Sở Y tế")
    store.claim("tg:7", "tasks", "Sở Y tế|abc")
    store.follow("tg:8", NEWS)
    stores = privacy_stores(settings)
    assert {"follows": "Sở Y tế"} in stores.export("tg:7")["stores"]["follows"]
    removed = {r.store: r.count for r in stores.forget("tg:7")}
    assert removed["follows"] == 2
    assert store.topics("tg:7") == [] and store.topics("tg:8") == [NEWS]
    assert "tg:8" in [activity.sender for activity, _ in stores.senders()]


def test_the_chats_forget_deletes_the_subscriptions(chat, follows):
    conversation = chat()
    follow(conversation, "theo dõi Sở Y tế")
    conversation.say("xóa dữ liệu của tôi", "forget_me", "action_forget_me")
    reply = conversation.say("Xóa", "forget_me", "action_forget_me",
                             entities=[{"entity": "confirm", "value": "yes"}])
    assert DONE in reply.text
    assert follows.topics(conversation.sender) == []


def test_purge_keeps_subscriptions_and_ages_out_what_was_sent(tmp_path):
    now = [1_000_000.0]
    store = FollowStore.sqlite(tmp_path / "f.sqlite3", clock=lambda: now[0])
    store.follow("tg:1", "Sở Y tế")
    store.claim("tg:1", "tasks", "old")
    now[0] += 100 * 86400
    store.claim("tg:1", "tasks", "new")
    removed = store.purge(dt.datetime.fromtimestamp(now[0] - 90 * 86400, dt.timezone.utc))
    assert removed == 1
    assert store.topics("tg:1") == ["Sở Y tế"]
    assert [r["item"] for r in store.export("tg:1") if "notified" in r] == ["new"]


def exercise(store: FollowStore) -> None:
    """The store's contract, the same on SQLite and PostgreSQL."""
    assert store.follow("tg:1", "Sở Y tế") and not store.follow("tg:1", "Sở Y tế")
    store.follow("tg:1", NEWS)
    assert store.topics("tg:1") == ["Sở Y tế", NEWS]
    assert store.claim("tg:1", "tasks", "k") and not store.claim("tg:1", "tasks", "k")
    assert store.unknown("task", ["a", "b"]) == {"a", "b"} and store.unknown("task", ["b", "c"]) == {"c"}
    store.wrote("zalo:9")
    first = store.last_wrote("zalo:9")
    store.wrote("zalo:9")
    assert store.last_wrote("zalo:9") >= first
    store.queue("web:x", "một")
    store.queue("web:x", "hai")
    assert store.take_pending("web:x") == ["một", "hai"] and store.take_pending("web:x") == []
    assert store.unfollow("tg:1", "Sở Y tế") == ["Sở Y tế"]
    assert store.forget("tg:1") == 2   # the NEWS subscription and the claim


def test_the_store_contract_on_sqlite(follows):
    exercise(follows)


def test_the_store_contract_on_postgresql(scale_out_servers):  # noqa: F811
    url = scale_out_servers.postgres.address.url
    store = FollowStore.postgres(url)
    try:
        exercise(store)
        other = FollowStore.postgres(url)   # another process's connection: one claim between them
        try:
            assert store.claim("tg:5", "bulletin", "x") and not other.claim("tg:5", "bulletin", "x")
        finally:
            other.close()
    finally:
        store.close()


def test_the_telegram_command_reaches_the_dialogue_as_typed_words(tmp_path):
    fake, stub = FakeTelegram(), StubGateway()
    with serve(fake.app) as fake_url:
        fake.url = fake_url
        port = free_port()
        settings = Settings(telegram_bot_token="123:abc", telegram_api_base=fake_url,
                            telegram_webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                            telegram_webhook_secret="s3cret")
        with serve(channel_app(TelegramChannel(settings, stub)), port=port) as url:
            for update_id, text in ((1, "/theodoi Sở Y tế"), (2, "/theodoi")):
                response = httpx.post(f"{url}{WEBHOOK_PATH}", json=message_update(update_id, 42, text),
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
                assert response.status_code == 200
            fake.wait_sent(42, 2)
    assert [c.text for c in stub.calls] == ["theo dõi Sở Y tế", "tôi đang theo dõi gì?"]


@pytest.mark.parametrize("text,intent", [
    ("theo dõi Sở Y tế", "follow"), ("theodoi so y te", "follow"), ("theo doi tin moi", "follow"),
    ("bỏ theo dõi Sở Y tế", "unfollow"), ("huy theo doi so tai chinh", "unfollow"),
    ("tôi đang theo dõi gì?", "list_following"), ("toi dang theo doi nhung gi", "list_following"),
    ("Sở Y tế được giao những việc gì?", "agency_tasks"),   # asking is not following
])
def test_the_trained_dialogue_tells_following_from_asking(dialogue, text, intent):
    assert dialogue.parse(text)["intent"]["name"] == intent


def test_following_through_rasa_and_the_action_server(dialogue):
    conversation = dialogue.conversation()
    assert "Đã đăng ký theo dõi Sở Y tế" in conversation.say("theo doi so y te").text
    assert "- Sở Y tế" in conversation.say("tôi đang theo dõi gì?").text
    assert conversation.say("bỏ theo dõi Sở Y tế").text == "Đã bỏ theo dõi: Sở Y tế."
    assert "Bạn chưa theo dõi mục nào" in conversation.say("toi dang theo doi gi").text
