"""Who leads, with whom, by when: "Ai chủ trì …?", "Còn phối hợp với ai?", "Hạn chót khi nào?",
"Sở Y tế được giao những việc gì?", "Việc nào sắp đến hạn?"."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions import render
from actions.assistant import Core
from actions.directive_actions import Ranking, answer_from_documents, in_focus
from actions.focus import PendingChoice, TaskRef, Turn, focus_doc_reference, remember
from actions.reply_action import ReplyAction
from retrieval.schema import Citation, Task
from retrieval.service import Retrieval
from retrieval.tasks.registry import TaskMatch, query_terms
from retrieval.text import fold

ASK_WHICH_MAX = 4
FOLLOW_UP_TERMS = 2   # a question with at most this many words of its own may be a follow-up
FOCUS_SHARE = 0.8     # the document in focus wins unless another matches the words clearly better


def _wants_partners(text: str) -> bool:
    return "phoi hop" in fold(text)


def _wants_due_soon(text: str) -> bool:
    folded = fold(text)
    return any(cue in folded for cue in ("sap den han", "sap het han", "qua han", "tre han", "sap toi han"))


def _document_of(retrieval: Retrieval, turn: Turn) -> str | None:
    mention = turn.first("doc_number")
    if not mention:
        return None
    found = retrieval.documents.resolve(mention)
    return found[0] if found else None


def candidate_tasks(retrieval: Retrieval, turn: Turn, ranking: Ranking | None = None) -> list[TaskMatch] | None:
    """The tasks a question is about, best first; None when it names nothing and nothing is in focus.

    A question with words of its own is looked up by them (in the named document, else anywhere,
    else in the document in focus); a bare follow-up ("Ai chủ trì?", "Sở nào phải xử lý?") goes to
    the task in focus, then to the tasks of the document in focus."""
    registry = retrieval.tasks
    ranking = ranking or Ranking(retrieval, turn.text)
    # The document in focus when the question names it by kind ("kế hoạch đó") or its passages are
    # among the best for the question ("Hội đàm đó diễn ra ngày nào?" after a directive about it).
    doc = _document_of(retrieval, turn) or in_focus(turn.text, turn.focus_doc, ranking)
    agency = turn.first("agency")
    question = _without_entities(turn)
    terms = query_terms(question)
    if terms:
        found = registry.find(query=question, doc=doc, agency=agency)
        if not doc and turn.focus_doc:
            # The conversation's document first, unless another fits the words clearly better.
            focused = registry.find(query=question, doc=turn.focus_doc, agency=agency)
            if focused and (not found or focused[0].score >= FOCUS_SHARE * found[0].score):
                found = focused
        if not doc and not agency and found and len(terms) > FOLLOW_UP_TERMS:
            found = _agreeing_with_search(ranking, found)
        if found or len(terms) > FOLLOW_UP_TERMS:
            return found
    if doc or agency:
        return registry.find(doc=doc, agency=agency)
    task = turn.focus_task.find(registry.tasks) if turn.focus_task else None
    if task is not None:
        return [TaskMatch(task)]
    if turn.focus_doc:
        return registry.find(doc=turn.focus_doc)
    return [] if terms else None


SEARCH_AGREEMENT = 5   # a task answers a question only if its page is among this many best passages


def _agreeing_with_search(ranking: Ranking, found: list[TaskMatch]) -> list[TaskMatch]:
    """Tasks whose document (or page) the search also ranks near the top: a task that merely shares
    words with a question about a meeting or a page without assignments ("Quảng Nam có hội nghị …,
    ai chủ trì?") is no answer; the documents answer instead."""
    return [m for m in found if (ranking.has_document(m.task.doc_number, SEARCH_AGREEMENT) if m.task.doc_number
                                 else ranking.has_page(m.task.source, SEARCH_AGREEMENT))]


def _without_entities(turn: Turn) -> str:
    """The question without the names of documents and agencies (or a "kế hoạch đó" naming the one
    in focus): those are filters, not words of the task."""
    question = turn.text
    for kind in ("doc_number", "agency"):   # topics and dates are words of the task: they stay
        for value in turn.entities.get(kind, []):
            question = question.replace(value, " ")
    reference = focus_doc_reference(question) if turn.focus_doc else None
    if reference:
        question = question[:reference.start()] + " " + question[reference.end():]
    return question


# The task that implements a document as a whole: "Sở Nội vụ chủ trì … triển khai, đôn đốc việc tổ
# chức thực hiện Kế hoạch này", "… theo dõi, đôn đốc, tổng hợp, báo cáo UBND tỉnh".
_WHOLE_DOCUMENT = re.compile(r"\b(?:ke hoach|quyet dinh|chi thi|cong van|van ban|thong bao|de an) nay\b"
                             r"|\bdon doc\b|\btheo doi\b.*\bbao cao\b")


def document_lead(tasks: list[Task]) -> Task | None:
    """Among a document's tasks, the one led explicitly ("chủ trì") for the document as a whole, or
    the only one any agency is said to lead ("chủ trì") at all."""
    explicit = [t for t in tasks if t.lead and "chu tri" in fold(t.quote)]
    whole = [t for t in explicit if _WHOLE_DOCUMENT.search(fold(t.action))]
    if len(whole) == 1:
        return whole[0]
    return explicit[0] if len({t.lead for t in explicit}) == 1 and explicit else None


def _distinct(matches: list[TaskMatch]) -> list[TaskMatch]:
    """Matches as good as the best, one per task (several sentences can restate one task)."""
    if not matches:
        return []
    best = matches[0].score
    seen, kept = set(), []
    for match in matches:
        key = (match.task.doc_number, match.task.action)
        if match.score < best or key in seen:
            continue
        seen.add(key)
        kept.append(match)
    return kept


def ask_which(intent: str, question: str, tasks: list[Task]) -> tuple[render.Reply, list[Any]]:
    from rasa_sdk.events import SlotSet

    options = tasks[:ASK_WHICH_MAX]
    titles = [f"{t.action} ({t.doc_number})" if t.doc_number else t.action for t in options]
    text = "Có nhiều việc khớp với câu hỏi. Bạn muốn hỏi việc nào?\n" + render.numbered(titles)
    pending = PendingChoice(intent, question, tasks=tuple(TaskRef.of(t) for t in options))
    return render.Reply(text, buttons=render.choice_buttons(titles)), [SlotSet("pending", pending.to_slot())]


def respond_about_task(core: Core, turn: Turn, intent: str, chosen: Task | None = None) -> tuple[render.Reply, list[Any]]:
    """ask_responsible / ask_deadline: one task → its answer; several → ask which; none → documents."""
    if intent == "ask_deadline" and chosen is None and _wants_due_soon(turn.text):
        return due_soon_reply(core, turn)
    if chosen is None:
        ranking = Ranking(core.retrieval, turn.text)
        matches = candidate_tasks(core.retrieval, turn, ranking)
        if matches is None:
            what = "hạn chót của" if intent == "ask_deadline" else "cơ quan chủ trì"
            return render.Reply(f"Bạn muốn hỏi {what} việc nào? Hãy nêu việc cần làm hoặc số văn bản, "
                                "ví dụ “Ai chủ trì phòng, chống sốt xuất huyết?”.", abstained=True), []
        distinct = _distinct(matches)
        if not distinct:
            named = _document_of(core.retrieval, turn)
            if named is None and turn.focus_doc and not turn.first("agency") \
                    and not query_terms(_without_entities(turn)):
                return _from_document_in_focus(core, turn, intent)
            return answer_from_documents(core, turn.text, doc=named, focus=turn.focus_doc,
                                         page=turn.focus_source, ranking=ranking)
        if len(distinct) > 1 and not query_terms(_without_entities(turn)):
            # "Giao cho cơ quan nào?": the province's own bodies before the addressees of a request the
            # document only reports ("Công điện nêu rõ: Chủ tịch UBND các tỉnh, thành phố …").
            known = [m for m in distinct if core.retrieval.tasks.gazetteer.canonical(m.task.lead or "")]
            distinct = known or distinct
        if len(distinct) > 1 and intent == "ask_responsible" and not query_terms(_without_entities(turn)):
            overall = document_lead([m.task for m in distinct])
            if overall is not None:   # "Kế hoạch 146 …" → "Ai chủ trì?": who leads the plan as a whole
                distinct = [m for m in distinct if m.task is overall]
        leads = {m.task.lead for m in distinct}
        if len(distinct) > 1 and (intent == "ask_deadline" or len(leads) > 1 or _wants_partners(turn.text)):
            return ask_which(intent, turn.text, [m.task for m in distinct])
        chosen = distinct[0].task
    if intent == "ask_deadline":
        text = render.deadline_answer(chosen)
    else:
        text = render.responsible_text(chosen, partners_first=_wants_partners(turn.text))
    return render.Reply(text, [Citation.from_task(chosen)]), remember(turn.text, task=chosen, agency=chosen.lead)


def _from_document_in_focus(core: Core, turn: Turn, intent: str) -> tuple[render.Reply, list[Any]]:
    """A bare follow-up ("Ai chủ trì?") about a document that assigns no task: its own text answers,
    or the reply says the document does not say — never another document's task."""
    reply, events = answer_from_documents(core, turn.text, doc=turn.focus_doc)
    if not reply.abstained:
        return reply, events
    what = "hạn chót của việc nào" if intent == "ask_deadline" else "cơ quan chủ trì việc nào"
    return render.Reply(f"Văn bản {turn.focus_doc} không nêu {what} (tôi không thấy nhiệm vụ nào được giao "
                        "trong văn bản này). Bạn có thể hỏi về nội dung của văn bản, hoặc hỏi về một văn bản khác.",
                        abstained=True), remember(turn.text, doc=turn.focus_doc)


def due_soon_reply(core: Core, turn: Turn) -> tuple[render.Reply, list[Any]]:
    day = core.today
    registry = core.retrieval.tasks
    folded = fold(turn.text)
    if "qua han" in folded or "tre han" in folded:
        matches = [m for m in registry.find(today=day) if m.status == "overdue"]
        head = f"Các việc đã quá hạn (tính đến {render.vn_date(day)}):"
    else:
        matches = registry.due_soon(day)
        head = f"Các việc đến hạn trong {7} ngày tới (từ {render.vn_date(day)}):"
    if not matches:
        return render.Reply(f"Không có việc nào {'quá hạn' if 'qua han' in folded else 'sắp đến hạn'} "
                            f"trong các văn bản đã có (tính đến {render.vn_date(day)})."), []
    tasks = [m.task for m in matches[:render.MAX_LISTED_TASKS]]
    text = head + "\n" + render.numbered([render.task_line(t) for t in tasks])
    if len(matches) > len(tasks):
        text += f"\n… và {len(matches) - len(tasks)} việc khác."
    return render.Reply(text, [Citation.from_task(t) for t in tasks]), remember(turn.text)


def respond_agency_tasks(core: Core, turn: Turn) -> tuple[render.Reply, list[Any]]:
    agency = turn.first("agency") or turn.focus_agency
    if not agency:   # no agency named: maybe the documents still answer it
        return answer_from_documents(core, turn.text)
    registry = core.retrieval.tasks
    name = registry.gazetteer.canonical(agency) or agency
    topic = turn.first("topic")
    matches = registry.find(agency=agency, query=topic, today=core.today) if topic else \
        registry.tasks_of(agency, today=core.today)
    shared = registry.shared_tasks_of(agency, query=topic, today=core.today)
    about = f" về {topic}" if topic else ""
    if not matches and not shared:
        return render.Reply(f"Tôi chưa thấy nhiệm vụ nào{about} giao cho {name} trong các văn bản đã có."), \
            remember(turn.text, agency=name)
    shown = matches[:render.MAX_LISTED_TASKS]
    # Tasks given to a collective the agency belongs to fill what the list has left, after its own.
    shown_shared = shared[:render.MAX_LISTED_TASKS - len(shown)]
    if matches:
        successor = next((m.task.successors[n] for m in shown if m.via_successor
                          for n in [m.task.lead, *m.task.partners, *m.task.assignees] if n in m.task.successors),
                         None)
        text = f"{name} có {len(matches)} nhiệm vụ trong các văn bản đã có"
        text += f" (gồm việc giao cho cơ quan tiền nhiệm mà {successor} tiếp nhận)" if successor else ""
        text += ":\n" + render.numbered([render.task_line(m.task, m.role) for m in shown])
        if len(matches) > len(shown):
            text += f"\n… và {len(matches) - len(shown)} việc khác. Bạn có thể hỏi thêm theo văn bản hoặc chủ đề."
    else:
        text = f"Tôi chưa thấy nhiệm vụ nào{about} giao riêng cho {name} trong các văn bản đã có."
    if shared:
        groups = ", ".join(dict.fromkeys(m.via_collective for m in shared))
        text += f"\n\n{'Ngoài ra có' if matches else 'Có'} {len(shared)} nhiệm vụ giao chung cho {groups} " \
                f"({name} là một trong số đó)"
        if shown_shared:
            text += ":\n" + render.numbered([render.task_line(m.task, m.role) for m in shown_shared])
            if len(shared) > len(shown_shared):
                text += f"\n… và {len(shared) - len(shown_shared)} việc giao chung khác."
        else:
            text += "."
    listed = shown + shown_shared
    focus = listed[0].task if len(listed) == 1 else None
    events = remember(turn.text, task=focus, agency=name)
    return render.Reply(text, [Citation.from_task(m.task) for m in listed]), events


class ActionAnswerResponsible(ReplyAction):
    action_name = "action_answer_responsible"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        return respond_about_task(core, turn, "ask_responsible")


class ActionAnswerDeadline(ReplyAction):
    action_name = "action_answer_deadline"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        return respond_about_task(core, turn, "ask_deadline")


class ActionAgencyTasks(ReplyAction):
    action_name = "action_agency_tasks"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        return respond_agency_tasks(core, turn)
