""""Xóa dữ liệu của tôi": the user's right to have their data deleted, asked in the chat.

One action for the whole exchange (intent ``forget_me``): asked in words, it shows the "Xóa" /
"Không" buttons, whose payloads come back to it with ``confirm`` = yes / no. On yes it deletes what
the action server owns (the user's feedback and abstained questions), clears the conversation's
slots, and tells the gateway, through the custom payload ``{"forget": true}``, to delete the rest
once Rasa has saved this turn: Rasa's stored conversation (Rasa holds it during the action and
would write it back) and the gateway's rate-limit hits. See docs/architecture.md, "Privacy".
"""
from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import AllSlotsReset, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.focus import Turn
from actions.reply_action import AssistantAction

log = logging.getLogger(__name__)

ASK = ("Bạn muốn xóa toàn bộ dữ liệu của bạn mà trợ lý đang lưu (cuộc trò chuyện, các câu hỏi "
       "và đánh giá 👍/👎)? Sau khi xóa, tôi sẽ không còn nhớ các câu hỏi trước của bạn, "
       "và không thể khôi phục lại.")
BUTTONS = [{"title": "Xóa", "payload": '/forget_me{"confirm": "yes"}'},
           {"title": "Không", "payload": '/forget_me{"confirm": "no"}'}]
DONE = ("Tôi đã xóa toàn bộ dữ liệu của bạn: cuộc trò chuyện, các câu hỏi và đánh giá đã lưu. "
        "Từ giờ tôi không còn nhớ các câu hỏi trước của bạn.")
KEPT = "Tôi chưa xóa gì, dữ liệu của bạn vẫn được giữ nguyên. Bạn cứ tiếp tục đặt câu hỏi nhé."
FAILED = ("Xin lỗi, tôi chưa xóa được dữ liệu của bạn do hệ thống đang gián đoạn. "
          "Bạn vui lòng thử lại sau ít phút.")
FORGET_SIGNAL = {"forget": True}    # for the gateway: delete this sender's conversation and hits now


class ActionForgetMe(AssistantAction):
    action_name = "action_forget_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        answer = Turn.of(tracker).first("confirm")
        if not tracker.get_slot("forget_asked") or answer not in ("yes", "no"):
            dispatcher.utter_message(text=ASK, buttons=BUTTONS)
            return [SlotSet("forget_asked", True)]
        if answer == "no":
            dispatcher.utter_message(text=KEPT)
            return [SlotSet("forget_asked", None)]
        feedback = self.assistant.feedback
        try:
            removed = feedback.forget(tracker.sender_id) if feedback is not None else 0
            if self.assistant.follows is not None:   # subscriptions, notifications sent and waiting
                removed += self.assistant.follows.forget(tracker.sender_id)
        except Exception:   # noqa: BLE001 - the user is told; the log gets the traceback
            log.exception("forgetting a sender's feedback failed")
            dispatcher.utter_message(text=FAILED)
            return []
        log.info("forgot a sender's feedback: %d records; the gateway deletes the conversation", removed)
        dispatcher.utter_message(text=DONE)
        dispatcher.utter_message(json_message=FORGET_SIGNAL)
        return [AllSlotsReset()]
