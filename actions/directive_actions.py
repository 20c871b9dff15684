"""What was directed: answers from the documents (with citations), and the week's bulletin."""
from __future__ import annotations

from functools import cached_property
from typing import Any

from rasa_sdk import Tracker

from actions import render
from actions.assistant import Core
from actions.dates import date_range
from actions.focus import Turn, focus_doc_reference, remember
from actions.reply_action import ReplyAction
from retrieval.feedback import FeedbackRecord
from retrieval.schema import Digest, Passage
from retrieval.service import Retrieval
from retrieval.vocabulary import vocabulary

MAX_DIGEST_ITEMS = 8


FOCUS_WINDOW = 3    # the document in focus answers a follow-up when it is among this many best passages
RESCUE_WINDOW = 10  # … or, when nothing else would answer, among this many


class Ranking:
    """The best passages for one question, searched at most once however many checks consult them
    (document in focus, page in focus, the rescue window, the tasks' agreement with search)."""

    def __init__(self, retrieval: Retrieval, question: str):
        self.retrieval = retrieval
        self.question = question

    @cached_property
    def passages(self) -> list[Passage]:
        return [h.passage for h in self.retrieval.search(self.question, k=RESCUE_WINDOW)]

    def has_document(self, number: str, window: int) -> bool:
        return any(p.doc_number == number for p in self.passages[:window])

    def has_page(self, source: str, window: int) -> bool:
        return any(p.source == source for p in self.passages[:window])


def in_focus(question: str, focus: str | None, ranking: Ranking, window: int = FOCUS_WINDOW) -> str | None:
    """The document in focus, when the question names it by its kind ("kế hoạch đó …") or when it is
    among the best passages for the question: a follow-up is answered from it first, a new topic
    (where it ranks lower) from the whole index."""
    if not focus:
        return None
    if focus_doc_reference(question) or ranking.has_document(focus, window):
        return focus
    return None


def page_in_focus(source: str | None, ranking: Ranking, window: int = FOCUS_WINDOW) -> str | None:
    """The page in focus (for pages naming no document of their own) when one of its passages is
    among the best for the question."""
    return source if source and ranking.has_page(source, window) else None


def answer_from_documents(core: Core, question: str, doc: str | None = None, conversation_id: str | None = None,
                          focus: str | None = None, page: str | None = None,
                          ranking: Ranking | None = None) -> tuple[render.Reply, list[Any]]:
    """The documents' answer; ``focus`` (the document in focus) answers it when it fits (see in_focus),
    and a follow-up the whole index would decline ("Còn danh hiệu nào?") when it is near the top.
    Without a document in focus, ``page`` (the page in focus) plays that part."""
    retrieval = core.retrieval
    ranking = ranking or Ranking(retrieval, question)
    doc = doc or in_focus(question, focus, ranking)
    source = None if doc or focus else page_in_focus(page, ranking)
    answer = retrieval.ask(question, doc=doc, source=source)
    if answer.abstained and doc is None and in_focus(question, focus, ranking, RESCUE_WINDOW):
        doc = focus
        answer = retrieval.ask(question, doc=doc)
    elif answer.abstained and not doc and not focus and page_in_focus(page, ranking, RESCUE_WINDOW):
        source = page
        answer = retrieval.ask(question, source=source)
    if answer.abstained:
        if conversation_id:   # questions it could not answer become candidate gold items
            core.record(FeedbackRecord(conversation_id, "abstained", question, render.CANNOT_ANSWER))
        return render.Reply(render.CANNOT_ANSWER, abstained=True), [*remember(question)]
    top = answer.citations[0] if answer.citations else None
    top_doc = top.doc_number if top else None
    task = task_in_answer(retrieval, answer.answer, top_doc)
    return render.Reply(answer.answer, answer.citations), \
        remember(question, doc=top_doc or doc, task=task, source=top.source if top else source)


def task_in_answer(retrieval: Retrieval, text: str, doc: str | None):
    """The task the answer states, if it states one ("… Sở Y tế chủ trì, phối hợp …"): then "Ai chủ
    trì?", "Hạn chót khi nào?" follow up on it rather than on the whole document."""
    if not doc:
        return None
    from retrieval.text import fold

    folded = fold(text)
    stated = [t for t in retrieval.tasks.find(doc=doc) if t.task.quote and fold(t.task.quote)[:60] in folded]
    return stated[0].task if stated else None


def _digest_text(digest: Digest) -> str:
    lines = []
    for item in digest.items[:MAX_DIGEST_ITEMS]:
        line = item.heading
        if item.doc_number:
            line += f" ({item.doc_type or 'Văn bản'} {item.doc_number})"
        lines.append(line)
    text = f"{digest.title}:\n" + render.numbered(lines)
    if len(digest.items) > MAX_DIGEST_ITEMS:
        text += f"\n… và {len(digest.items) - MAX_DIGEST_ITEMS} nội dung khác."
    return text


def _digest_citations(digest: Digest) -> list:
    from retrieval.schema import Citation

    return [Citation(document=i.document, title=i.heading, bulletin=digest.title, source=digest.source,
                     quote=i.heading, score=1.0, passage_id=i.passage_id)
            for i in digest.items if i.doc_number][:render.MAX_SOURCES]


# Words of a "what's new" question that name no topic: periods, the directives themselves, question words.
_NOT_TOPIC = frozenset(vocabulary().digest_not_topic)
TOPIC_TERMS = 2    # a dated question with this many topic words asks about the topic, not for the digest


def _topic_terms(text: str) -> list[str]:
    from retrieval.tasks.registry import query_terms

    return [t for t in query_terms(text) if t not in _NOT_TOPIC and not t.isdigit()]


def respond_latest(core: Core, turn: Turn) -> tuple[render.Reply, list[Any]]:
    if len(_topic_terms(turn.text)) >= TOPIC_TERMS:
        # "Hồi tháng 3/2020 tỉnh chỉ đạo gì về phòng, chống dịch Covid-19?": the topic decides, the
        # period only places it (and single-directive pages are in no weekly digest).
        return answer_from_documents(core, turn.text, focus=turn.focus_doc, page=turn.focus_source)
    digests = core.retrieval.documents.digests()
    if not digests:
        return render.Reply("Hiện chưa có bản tin chỉ đạo, điều hành nào trong dữ liệu."), []
    expression = turn.first("date")
    span = date_range(expression, core.today) if expression else None
    if span is None:
        chosen, intro = digests[0], "Bản tin chỉ đạo, điều hành gần nhất: "
    else:
        first, last = span
        # A bulletin covers Monday–Sunday of its week: it belongs to the asked period if the week overlaps.
        within = [d for d in digests if d.week_start and first <= _week_end(d.week_start) and d.week_start <= last]
        if within:
            chosen, intro = within[0], ""
        else:
            period = (f"{render.vn_date(first)}" if first == last else
                      f"từ {render.vn_date(first)} đến {render.vn_date(last)}")
            chosen = digests[0]
            intro = (f"Chưa có bản tin chỉ đạo, điều hành cho {expression} ({period}). "
                     f"Bản tin gần nhất hiện có: ")
    text = intro + _digest_text(chosen)
    return render.Reply(text, _digest_citations(chosen)), remember(turn.text)


def _week_end(week_start: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(week_start) + dt.timedelta(days=6)).isoformat()


class ActionAnswerDirective(ReplyAction):
    action_name = "action_answer_directive"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        found = core.retrieval.documents.resolve(turn.first("doc_number")) if turn.first("doc_number") else []
        return answer_from_documents(core, turn.text, doc=found[0] if found else None, conversation_id=tracker.sender_id,
                                     focus=turn.focus_doc, page=turn.focus_source)


class ActionLatestDirectives(ReplyAction):
    action_name = "action_latest_directives"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        return respond_latest(core, turn)
