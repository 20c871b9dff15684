"""Turns about the conversation, run by the actions themselves (no Rasa, no model): picking an
option, the fallback's best guess, and 👍/👎 kept with the answer they rate."""
from __future__ import annotations

import shutil

CHOOSE = ("choose_option", "action_resolve_choice")
FALLBACK = ("nlu_fallback", "action_fallback_retrieval")


def guessed(intent: str) -> dict:
    return {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.4}, {"name": intent, "confidence": 0.3}]}


def test_a_choice_with_nothing_pending_is_answered_politely(talk):
    assert talk().say("số 2", *CHOOSE).text == "Hiện không có lựa chọn nào đang chờ. Bạn cứ đặt câu hỏi nhé."


def test_a_question_taken_for_a_choice_with_nothing_pending_is_answered_as_a_question(talk):
    """NLU may read a (misheard) question as a choice; with nothing to choose and no number in it, it
    is answered as the fallback answers, not turned away."""
    question = "Ai chủ trì phòng chống sốt xuất huyết?"
    taken = talk().say(question, *CHOOSE).text
    assert "không có lựa chọn" not in taken
    assert taken == talk().say(question, *FALLBACK).text


def test_a_choice_out_of_range_asks_again_and_keeps_the_question(talk):
    conversation = talk()
    conversation.say("Kế hoạch 146/KH-UBND về việc gì?", "ask_document", "action_describe_document")
    conversation.say("Hạn chót khi nào?", "ask_deadline", "action_answer_deadline")
    reply = conversation.say("số 9", *CHOOSE)
    assert reply.text == f"Bạn chọn giúp tôi một số từ 1 đến {len(conversation.slots['pending']['options'])} nhé."
    assert conversation.last_events == []


def test_a_choice_the_index_no_longer_has_asks_to_ask_again(talk):
    conversation = talk()
    conversation.slots["pending"] = {"intent": "ask_deadline", "question": "Hạn chót khi nào?", "kind": "task",
                                     "options": [{"doc_number": "146/KH-UBND", "action": "gone", "quote": "gone"}]}
    reply = conversation.say("số 1", *CHOOSE)
    assert reply.text.startswith("Dữ liệu vừa được cập nhật")
    assert conversation.slots["pending"] is None


def test_the_fallback_follows_its_guess_when_the_focus_makes_sense_of_it(talk):
    conversation = talk()
    conversation.say("Công văn 704/UBND-KGVX nói gì?", "ask_document", "action_describe_document")
    signer = conversation.say("ai ký vậy", *FALLBACK, **guessed("ask_document"))
    assert signer.text.startswith("Bản tin không ghi người ký Công văn số 704/UBND-KGVX.")
    lead = talk().say("ai chu tri danh gia tinh hinh dich sot xuat huyet", *FALLBACK, **guessed("ask_responsible"))
    assert lead.text.startswith("Sở Y tế chủ trì.")
    tasks = talk().say("so y te dc giao nhung viec gi", *FALLBACK, **guessed("agency_tasks"))
    assert tasks.text.startswith("Sở Y tế có ")


def test_the_fallback_otherwise_asks_the_documents(talk):
    reply = talk().say("tình hình sốt xuất huyết thế nào", *FALLBACK, **guessed("greet"))
    assert [c["doc_number"] for c in reply.citations] == ["704/UBND-KGVX"]


def test_ratings_are_kept_with_the_answer_they_rate(talk, assistant):
    conversation = talk()
    conversation.say("Công văn 704/UBND-KGVX nói gì?", "ask_document", "action_describe_document")
    assert conversation.say("👍", "feedback_positive", "action_record_feedback").text.startswith("Cảm ơn")
    assert conversation.say("sai rồi", "feedback_negative", "action_record_feedback").text.startswith("Xin lỗi")
    records = assistant.feedback.records()
    assert [r.rating for r in records] == ["up", "down"]
    assert all(r.conversation_id == conversation.sender and r.question == "Công văn 704/UBND-KGVX nói gì?"
               and "704/UBND-KGVX" in r.answer for r in records)
    assert records[0].citations[0]["doc_number"] == "704/UBND-KGVX"


def test_a_broken_feedback_store_never_breaks_an_answer(talk, assistant, caplog):
    shutil.rmtree(assistant.feedback.path.parent)      # the store's folder is gone: every write fails
    reply = talk().say("UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?", "ask_directive",
                       "action_answer_directive")
    assert reply.abstained is True and "chưa tìm thấy" in reply.text
    assert "could not record abstained feedback" in caplog.text


def test_a_choice_between_documents_describes_the_chosen_one(talk):
    from actions.focus import PendingChoice

    conversation = talk()
    pending = PendingChoice("ask_document", "văn bản 14 nói gì", documents=("704/UBND-KGVX", "146/KH-UBND"))
    conversation.slots["pending"] = pending.to_slot()
    reply = conversation.say("cái thứ hai", *CHOOSE)
    assert reply.text.startswith("Kế hoạch số 146/KH-UBND") and conversation.slots["focus_doc"] == "146/KH-UBND"


def test_pending_choices_and_task_references_survive_the_slot_round_trip():
    from actions.focus import PendingChoice, TaskRef

    tasks = PendingChoice("ask_deadline", "Hạn chót?", tasks=(TaskRef("146/KH-UBND", "tổng kết", "… tổng kết …"),))
    documents = PendingChoice("ask_document", "văn bản 14", documents=("14/KH-UBND", "14/QĐ-UBND"))
    assert [PendingChoice.from_slot(p.to_slot()) for p in (tasks, documents)] == [tasks, documents]
    assert tasks.to_slot()["options"] == [{"doc_number": "146/KH-UBND", "action": "tổng kết", "quote": "… tổng kết …"}]
    for malformed in (None, "x", {}, {"options": []}, {"options": "x"}):   # a slot edited by hand, an old format
        assert PendingChoice.from_slot(malformed) is None
