"""The shape of most actions: read the turn, compute one Reply and the slot events, send it."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.assistant import Assistant, Core
from actions.focus import Turn
from actions.render import Reply


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
        reply, events = self.respond(self.assistant.core(tracker.sender_id), Turn.of(tracker), tracker)
        reply.send(dispatcher)
        return events
