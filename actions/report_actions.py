""""Lập báo cáo nhiệm vụ của Sở Y tế (tháng này)": a Word report of an agency's tasks, officials only.

The action builds the report with retrieval.report (the official's own view of the task registry),
writes it under a random name into the reports folder of the data directory, and says so twice: a
Vietnamese text, and the custom payload ``{"document": {"file": NAME, "title": TITLE}}`` that the
gateway turns into the channel's delivery (Telegram uploads the file, the web chat and Zalo get an
expiring download link). A citizen is declined without a word about what an official could see.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dates import date_range
from actions.focus import Turn
from actions.reply_action import AssistantAction
from retrieval.answer.citations import vn_date
from retrieval.errors import InputError
from retrieval.report.content import build_report, close_agencies
from retrieval.report.default_template import build_default_template
from retrieval.report.rendering import render_report
from retrieval.schema import INTERNAL

log = logging.getLogger(__name__)

OFFICIALS_ONLY = ("Xin lỗi, chức năng lập báo cáo nhiệm vụ chỉ dành cho cán bộ, công chức của tỉnh. "
                  "Bạn vẫn có thể hỏi tôi về các chỉ đạo và nhiệm vụ đã công bố, ví dụ “Sở Y tế được giao "
                  "những việc gì?”.")
WHICH_AGENCY = ("Bạn muốn lập báo cáo nhiệm vụ của cơ quan nào? Ví dụ: “lập báo cáo nhiệm vụ của Sở Y tế "
                "tháng này”.")
UNKNOWN_PERIOD = ("Tôi chưa hiểu khoảng thời gian “{period}”. Bạn có thể nói “tuần này”, “tháng này”, "
                  "“tháng 6/2024”, “quý này” hoặc “năm 2024”.")
FAILED = "Xin lỗi, tôi chưa lập được báo cáo do hệ thống đang gián đoạn. Bạn vui lòng thử lại sau ít phút."
NO_REPORTS = "Xin lỗi, máy chủ này chưa được cấu hình để gửi tệp báo cáo."


def report_title(agency: str) -> str:
    return f"Báo cáo nhiệm vụ của {agency}.docx"


def unknown_agency(typed: str, close: list[str]) -> str:
    hint = f" Có phải bạn muốn nói: {', '.join(close)}?" if close else ""
    return f"Tôi chưa biết cơ quan “{typed}” trong sổ theo dõi nhiệm vụ.{hint}"


def summary(agency: str, period: str, total: int, overdue: int, due_soon: int, documents: int,
            internal: int = 0) -> str:
    when = f" {period}" if period else ""
    if not total:
        return (f"Tôi đã lập báo cáo nhiệm vụ của {agency}{when}: chưa có nhiệm vụ nào được giao trong các "
                f"văn bản đã có. Tệp báo cáo gửi kèm dưới đây.")
    marked = (f" [Nội bộ] Báo cáo có {internal} nhiệm vụ từ văn bản nội bộ, chỉ sử dụng trong cơ quan nhà nước."
              if internal else "")
    return (f"Tôi đã lập báo cáo nhiệm vụ của {agency}{when}: {total} nhiệm vụ trong {documents} văn bản "
            f"({overdue} quá hạn, {due_soon} sắp đến hạn).{marked} Tệp báo cáo gửi kèm dưới đây.")


class ActionTaskReport(AssistantAction):
    action_name = "action_task_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        sender = tracker.sender_id
        if self.assistant.officials.audience(sender) != "official":
            dispatcher.utter_message(text=OFFICIALS_ONLY)
            return []
        folder = self.assistant.reports
        if folder is None:
            dispatcher.utter_message(text=NO_REPORTS)
            return []
        turn = Turn.of(tracker)
        typed = turn.first("agency") or turn.focus_agency
        if not typed:
            dispatcher.utter_message(text=WHICH_AGENCY)
            return []
        core = self.assistant.core(sender)
        period = turn.first("date")
        span = date_range(period, core.today) if period else None
        if period and span is None:
            dispatcher.utter_message(text=UNKNOWN_PERIOD.format(period=period))
            return []
        registry = core.retrieval.tasks           # the official's view: internal documents' tasks too
        try:
            report = build_report(registry, typed, today=core.today, date_from=span[0] if span else None,
                                  date_to=span[1] if span else None, audience="official")
        except InputError:
            dispatcher.utter_message(text=unknown_agency(typed, close_agencies(registry, typed)))
            return []
        try:
            name = save_report(folder, render_report(report, build_default_template()))
        except OSError:
            log.exception("could not write a report into %s", folder)
            dispatcher.utter_message(text=FAILED)
            return []
        period_text = (f"từ ngày {vn_date(span[0])} đến ngày {vn_date(span[1])}" if span else "")
        internal_docs = {t.doc_number or t.source for t in registry.tasks if t.access == INTERNAL}
        internal = sum(len(g.tasks) for g in report.groups if (g.doc_number or g.source) in internal_docs)
        dispatcher.utter_message(text=summary(report.agency, period_text, report.total, report.overdue,
                                              report.due_soon, len(report.groups), internal))
        dispatcher.utter_message(json_message={"document": {"file": name, "title": report_title(report.agency)}})
        return [SlotSet("focus_agency", report.agency)]


def save_report(folder: Path, data: bytes) -> str:
    """``data`` under a new random name in ``folder`` (owner-only: reports may quote internal
    documents); the name is all the gateway is told."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    name = f"{secrets.token_hex(16)}.docx"
    draft = folder / f".{name}.part"
    fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(draft, folder / name)     # whole or absent: the gateway never sends half a file
    return name
