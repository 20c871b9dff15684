"""The shape of most actions: read the turn, compute one Reply and the slot events, send it."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.assistant import Assistant, Core
from actions.focus import Turn
from actions.render import Reply
from actions.voice_rescue import offer_documents


class AssistantAction(Action, metaclass=ABCMeta):
    """An action given the assistant's core at construction (the server registers instances)."""

    action_name: str

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def name(self) -> str:
        return self.action_name


class ReplyAction(AssistantAction):
    """Subclasses set ``action_name`` and implement ``respond``; abstract, so rasa_sdk skips it."""

    @abstractmethod
    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[Reply, list[Any]]:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        core, turn = self.assistant.core(tracker.sender_id), Turn.of(tracker)
        reply, events = self.respond(core, turn, tracker)
        if reply.abstained and turn.via_voice:    # misheard words, not an unanswerable question: offer choices
            reply, events = offer_documents(core, turn) or (reply, events)
        reply.send(dispatcher)
        return events
