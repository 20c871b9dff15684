"""The shape of most actions: read the turn, compute one Reply and the slot events, send it."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.focus import Turn
from actions.render import Reply


class ReplyAction(Action, metaclass=ABCMeta):
    """Subclasses set ``action_name`` and implement ``respond``; abstract, so rasa_sdk skips it."""

    action_name: str

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def respond(self, turn: Turn, tracker: Tracker) -> tuple[Reply, list[Any]]:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        reply, events = self.respond(Turn.of(tracker), tracker)
        reply.send(dispatcher)
        return events
