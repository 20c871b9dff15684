"""A question heard in a voice note that the documents cannot answer gets the documents nearest to it
as choices (Whisper mishears; the right document is usually still near the top); typed, the same
words get the strict "cannot answer". Actions in-process (see action_turns.py)."""
from __future__ import annotations

from actions.focus import VOICE_INPUT
from actions.render import CANNOT_ANSWER
from actions.voice_rescue import NOT_SURE, OFFERED

ASK = ("ask_directive", "action_answer_directive")
HEARD = {"input": VOICE_INPUT}
# Words no document answers (as a badly misheard question reads).
MISHEARD = "UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?"


def nearest_documents(retrieval, text: str) -> list[str]:
    numbers = [h.passage.doc_number for h in retrieval.search(text, k=20) if h.passage.doc_number]
    return list(dict.fromkeys(numbers))[:OFFERED]


def test_typed_the_words_are_declined(talk):
    reply = talk().say(MISHEARD, *ASK)
    assert reply.abstained is True and reply.text == CANNOT_ANSWER and not reply.buttons


def test_heard_the_nearest_documents_are_offered_and_one_is_chosen(talk, hashing_retrieval):
    expected = nearest_documents(hashing_retrieval, MISHEARD)
    assert len(expected) == OFFERED
    conversation = talk()
    reply = conversation.say(MISHEARD, *ASK, metadata=HEARD)
    assert reply.text.startswith(NOT_SURE) and reply.abstained is True
    assert [line.split(" số ", 1)[1].split(":")[0] for line in reply.text.splitlines()[1:1 + OFFERED]] == expected
    assert len(reply.buttons) == OFFERED and reply.buttons[0]["payload"].startswith("/choose_option")
    assert conversation.slots["pending"]["options"] == [{"doc_number": n} for n in expected]
    chosen = conversation.say("2", "choose_option", "action_resolve_choice")
    assert chosen.cited and chosen.cited[0] == expected[1] and conversation.slots["pending"] is None


def test_a_heard_question_the_documents_answer_is_answered_as_typed(talk):
    question = "UBND tỉnh chỉ đạo gì về phòng, chống sốt xuất huyết?"
    typed, heard = talk().say(question, *ASK), talk().say(question, *ASK, metadata=HEARD)
    assert heard.abstained is False and (heard.text, heard.cited) == (typed.text, typed.cited)
