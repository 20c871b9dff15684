"""What every channel shows of a reply besides its text: buttons and source citations.

Channels with markup show citations as source cards (`source_cards`) and buttons as their own
keyboards (`button_title`, `button_payload`); channels with plain text only number the buttons in the
text and take a typed number as the choice (`plain_text`, `chosen_payload`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from bot.rasa_client import BotMessage
from retrieval.answer.citations import vn_date

MAX_QUOTE_CHARS = 300             # a card quotes at most this much
CHOICE_HINT = "Trả lời bằng số để chọn."


# --- buttons ------------------------------------------------------------------------------------------

def button_title(button: dict) -> str:
    return str(button.get("title") or button.get("payload") or "")


def button_payload(button: dict) -> str:
    return str(button.get("payload") or button.get("title") or "")


class PlainReply(NamedTuple):
    texts: list[str]            # one message each (before splitting)
    buttons: list[dict]         # the options they list, numbered from 1 across the whole reply


def plain_text(messages: list[BotMessage]) -> PlainReply:
    """Replies as plain texts, buttons as a numbered list (unless the text numbers them already)
    followed by CHOICE_HINT."""
    texts: list[str] = []
    buttons: list[dict] = []
    for message in messages:
        text = message.text.strip()
        lines = [text] if text else []
        first = len(buttons) + 1
        buttons.extend(message.buttons)
        if message.buttons and not _lists_options(text, message.buttons, first):
            lines += [f"{n}. {button_title(b)}" for n, b in enumerate(message.buttons, first)]
        if message.buttons:
            lines.append(CHOICE_HINT)
        if lines:
            texts.append("\n".join(lines))
    return PlainReply(texts, buttons)


def chosen_payload(text: str, buttons: list[dict]) -> str:
    """What a typed answer to a numbered list means: the payload of the button with that number, or
    the text itself."""
    choice = text.strip()
    if choice.isdigit() and 1 <= int(choice) <= len(buttons):
        return buttons[int(choice) - 1].get("payload") or text
    return text


def _lists_options(text: str, buttons: list[dict], first: int) -> bool:
    """The text already numbers the options as the buttons do ("Bạn muốn hỏi việc nào?\n1. …"):
    line `first + i` starts with button i's title (titles may be shortened with "…")."""
    lines = [line.strip() for line in text.splitlines()]
    for n, button in enumerate(buttons, first):
        title = button_title(button).rstrip("…").strip()
        if not any(line.startswith(f"{n}. ") and line[len(f"{n}. "):].startswith(title) for line in lines):
            return False
    return True


# --- citations ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceCard:
    """One cited document as a card: "Công văn 704/UBND-KGVX" (23/6/2022, UBND tỉnh) “quote”."""
    name: str
    details: str | None = None       # date and issuer, when known
    quote: str | None = None         # None when the reply's text already shows it


def source_cards(message: BotMessage) -> tuple[str, list[SourceCard]]:
    """The reply's text without its readable "Nguồn: …" lines at the end, and the cards that replace
    them (the text unchanged and no cards when the reply cites nothing)."""
    if not message.citations:
        return message.text or "", []
    body = _body_without_sources(message.text or "")
    return body, [source_card(citation, body) for citation in message.citations]


def source_card(citation: dict, body: str = "") -> SourceCard:
    number = citation.get("doc_number")
    name = f"{citation.get('doc_type') or 'Văn bản'} {number}" if number else \
        (citation.get("title") or citation.get("bulletin") or citation.get("source") or "Văn bản")
    details = ", ".join(d for d in (vn_date(citation.get("issued_date")), citation.get("issuer")) if d)
    quote = re.sub(r"\s+", " ", citation.get("quote") or "").strip()
    if not quote or _squash(quote) in _squash(body):
        return SourceCard(name, details or None)
    if len(quote) > MAX_QUOTE_CHARS:
        quote = quote[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    return SourceCard(name, details or None, quote)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".").casefold()


def _body_without_sources(text: str) -> str:
    lines = text.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Nguồn:"):
            return "\n".join(lines[:i]).rstrip()
    return text
