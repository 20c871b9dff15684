"""A client for the real dialogue stack (Rasa + action server) started by the `dialogue` fixture."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class BotReply:
    """One turn's answer: texts, buttons and citations gathered from Rasa's REST messages."""

    texts: list[str] = field(default_factory=list)
    buttons: list[dict] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)
    abstained: bool | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def cited(self) -> list[str | None]:
        """The document numbers of the citation payload, in order."""
        return [c["doc_number"] for c in self.citations]

    @classmethod
    def of(cls, messages: list[dict]) -> "BotReply":
        """One turn's bot messages (Rasa's REST shape: text, buttons, custom payload) as one reply."""
        reply = cls()
        for part in messages:
            if part.get("text"):
                reply.texts.append(part["text"])
            reply.buttons.extend(part.get("buttons") or [])
            custom = part.get("custom") or {}
            reply.citations.extend(custom.get("citations") or [])
            if "abstained" in custom:
                reply.abstained = custom["abstained"]
        return reply


@dataclass
class Dialogue:
    rasa_url: str
    feedback_path: Path
    actions_url: str = ""

    def say(self, sender: str, message: str) -> BotReply:
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": message}, timeout=60)
        response.raise_for_status()
        return BotReply.of(response.json())

    def conversation(self) -> "Conversation":
        return Conversation(self, f"test-{uuid.uuid4().hex[:10]}")

    def parse(self, text: str) -> dict:
        response = httpx.post(f"{self.rasa_url}/model/parse", json={"text": text}, timeout=30)
        response.raise_for_status()
        return response.json()


@dataclass
class Conversation:
    dialogue: Dialogue
    sender: str

    def say(self, message: str) -> BotReply:
        return self.dialogue.say(self.sender, message)
