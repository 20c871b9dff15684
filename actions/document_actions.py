"""One document by its number, or the one in focus: what it says, who issued or signed it, when."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import render
from actions.assistant import Core
from actions.directive_actions import answer_from_documents
from actions.focus import PendingChoice, Turn, remember
from actions.reply_action import ReplyAction
from retrieval.answer.documents import DocumentCatalog
from retrieval.schema import DocumentInfo
from retrieval.tasks.registry import query_terms
from retrieval.text import fold
from retrieval.vocabulary import vocabulary

_SIGNER_CUES = vocabulary().signer_cues
_DATE_CUES = vocabulary().date_cues
_ISSUER_CUES = vocabulary().issuer_cues


_ANAPHORA = re.compile(r"\b(?:van ban|vb|cong van|ke hoach|quyet dinh|chi thi|thong bao|no|cai) "
                       r"(?:do|nay|tren|vua roi|vua noi|ay)\b|\bno\b")


# Words of a question that ask what a document says in general, not one of its facts.
_GENERIC_WORDS = frozenset(vocabulary().document_generic_words)


def _generic(question: str) -> bool:
    """"Công văn 704 nói gì?", "Kế hoạch 124 về nội dung gì?" — not "… công nhận trường nào?"."""
    from retrieval.ingest.references import find_mention_spans

    for span in reversed(find_mention_spans(question)):
        question = question[:span.start] + " " + question[span.end:]
    return all(term in _GENERIC_WORDS or term.isdigit() for term in query_terms(question))


def asks_about_issuance(text: str) -> bool:
    """"ban hành ngày nào?", "ai ký?", "của cơ quan nào?": a question about a document, not a task."""
    folded = fold(text)
    return any(cue in folded for cue in _SIGNER_CUES + _ISSUER_CUES + vocabulary().issuance_cues)


def _about_focus(text: str) -> bool:
    """"Văn bản đó do ai ký?", "ban hành ngày nào?": about the document in focus, not a new search."""
    return bool(_ANAPHORA.search(fold(text))) or not query_terms(text) or \
        any(cue in fold(text) for cue in _SIGNER_CUES + _DATE_CUES + _ISSUER_CUES)


def _issued(info: DocumentInfo) -> str:
    parts = []
    if info.issuer:
        parts.append(f"do {info.issuer} ban hành")
    if info.issued_date:
        parts.append(f"ngày {render.vn_date(info.issued_date)}")
    return " ".join(parts)


def describe(core: Core, info: DocumentInfo, question: str,
             conversation_id: str | None) -> tuple[render.Reply, list[Any]]:
    catalog = core.retrieval.documents
    folded = fold(question)
    citation = [catalog.citation(info)] if info.passage_id else []
    if not info.subject:   # only named inside other items: say where and what they say of it, never guess more
        where = render.numbered(info.mentioned_in) if info.mentioned_in else info.bulletin
        issued = _issued(info)
        text = (f"{render.document_title(info)}{' ' + issued if issued else ''} không có mục riêng trong các văn bản đã có; "
                f"văn bản này được nhắc đến trong:\n{where}")
        if info.details:
            text += "\nNội dung nhắc đến: " + " ".join(info.details)
        naming = catalog.naming_citation(info)
        return render.Reply(text, [naming] if naming else citation), \
            remember(question, doc=info.named_by or info.number)
    if any(cue in folded for cue in _SIGNER_CUES):
        if info.signer:
            text = f"{render.document_title(info)} do {info.signer} ký."
        elif info.directed_by:
            text = (f"Bản tin không ghi người ký {render.document_title(info)}; văn bản {_issued(info)} truyền đạt chỉ đạo "
                    f"của đồng chí {info.directed_by}.")
        else:
            text = (f"Bản tin không ghi người ký {render.document_title(info)}. Văn bản {_issued(info)}, "
                    f"về việc: {info.subject}.")
        return render.Reply(text, citation), remember(question, doc=info.number)
    if any(cue in folded for cue in _DATE_CUES):
        when = f"ban hành ngày {render.vn_date(info.issued_date)}" if info.issued_date else \
            "không ghi ngày ban hành trong bản tin"
        text = f"{render.document_title(info)} {when}{f' (của {info.issuer})' if info.issuer else ''}, về việc: {info.subject}."
        return render.Reply(text, citation), remember(question, doc=info.number)
    if any(cue in folded for cue in _ISSUER_CUES):
        text = f"{render.document_title(info)} {_issued(info) or 'không ghi cơ quan ban hành trong bản tin'}."
        return render.Reply(text, citation), remember(question, doc=info.number)
    if _generic(question) and info.details:   # "nói gì", "về việc gì", "tóm tắt": what it is, what it says
        text = f"{render.document_title(info)} {_issued(info)}: {info.subject}.\n" + " ".join(info.details)
        return render.Reply(text, [catalog.citation(info, quote=info.details[0])]), \
            [*remember(question, doc=info.number), SlotSet("focus_task", None)]
    # A specific question about it: the sentence of the document that answers it.
    reply, events = answer_from_documents(core, question, doc=info.number, conversation_id=conversation_id)
    # The focus is the document as a whole, not a task its answer happens to quote.
    events = [e for e in events if e.get("name") != "focus_task"] + [SlotSet("focus_task", None)]
    if reply.abstained:
        reply = render.Reply(f"{render.document_title(info)} {_issued(info)}: {info.subject}.\n{info.summary}", citation)
    else:
        reply.text = f"{render.document_title(info)} {_issued(info)}: {info.subject}.\n{reply.text}"
    return reply, [*events, SlotSet("focus_doc", info.number)]


def respond_document(core: Core, turn: Turn, conversation_id: str | None = None,
                     chosen: str | None = None) -> tuple[render.Reply, list[Any]]:
    catalog = core.retrieval.documents
    if chosen is None:
        mention = turn.first("doc_number")
        if mention:
            found = catalog.resolve(mention)
            if not found:
                return render.Reply(f"Tôi chưa có văn bản “{mention}” trong dữ liệu các bản tin chỉ đạo, điều "
                                    "hành. Bạn kiểm tra lại số hiệu văn bản giúp tôi.", abstained=True), []
            if len(found) > 1:
                return _ask_which_document(catalog, turn.text, found)
            chosen = found[0]
        elif turn.focus_doc and _about_focus(turn.text):
            chosen = turn.focus_doc
        elif query_terms(turn.text):   # "Trợ lý ảo được vận hành theo văn bản nào?": the documents answer
            return answer_from_documents(core, turn.text, conversation_id=conversation_id)
        else:
            return render.Reply("Bạn muốn hỏi văn bản nào? Hãy nêu số hiệu, ví dụ “Công văn 704/UBND-KGVX” "
                                "hoặc “Kế hoạch 146”.", abstained=True), []
    info = catalog.get(chosen)
    if info is None:
        return render.Reply(f"Tôi chưa có văn bản số {chosen} trong dữ liệu.", abstained=True), []
    return describe(core, info, turn.text, conversation_id)


def _ask_which_document(catalog: DocumentCatalog, question: str,
                        numbers: list[str]) -> tuple[render.Reply, list[Any]]:
    options = numbers[:4]
    titles = [render.choice_title(catalog, number) for number in options]
    pending = PendingChoice("ask_document", question, documents=tuple(options))
    text = "Có nhiều văn bản khớp với số bạn nêu. Bạn muốn hỏi văn bản nào?\n" + render.numbered(titles)
    return render.Reply(text, buttons=render.choice_buttons(titles)), [SlotSet("pending", pending.to_slot())]


class ActionDescribeDocument(ReplyAction):
    action_name = "action_describe_document"

    def respond(self, core: Core, turn: Turn, tracker: Tracker) -> tuple[render.Reply, list[Any]]:
        return respond_document(core, turn, tracker.sender_id)
