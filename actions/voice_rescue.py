"""A question heard in a voice note that the documents cannot answer: offer the documents it is nearest.

Whisper base mishears Vietnamese (bot/voice/bench.py: word error rate ~0.8 on espeak-ng speech), so the
answer step, rightly strict, declines almost every heard question, while the document asked about is
still among search's best three for about 70 % of them. A declined voice question therefore lists
those documents as choices (the pending-choice flow of a document number several documents share)
instead of a bare "cannot answer"; a typed question keeps the strict reply.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk.events import SlotSet

from actions import render
from actions.assistant import Core
from actions.focus import PendingChoice, Turn

OFFERED = 3
SEARCHED = 20     # passages read to find OFFERED distinct documents
NOT_SURE = "Tôi chưa chắc đã nghe đúng câu hỏi của bạn. Có phải bạn hỏi về một trong các văn bản sau?"


def offer_documents(core: Core, turn: Turn) -> tuple[render.Reply, list[Any]] | None:
    """The documents nearest to the heard words, as choices; None when search finds no document."""
    numbers = list(dict.fromkeys(h.passage.doc_number for h in core.retrieval.search(turn.text, k=SEARCHED)
                                 if h.passage.doc_number))[:OFFERED]
    if not numbers:
        return None
    titles = [render.choice_title(core.retrieval.documents, number) for number in numbers]
    pending = PendingChoice("ask_document", turn.text, documents=tuple(numbers))
    text = f"{NOT_SURE}\n{render.numbered(titles)}\nNếu không phải, bạn gõ câu hỏi giúp tôi nhé."
    return render.Reply(text, buttons=render.choice_buttons(titles), abstained=True), \
        [SlotSet("pending", pending.to_slot())]
