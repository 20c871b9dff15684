"""The focus of a conversation, kept in slots so that follow-ups work:
"Văn bản đó do ai ký?", "Còn phối hợp với ai?", "Hạn chót khi nào?".

Slots (domain.yml, custom mappings, set only here):
  focus_doc      the document number last answered about
  focus_source   the page (input file) last answered from: the focus of pages naming no document
  focus_task     the task last answered about (TaskRef: {doc_number, action, quote})
  focus_agency   the agency last asked about
  focus_question the last question that got an answer (feedback records it)
  pending        a question waiting for the user to pick one option (PendingChoice)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from retrieval.schema import Task
from retrieval.text import fold

FOCUS_SLOTS = ("focus_doc", "focus_source", "focus_task", "focus_agency", "focus_question", "pending")

# "kế hoạch đó", "văn bản này", "công văn nói trên": the document in focus, named by its kind.
_FOCUS_DOC_WORDS = re.compile(
    r"\b(?:van ban|vb|cong van|cv|ke hoach|kh|quyet dinh|qd|chi thi|thong bao|cong dien|nghi quyet) "
    r"(?:do|nay|tren|noi tren|vua roi|vua noi|ay|kia)\b")


def focus_doc_reference(text: str) -> re.Match | None:
    """Where a question names the document in focus by its kind ("Kế hoạch đó do ai chủ trì?"), in
    the folded text (folding keeps one character per character, so spans apply to the original)."""
    return _FOCUS_DOC_WORDS.search(fold(text).lower())


@dataclass(frozen=True)
class TaskRef:
    """How a task is remembered between turns (tasks have no id: document + sentence + action do)."""

    doc_number: str | None
    action: str
    quote: str

    @classmethod
    def of(cls, task: Task) -> TaskRef:
        return cls(task.doc_number, task.action, task.quote)

    def to_slot(self) -> dict[str, Any]:
        return {"doc_number": self.doc_number, "action": self.action, "quote": self.quote}

    @classmethod
    def from_slot(cls, value: Any) -> TaskRef | None:
        if not isinstance(value, dict):
            return None
        return cls(value.get("doc_number"), value.get("action") or "", value.get("quote") or "")

    def find(self, tasks: list[Task]) -> Task | None:
        """The task in the current index (None when a re-ingest changed it)."""
        return next((t for t in tasks if t.doc_number == self.doc_number and t.quote == self.quote
                     and t.action == self.action), None)


@dataclass(frozen=True)
class PendingChoice:
    """A question waiting for the user to pick one of the offered tasks or documents."""

    intent: str
    question: str
    tasks: tuple[TaskRef, ...] = ()
    documents: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.documents) if self.documents else len(self.tasks)

    def to_slot(self) -> dict[str, Any]:
        if self.documents:
            return {"intent": self.intent, "question": self.question, "kind": "document",
                    "options": [{"doc_number": n} for n in self.documents]}
        return {"intent": self.intent, "question": self.question, "kind": "task",
                "options": [t.to_slot() for t in self.tasks]}

    @classmethod
    def from_slot(cls, value: Any) -> PendingChoice | None:
        options = value.get("options") if isinstance(value, dict) else None
        options = [o for o in options if isinstance(o, dict)] if isinstance(options, list) else []
        if not options:
            return None
        common = {"intent": value.get("intent") or "", "question": value.get("question") or ""}
        if value.get("kind") == "document":
            return cls(**common, documents=tuple(o.get("doc_number") or "" for o in options))
        return cls(**common, tasks=tuple(TaskRef.from_slot(o) for o in options))


# What the gateway puts in a message's metadata ("input") when the words come from a voice note.
VOICE_INPUT = "voice"


@dataclass
class Turn:
    """What the actions need from the tracker for the current user message."""

    text: str
    intent: str | None
    entities: dict[str, list[str]] = field(default_factory=dict)
    focus_doc: str | None = None
    focus_source: str | None = None
    focus_task: TaskRef | None = None
    focus_agency: str | None = None
    pending: PendingChoice | None = None
    via_voice: bool = False     # the words were heard in a voice note (the gateway's message metadata)

    @classmethod
    def of(cls, tracker: Tracker) -> "Turn":
        message = tracker.latest_message or {}
        entities: dict[str, list[str]] = {}
        for entity in message.get("entities") or []:
            entities.setdefault(entity["entity"], []).append(str(entity.get("value", "")))
        return cls(text=message.get("text") or "", intent=(message.get("intent") or {}).get("name"),
                   entities=entities, focus_doc=tracker.get_slot("focus_doc"),
                   focus_source=tracker.get_slot("focus_source"),
                   focus_task=TaskRef.from_slot(tracker.get_slot("focus_task")),
                   focus_agency=tracker.get_slot("focus_agency"),
                   pending=PendingChoice.from_slot(tracker.get_slot("pending")),
                   via_voice=(message.get("metadata") or {}).get("input") == VOICE_INPUT)

    def first(self, entity: str) -> str | None:
        values = self.entities.get(entity)
        return values[0] if values else None


def remember(question: str | None = None, doc: str | None = None, task: Task | None = None,
             agency: str | None = None, source: str | None = None) -> list[SlotSet]:
    """Slot events for what an answer was about; the pending choice, if any, is cleared. The page
    (``source``) replaces the previous one whenever an answer names one, so a stale page never lingers."""
    events = [SlotSet("pending", None)]
    if source is not None or doc is not None or task is not None:
        events.append(SlotSet("focus_source", source))
    if source is not None and doc is None and task is None:
        events.append(SlotSet("focus_doc", None))    # a page naming no document: no document in focus
    if question:
        events.append(SlotSet("focus_question", question))
    if task is not None:
        events.append(SlotSet("focus_task", TaskRef.of(task).to_slot()))
        doc = doc or task.doc_number
    if doc:
        events.append(SlotSet("focus_doc", doc))
    if agency:
        events.append(SlotSet("focus_agency", agency))
    return events
