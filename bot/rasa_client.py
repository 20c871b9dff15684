"""One call to Rasa's REST webhook, and its messages folded into what a channel shows.

Rasa's REST channel returns a list of messages: texts (with buttons) and, for answers, a separate
``custom`` message with ``{"citations": [...], "abstained": …}`` (or, for a report, ``{"document":
{"file", "title"}}``). Channels want one reply per bubble with its buttons, sources and file, so the
custom payload is attached to the text before it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx



@dataclass
class BotMessage:
    text: str = ""
    buttons: list[dict] = field(default_factory=list)   # {"title", "payload"}
    citations: list[dict] = field(default_factory=list)  # schema of `trolyao ask --json`
    abstained: bool | None = None
    document: dict | None = None    # a report to deliver: {"file", "title"} (bot/downloads.py)


def fold_messages(raw: object) -> list[BotMessage]:
    """Rasa's reply as bubbles; ValueError when it is not Rasa's list of messages (a proxy's error
    page, a truncated or changed reply): the gateway then apologises instead of failing."""
    if not isinstance(raw, list) or not all(isinstance(part, dict) for part in raw):
        raise ValueError(f"Rasa answered {type(raw).__name__}, not a list of messages")
    messages: list[BotMessage] = []
    for part in raw:
        custom = part.get("custom")
        if isinstance(custom, dict) and ("citations" in custom or "abstained" in custom):
            if not messages:
                messages.append(BotMessage())
            messages[-1].citations.extend(_dicts(custom.get("citations"), "citations"))
            messages[-1].abstained = custom.get("abstained")
            continue
        if isinstance(custom, dict) and "document" in custom:   # a report the action server wrote
            if not isinstance(custom["document"], dict):
                raise ValueError("Rasa sent a document that is not an object")
            if not messages:
                messages.append(BotMessage())
            messages[-1].document = dict(custom["document"])
            continue
        text, buttons = part.get("text") or "", _dicts(part.get("buttons"), "buttons")
        if not isinstance(text, str):
            raise ValueError(f"Rasa sent a text that is {type(text).__name__}")
        if text or buttons:
            messages.append(BotMessage(text, buttons))
    return messages


def forget_requested(raw: list[dict]) -> bool:
    """The dialogue confirmed the user's request to delete their data (actions/privacy_actions.py):
    whoever sits in front of Rasa deletes the stored conversation once this turn is saved."""
    return any(isinstance(part.get("custom"), dict) and part["custom"].get("forget") is True for part in raw)


def _dicts(value: object, what: str) -> list[dict]:
    if not value:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"Rasa sent {what} that are not a list of objects")
    return list(value)


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)

    def send(self, sender: str, text: str) -> list[BotMessage]:
        response = self.http.post(f"{self.base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
        response.raise_for_status()
        return fold_messages(response.json())

    def ready(self) -> bool:
        try:
            return self.http.get(f"{self.base_url}/status", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self.http.close()
