""""Theo dõi Sở Y tế", "theo dõi tin mới", "bỏ theo dõi …", "tôi đang theo dõi gì?".

The action server writes the subscriptions (it knows the sender); the gateway's notifier reads them
(bot/notifier.py). An agency is stored under its canonical gazetteer name, so "so y te", "Sở Y tế"
and "SYT" are one subscription and match the task registry's names.
"""
from __future__ import annotations

import logging
from functools import cache

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.focus import Turn
from actions.reply_action import AssistantAction
from retrieval.follow.store import NEWS
from retrieval.tasks.agencies import Gazetteer
from retrieval.text import fold

log = logging.getLogger(__name__)

NEWS_WORDS = ("tin moi", "ban tin", "chi dao moi", "van ban moi")
ALL_WORDS = ("tat ca", "het", "moi thu")
UNAVAILABLE = "Xin lỗi, chức năng theo dõi đang tạm gián đoạn. Bạn vui lòng thử lại sau ít phút."
WHICH = ("Bạn muốn theo dõi cơ quan nào? Ví dụ: “theo dõi Sở Y tế”, hoặc “theo dõi tin mới” để nhận "
         "tóm tắt mỗi bản tin chỉ đạo mới.")


@cache
def _gazetteer() -> Gazetteer:
    return Gazetteer.load()


def topic_of(turn: Turn) -> str | None:
    """The agency named (canonical), NEWS for "tin mới", else None."""
    agency = turn.first("agency")
    if agency:
        return _gazetteer().canonical(agency) or " ".join(agency.split())
    folded = fold(turn.text.lower())
    return NEWS if any(words in folded for words in NEWS_WORDS) else None


def label(topic: str) -> str:
    return "tin mới (mọi bản tin chỉ đạo mới)" if topic == NEWS else topic


class FollowAction(AssistantAction):
    """The store is the assistant's; none configured (or down) is said plainly, never guessed."""

    def store(self, dispatcher: CollectingDispatcher):
        if self.assistant.follows is None:
            dispatcher.utter_message(text=UNAVAILABLE)
        return self.assistant.follows

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        store = self.store(dispatcher)
        if store is None:
            return []
        try:
            dispatcher.utter_message(text=self.respond(store, tracker.sender_id, Turn.of(tracker)))
        except Exception:   # noqa: BLE001 - the user is told; the log has the traceback
            log.exception("%s failed", self.action_name)
            dispatcher.utter_message(text=UNAVAILABLE)
        return []


class ActionFollow(FollowAction):
    action_name = "action_follow"

    def respond(self, store, sender: str, turn: Turn) -> str:
        topic = topic_of(turn)
        if topic is None:
            return WHICH
        if not store.follow(sender, topic):
            return f"Bạn đã theo dõi {label(topic)} từ trước rồi."
        if topic == NEWS:
            return ("Đã đăng ký: mỗi khi có bản tin chỉ đạo, điều hành mới, tôi sẽ gửi bạn tóm tắt các nội dung "
                    "kèm số văn bản. Gõ “bỏ theo dõi tin mới” để dừng.")
        return (f"Đã đăng ký theo dõi {topic}: khi có nhiệm vụ mới giao cho {topic} (chủ trì hoặc phối hợp), "
                f"tôi sẽ báo bạn kèm hạn và văn bản nguồn, và nhắc trước hạn các việc {topic} chủ trì. "
                f"Gõ “bỏ theo dõi {topic}” để dừng.")


class ActionUnfollow(FollowAction):
    action_name = "action_unfollow"

    def respond(self, store, sender: str, turn: Turn) -> str:
        topic = topic_of(turn)
        everything = topic is None and any(w in fold(turn.text.lower()) for w in ALL_WORDS)
        if topic is None and not everything:
            followed = store.topics(sender)
            if len(followed) != 1:   # which one? (none: nothing to stop)
                return _listing(followed, "Bạn muốn bỏ theo dõi mục nào? ")
            topic = followed[0]
        gone = store.unfollow(sender, None if everything else topic)
        if not gone:
            return f"Bạn chưa theo dõi {label(topic)}." if topic else "Bạn chưa theo dõi mục nào."
        return "Đã bỏ theo dõi: " + "; ".join(label(t) for t in gone) + "."


class ActionListFollowing(FollowAction):
    action_name = "action_list_following"

    def respond(self, store, sender: str, turn: Turn) -> str:
        return _listing(store.topics(sender), "")


def _listing(topics: list[str], lead: str) -> str:
    if not topics:
        return (lead + "Bạn chưa theo dõi mục nào. Gõ “theo dõi Sở Y tế” (hoặc tên cơ quan khác) để nhận nhiệm vụ "
                "mới của cơ quan đó, hoặc “theo dõi tin mới” để nhận tóm tắt mỗi bản tin.")
    return lead + "Bạn đang theo dõi:\n" + "\n".join(f"- {label(t)}" for t in topics)
