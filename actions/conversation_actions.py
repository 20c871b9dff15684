"""Turns about the conversation itself: picking one of the offered options, and 👍 / 👎 feedback."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.assistant import Core
from actions.directive_actions import answer_from_documents
from actions.document_actions import asks_about_issuance, respond_document
from actions.focus import Turn
from actions.reply_action import AssistantAction, ReplyAction
from actions.task_actions import candidate_tasks, respond_about_task, respond_agency_tasks
from retrieval.feedback import FeedbackRecord
from retrieval.text import fold
from retrieval.vocabulary import vocabulary

_ORDINALS = vocabulary().option_ordinals   # "cái thứ hai", "cái đầu tiên"


def option_number(turn: Turn, count: int) -> int | None:
    """1-based option the user picked: from the button payload, "số 2", "cái thứ hai", "cái cuối"."""
    value = turn.first("option")
    if value and value.isdigit():
        return int(value)
    folded = fold(turn.text)
    digits = re.search(r"\d+", folded)
    if digits:
        return int(digits.group())
    if re.search(r"\bcuoi\b", folded):
        return count
    for word, number in sorted(_ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", folded):
            return number
    return None


class ActionResolveChoice(AssistantAction):
    action_name = "action_resolve_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        core = self.assistant.core(tracker.sender_id)
        turn = Turn.of(tracker)
        pending = turn.pending
        if pending is None:
            if option_number(turn, 0) is None:
                # Nothing to choose and no number in it: NLU took a question for a choice (a misheard
                # voice note often reads like one): answer it as the fallback answers unsure messages.
                return await ActionFallbackRetrieval(self.assistant).run(dispatcher, tracker, domain)
            dispatcher.utter_message(text="Hiện không có lựa chọn nào đang chờ. Bạn cứ đặt câu hỏi nhé.")
            return []
        number = option_number(turn, pending.count)
        if number is None or not 1 <= number <= pending.count:
            dispatcher.utter_message(text=f"Bạn chọn giúp tôi một số từ 1 đến {pending.count} nhé.")
            return []
        asked = Turn(text=pending.question, intent=pending.intent)
        if pending.documents:
            reply, events = respond_document(core, asked, tracker.sender_id, chosen=pending.documents[number - 1])
        else:
            task = pending.tasks[number - 1].find(core.retrieval.tasks.tasks)
            if task is None:   # the index changed between the question and the choice
                dispatcher.utter_message(text="Dữ liệu vừa được cập nhật, bạn hỏi lại câu hỏi giúp tôi nhé.")
                return [SlotSet("pending", None)]
            reply, events = respond_about_task(core, asked, pending.intent or "ask_responsible", chosen=task)
        reply.send(dispatcher)
        return [SlotSet("pending", None), *events]


class ActionFallbackRetrieval(ReplyAction):
    """NLU was unsure what the user wants: its best guess if the conversation's focus makes sense of
    it ("Sở nào phải xử lý?" after a document), else the documents, before giving up."""

    action_name = "action_fallback_retrieval"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        guess = next((r["name"] for r in ranking if r["name"] != "nlu_fallback"), None)
        if (guess == "ask_document" or asks_about_issuance(turn.text)) and \
                (turn.first("doc_number") or turn.focus_doc):
            return respond_document(core, turn, tracker.sender_id)
        if guess in ("ask_responsible", "ask_deadline") and candidate_tasks(core.retrieval, turn):
            return respond_about_task(core, turn, guess)
        if guess == "agency_tasks" and turn.first("agency"):
            return respond_agency_tasks(core, turn)
        return answer_from_documents(core, turn.text, conversation_id=tracker.sender_id, focus=turn.focus_doc,
                                     page=turn.focus_source)


def last_answer(tracker: Tracker) -> tuple[str, str, list[dict]]:
    """(question, answer text, citations) of the assistant's last answer in this conversation.

    Answers are the bot messages that carry the citations payload (acknowledgements do not)."""
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        custom = (event.get("data") or {}).get("custom") if event.get("event") == "bot" else None
        if not isinstance(custom, dict) or "citations" not in custom:
            continue
        question = next((e.get("text") or "" for e in reversed(events[:i]) if e.get("event") == "user"), "")
        return question, event.get("text") or "", custom.get("citations") or []
    return tracker.get_slot("focus_question") or "", "", []


class ActionRecordFeedback(AssistantAction):
    action_name = "action_record_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        rating = "up" if intent == "feedback_positive" else "down"
        question, answer, citations = last_answer(tracker)
        self.assistant.core(tracker.sender_id).record(FeedbackRecord(tracker.sender_id, rating, question, answer, citations))
        if rating == "up":
            dispatcher.utter_message(text="Cảm ơn bạn đã đánh giá! Rất vui vì câu trả lời có ích.")
        else:
            dispatcher.utter_message(text="Xin lỗi vì câu trả lời chưa đúng ý bạn. Tôi đã ghi nhận để cán bộ "
                                          "kiểm tra lại. Bạn có thể hỏi lại cụ thể hơn (nêu số văn bản, tên "
                                          "cơ quan hoặc việc cần làm).")
        return []
