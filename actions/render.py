"""Vietnamese replies and their machine-readable citations.

Every answer carries its sources twice: readable lines under the text ("Nguồn: Công văn số
704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh") and ``{"citations": [...], "abstained": …}`` as the
message's custom payload, each citation in the schema of ``trolyao ask --json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from retrieval.answer.citations import citation_line, vn_date
from retrieval.schema import Citation, DocumentInfo, Task

MAX_SOURCES = 3
MAX_LISTED_TASKS = 5
BUTTON_TITLE_CHARS = 60

CANNOT_ANSWER = ("Tôi chưa tìm thấy thông tin này trong các văn bản chỉ đạo, điều hành đã có, nên không "
                 "trả lời để tránh sai lệch. Bạn thử hỏi cụ thể hơn: nêu số văn bản (ví dụ “Công văn "
                 "704/UBND-KGVX”), tên cơ quan (ví dụ “Sở Y tế”) hoặc việc cần làm.")

ROLE_NAMES = {"lead": "chủ trì", "partner": "phối hợp", "assignee": "thực hiện"}


@dataclass
class Reply:
    text: str
    citations: list[Citation] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    abstained: bool = False

    def send(self, dispatcher: CollectingDispatcher) -> None:
        text = self.text
        lines = sources_text(self.citations)
        if lines:   # one line break: Rasa's REST channel splits a text into messages at blank lines
            text = f"{text}\n{lines}"
        payload: dict[str, Any] = {"citations": [c.to_dict() for c in unique_sources(self.citations)],
                                   "abstained": self.abstained}
        dispatcher.utter_message(text=text, buttons=self.buttons or None, json_message=payload)


def unique_sources(citations: list[Citation]) -> list[Citation]:
    """One citation per document (the first, best one), at most MAX_SOURCES. Passages of no
    document (a bulletin's summary) are cited only when nothing better supports the answer."""
    numbered = [c for c in citations if c.doc_number]
    seen: set[str] = set()
    kept = []
    for citation in numbered or citations:
        key = citation.doc_number or citation.passage_id or citation.source
        if key in seen:
            continue
        seen.add(key)
        kept.append(citation)
    return kept[:MAX_SOURCES]


def sources_text(citations: list[Citation]) -> str:
    lines = [citation_line(c) for c in unique_sources(citations)]
    if not lines:
        return ""
    if len(lines) == 1:
        return f"Nguồn: {lines[0]}"
    return "Nguồn:\n" + "\n".join(f"- {line}" for line in lines)


def agency_name(name: str, task: Task) -> str:
    """The agency as the document names it, with today's successor when it was reorganised."""
    successor = task.successors.get(name)
    return f"{name} (nay là {successor})" if successor else name


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " và " + names[-1]


def deadline_text(task: Task) -> str | None:
    if not task.deadline:
        return None
    if task.deadline_date and vn_date(task.deadline_date) not in task.deadline:
        return f"{task.deadline} (tức {vn_date(task.deadline_date)})"
    return task.deadline


def responsible_text(task: Task, partners_first: bool = False) -> str:
    lead = agency_name(task.lead, task) if task.lead else None
    partners = [agency_name(p, task) for p in task.partners]
    parts = []
    if partners_first:
        parts.append(f"Phối hợp: {join_names(partners)}." if partners else
                     "Văn bản không nêu cơ quan phối hợp cho việc này.")
        if lead:
            parts.append(f"Chủ trì: {lead}.")
    else:
        parts.append(f"{lead} chủ trì." if lead else "Văn bản không nêu rõ cơ quan chủ trì.")
        if partners:
            parts.append(f"Phối hợp: {join_names(partners)}.")
    if task.assignees:
        parts.append(f"Cùng thực hiện: {join_names([agency_name(a, task) for a in task.assignees])}.")
    parts.append(f"Việc: {task.action}.")
    deadline = deadline_text(task)
    if deadline:
        parts.append(f"Thời hạn: {deadline}.")
    return "\n".join(parts)


def deadline_answer(task: Task) -> str:
    deadline = deadline_text(task)
    head = f"Thời hạn: {deadline}." if deadline else "Văn bản không nêu thời hạn cụ thể cho việc này."
    who = f" ({agency_name(task.lead, task)} chủ trì)" if task.lead else ""
    return f"{head}\nViệc: {task.action}{who}."


def task_line(task: Task, role: str | None = None) -> str:
    line = task.action
    if role and role != "lead":
        line += f" ({ROLE_NAMES.get(role, role)}"
        line += f", {task.lead} chủ trì)" if task.lead else ")"
    deadline = deadline_text(task)
    if deadline:
        line += f" — thời hạn: {deadline}"
    if task.doc_number:
        line += f" [{task.doc_type or 'Văn bản'} {task.doc_number}]"
    return line


def document_title(info: DocumentInfo) -> str:
    return f"{info.doc_type or 'Văn bản'} số {info.number}"


def choice_title(catalog, number: str) -> str:
    """A document as one of several offered: "Kế hoạch số 146/KH-UBND: <subject>" (its number when the
    catalog does not know it)."""
    info = catalog.get(number)
    if info is None:
        return number
    return f"{document_title(info)}: {info.subject}" if info.subject else document_title(info)


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


def choice_buttons(titles: list[str]) -> list[dict[str, str]]:
    """Quick replies that come back as the ``choose_option`` intent with the option's number."""
    return [{"title": shorten(title, BUTTON_TITLE_CHARS), "payload": f'/choose_option{{"option": "{i}"}}'}
            for i, title in enumerate(titles, 1)]


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"
