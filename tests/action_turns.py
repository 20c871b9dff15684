"""Conversations with the custom actions in-process: no Rasa, no model.

The test names the intent (Rasa's job); entities come from the NLU's own entity finder; the actions
run for real through rasa-sdk's ``Tracker`` and ``CollectingDispatcher``, and their slot events are
applied between turns as Rasa would.
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from nlu.vocabulary import TopicLexicon, find_entities
from retrieval.tasks.agencies import Gazetteer
from dialogue import BotReply


@cache
def _vocabulary() -> tuple[Gazetteer, TopicLexicon]:
    return Gazetteer.load(), TopicLexicon.load()


def entities_of(text: str) -> list[dict[str, Any]]:
    gazetteer, topics = _vocabulary()
    return [{"entity": s.entity, "value": text[s.start:s.end], "start": s.start, "end": s.end}
            for s in find_entities(text, gazetteer, topics)]


@dataclass
class ActionConversation:
    """One user's conversation: slots and events carried from turn to turn."""

    actions: dict[str, Action]
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:10]}")
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_events: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: str, intent: str, action: str, intent_ranking: list[dict] | None = None,
            entities: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None) -> BotReply:
        message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
                   "entities": entities_of(text) if entities is None else entities,
                   "intent_ranking": intent_ranking or [{"name": intent, "confidence": 1.0}],
                   "metadata": metadata or {}}
        self.events.append({"event": "user", "text": text, "parse_data": message})
        tracker = Tracker(self.sender, dict(self.slots), message, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        self.last_events = asyncio.run(self.actions[action].run(dispatcher, tracker, {}))
        for event in self.last_events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message_out in dispatcher.messages:
            self.events.append({"event": "bot", "text": message_out.get("text"),
                                "data": {"buttons": message_out.get("buttons"),
                                         "custom": message_out.get("custom")}})
        return BotReply.of(dispatcher.messages)
