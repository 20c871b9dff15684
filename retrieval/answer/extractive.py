"""Extractive answers: the sentences of the best passages that answer, then their citations.

Flow: a question naming a document ("Kế hoạch 143/KH-UBND nói gì?", "kế hoạch 143") goes to
that document; any other question goes through hybrid search. The best passage's evidence
decides whether to answer at all; the answer is its best sentence(s), never generated text.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache

from retrieval.answer.abstain import AbstainModel
from retrieval.answer.evidence import Evidence, TermWeights
from retrieval.answer.places import provinces_in
from retrieval.schema import Answer, Citation, Hit, Passage
from retrieval.search.searcher import SearchFilters, Searcher
from retrieval.text import expand_chat_shorthand, fold, folded_syllables, split_sentences, syllables

ABSTAIN_TEXT = ("Xin lỗi, tôi chưa tìm thấy chỉ đạo nào của UBND tỉnh trong dữ liệu hiện có trả lời "
                "câu hỏi này. Bạn có thể hỏi lại cụ thể hơn, ví dụ nêu tên văn bản, cơ quan hoặc lĩnh vực.")
MAX_CITATIONS = 3
MAX_QUOTE_CHARS = 300
CANDIDATES = 10
RELATIVE_SUPPORT = 0.6
RANK_DISCOUNT = 0.05  # a lower-ranked chunk's sentence must be clearly better to win
CUE_BONUS = 1.0       # share of the question's term weight a sentence of the asked shape earns

# What a question asks for (matched on folded text) and the sentence shapes that carry it:
# a time of day asks for hours, a deadline for a date or period, a quantity for an amount, "who"
# for an assignment. A strong shape earns the whole bonus, a weak one (any date, any number) a
# quarter of it. The first question pattern that matches decides ("mấy giờ" before "mấy").
ANSWER_CUES = [
    # "… thực hiện chỉ thị nào?", "… có số hiệu gì?", "theo văn bản nào?": a sentence naming a document by number.
    (re.compile(r"\b(van ban|cong van|chi thi|quyet dinh|ke hoach|nghi quyet|nghi dinh|thong tu|cong dien|"
                r"ket luan|thong bao|huong dan) (nao|so may|so bao nhieu)\b|\bso hieu\b|\bso van ban\b"),
     re.compile(r"\b\d{1,5}(/\d{4})?[/-][a-z]+[-/][a-z]"),
     re.compile(r"\b(chi thi|quyet dinh|cong van|ke hoach|nghi quyet|nghi dinh|cong dien|ket luan) so\b")),
    # "Ai chỉ đạo …?", "… là ý kiến của đồng chí nào?": the official whose opinion a letter conveys.
    (re.compile(r"\b(ai chi dao|y kien (chi dao )?cua (dong chi )?(nao|ai)|dong chi nao|ai ky|nguoi ky|ai ban hanh)\b"),
     re.compile(r"\by kien (chi dao |ket luan )?cua dong chi\b|\bdong chi [a-z ]+, (pho )?chu tich\b"),
     re.compile(r"\bdong chi\b|\bchu tich\b")),
    (re.compile(r"\b(may gio|gio nao|khung gio|gio hoat dong)\b"),
     re.compile(r"\d{1,2} ?(h|gio)\b|\d{1,2}h\d{2}"),
     re.compile(r"\b(gio|buoi sang|buoi chieu|ban dem|ban ngay)\b")),
    (re.compile(r"\b(khi nao|bao gio|han chot|thoi han|han|thoi gian|ngay nao|luc nao|den khi)\b"),
     re.compile(r"\b(truoc ngay|den ngay|cham nhat|hoan thanh trong|trong thang|trong quy|trong nam|"
                r"den het nam|den nam \d|tu ngay|hang (ngay|tuan|thang|quy|nam))\b"),
     re.compile(r"\d{1,2}/\d{1,2}/\d{4}|\bnam \d{4}")),
    (re.compile(r"\b(bao nhieu|may|ty le|so luong|muc)\b"),
     re.compile(r"\b(khong qua|toi da|toi thieu|tong so|so luong|ty le|dat tren|dat tu|tren \d|\d+ ?%)"),
     re.compile(r"\d")),
    (re.compile(r"\b(ai|co quan nao|don vi nao|so nao|nganh nao|chiu trach nhiem)\b"),
     re.compile(r"\b(chu tri|duoc giao|giao cho|yeu cau|chiu trach nhiem)\b"),
     re.compile(r"\b(phoi hop|so|ubnd)\b")),
]
HEADING_TERM_WEIGHT = 0.5   # a term the item heading already holds says little about a sentence


def cue_strength(question: str, sentence: str) -> float:
    """1 when the sentence has the strong shape of what the question asks, 0.25 weak, else 0."""
    return _shape_strength(_asked_shape(fold(question)), fold(sentence))


@lru_cache(maxsize=256)
def _asked_shape(folded_question: str) -> tuple[re.Pattern, re.Pattern] | None:
    """The (strong, weak) sentence shapes a folded question asks for; None: no particular shape.
    Read once per question, not once per sentence scored."""
    for asks, strong, weak in ANSWER_CUES:
        if asks.search(folded_question):
            return strong, weak
    return None


def _shape_strength(shape: tuple[re.Pattern, re.Pattern] | None, folded_sentence: str) -> float:
    if shape is None:
        return 0.0
    strong, weak = shape
    return 1.0 if strong.search(folded_sentence) else 0.25 if weak.search(folded_sentence) else 0.0


# One answer reads the same candidate texts several times (the decision's item, the bigram
# check, the sentence scores, the citations' quotes): their folded forms are remembered, in small
# caches keyed by the text itself (a few answers' worth: memory counts more than reuse across questions).
@lru_cache(maxsize=128)
def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(folded_syllables(text))


@lru_cache(maxsize=64)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(split_sentences(text) or [text])


@lru_cache(maxsize=512)
def _present_terms(sentence: str) -> frozenset[str]:
    """The folded syllables of a sentence and its adjacent pairs ("chu_tri")."""
    words = _folded_words(sentence)
    return frozenset(words) | {f"{a}_{b}" for a, b in zip(words, words[1:])}


@lru_cache(maxsize=8192)
def passage_terms(heading: str, text: str) -> frozenset[str]:
    """A passage's folded syllables, heading included, for coverage checks: computed for the passages
    answers look at (a few dozen a question), not kept for every passage of the index (10⁶ sets at
    national scale)."""
    return frozenset(fold(s) for s in syllables(f"{heading} {text}"))


@dataclass(frozen=True)
class ScoredSentence:
    text: str
    score: float


class Answerer:
    def __init__(self, searcher: Searcher, abstain: AbstainModel | None = None):
        self.searcher = searcher
        self.abstain = abstain or AbstainModel.load()
        index = searcher.index
        self.weights = TermWeights(index.document_frequencies("fold"), len(index))

    def through(self, searcher: Searcher) -> "Answerer":
        """This answerer over another view of the same index (its statistics are the index's: shared)."""
        view = copy.copy(self)
        view.searcher = searcher
        return view

    def ask(self, question: str, doc: str | None = None, source: str | None = None) -> Answer:
        """Answer ``question``; ``doc`` (a known document number) restricts it to that document, as
        when the dialogue asks a follow-up about "văn bản đó"; ``source`` (an input file) to one page,
        for pages that name no document of their own (a week's list, another province's page)."""
        return self.ask_many([question], doc=doc, source=source)[0]

    def ask_many(self, questions: list[str], doc: str | None = None, source: str | None = None) -> list[Answer]:
        answers = []
        named = doc
        for typed in questions:
            question, doc, hits = self.route(typed, named, source)
            if doc:
                hits = sorted(hits, key=lambda h: h.passage.doc_number != doc)  # its own text first
                # "Quyết định 1073/QĐ-UBND công nhận trường nào …": the number only picks the document;
                # left in, its words make the sentence that merely cites it look like the answer.
                # A generic question ("… có nội dung gì?") keeps them: that sentence is its answer.
                specific = _without_mentions(question)
                if len(self.topic_terms(specific)) >= SPECIFIC_TERMS:
                    question = specific
            answer = self._answer(question, hits, named_document=doc is not None or source is not None)
            answer.question = typed
            answers.append(answer)
        return answers

    def route(self, typed: str, named: str | None = None,
              source: str | None = None) -> tuple[str, str | None, list[Hit]]:
        """The question as searched (chat shorthand expanded), the document it is restricted to
        (``named``, or the one it names) and its candidate passages (of ``source`` only, if given)."""
        question = expand_chat_shorthand(typed)   # "chi dao j" → "chi dao gì"
        doc = named or (None if source else self.document_in(question))
        filters = SearchFilters(doc_number=doc, source=source) if doc or source else None
        return question, doc, self.searcher.search(question, k=CANDIDATES, filters=filters)

    def document_in(self, question: str) -> str | None:
        """The indexed document a question names, if it names exactly one."""
        from retrieval.ingest.references import resolve_document_mention

        return resolve_document_mention(question, self.searcher.document_numbers)

    def topic_terms(self, question: str) -> list[str]:
        return self.weights.topic_terms(question)

    def evidence(self, terms: list[str], hit: Hit) -> Evidence:
        coverage, matched = self.weights.coverage(terms, passage_terms(hit.passage.heading, hit.passage.text))
        return Evidence(coverage=coverage, dense=hit.signals.get("dense", 0.0), matched=matched)

    def decision_evidence(self, question: str, hits: list[Hit]) -> Evidence:
        """The evidence of the best passage, with what its item adds: the abstention model's input.

        The item is the best passage with the other candidates of the same item (a meeting's facts
        and a plan's figures run over several chunks), its bulletin's title and its dates ("tuần
        24/5 đến 30/5/2021", "tháng 10/2024" are in no sentence). A province the question names
        counts as named by the page when its text or its source address names it."""
        terms = self.topic_terms(question)
        top = hits[0]
        key = _item_key(top.passage)
        item = [h for h in hits if _item_key(h.passage) == key]
        parts = [top.passage.title] + [text for h in item for text in (h.passage.heading, h.passage.text)]
        # The words of the parts joined by spaces are the parts' words one after the other.
        words = [w for part in parts for w in _folded_words(part)]
        item_terms = set(words) | _date_terms(top.passage)
        item_coverage, _ = self.weights.coverage(terms, item_terms)
        base = self.evidence(terms, top)
        named = provinces_in(question)
        other = set()
        if named:   # most questions name no province: the item's text need not be searched for any
            source = re.sub(r"\W|_", "", fold(top.passage.source))
            other = {p for p in named - provinces_in(" ".join(parts)) if p.replace(" ", "") not in source}
        return Evidence(
            coverage=base.coverage, dense=base.dense, matched=base.matched, item_coverage=item_coverage,
            near_coverage=self.weights.near_coverage(terms, item_terms, words),
            unknown=self.weights.unknown_share(terms),
            bigrams=self.weights.bigram_coverage(question, words=words), other_place=float(bool(other)))

    def _answer(self, question: str, hits: list[Hit], named_document: bool) -> Answer:
        terms = self.topic_terms(question)
        if not hits:
            return Answer(question, ABSTAIN_TEXT, True, [])
        top = self.evidence(terms, hits[0])
        if not named_document and not self.abstain.answers(self.decision_evidence(question, hits)):
            return Answer(question, ABSTAIN_TEXT, True, [])
        # Cite only passages that carry a fair share of the best passage's evidence.
        supporting = [h for h in hits if self.evidence(terms, h).coverage >= RELATIVE_SUPPORT * top.coverage]
        source, best = self._answer_sentences(question, terms, supporting or hits[:1])
        citations = self._citations(question, terms, [source] + [h for h in supporting if h is not source],
                                    first_quote=best[0].text)
        return Answer(question, " ".join(s.text for s in best), False, citations)

    def _scored_sentences(self, question: str, terms: list[str], passage: Passage) -> list[ScoredSentence]:
        """Each sentence scored by the question's terms it holds, plus a bonus for the asked shape."""
        bonus = CUE_BONUS * sum(self.weights.idf(t) for t in terms)
        heading = set(_folded_words(passage.heading))
        asked = _asked_shape(fold(question))
        scored = []
        for text in _sentences(passage.text):
            topical = self._sentence_score(terms, text, heading)
            # The shape only counts in a sentence that is about the question at all; the passage's own
            # number is no answer to "… thực hiện chỉ thị nào?" (it is what the question is about).
            if topical and asked is not None:
                shape = text.replace(passage.doc_number, " ") if passage.doc_number else text
                topical += bonus * _shape_strength(asked, fold(shape))
            scored.append(ScoredSentence(text, topical))
        return scored

    def _answer_sentences(self, question: str, terms: list[str],
                          hits: list[Hit]) -> tuple[Hit, list[ScoredSentence]]:
        """The passage that answers and its best sentence (with a close runner-up beside it).

        The sentence that answers is not always in the best-ranked chunk (a plan's heading chunk
        ranks first, its figures sit in the next one), so every chunk of the top document competes.
        """
        document = hits[0].passage.doc_number
        pool = [h for h in hits if h is hits[0] or (document and h.passage.doc_number == document)]
        best: tuple[float, Hit, list[ScoredSentence]] | None = None
        for rank, hit in enumerate(pool):
            scored = self._scored_sentences(question, terms, hit.passage)
            value = max(x.score for x in scored) * (1.0 - RANK_DISCOUNT * rank)
            if best is None or value > best[0]:
                best = (value, hit, scored)
        _, hit, scored = best
        ranked = sorted(scored, key=lambda x: -x.score)
        chosen = ranked[:1]
        # A second sentence only when it is nearly as relevant (a task and its deadline, say).
        if len(ranked) > 1 and ranked[1].score >= 0.8 * ranked[0].score > 0:
            chosen.append(ranked[1])
        return hit, sorted(chosen, key=scored.index)

    def _sentence_score(self, terms: list[str], sentence: str, heading: set[str] = frozenset()) -> float:
        present = _present_terms(sentence)
        score = sum(self.weights.idf(t) * (HEADING_TERM_WEIGHT if t in heading else 1.0)
                    for t in terms if t in present)
        score += sum(self.weights.idf(a) for a, b in zip(terms, terms[1:]) if f"{a}_{b}" in present)
        return score

    def _citations(self, question: str, terms: list[str], hits: list[Hit], first_quote: str) -> list[Citation]:
        """One citation per document, the answering passage first, quoting the answer's sentence."""
        citations: list[Citation] = []
        seen: set[str] = set()
        for hit in hits:
            p = hit.passage
            key = p.doc_number or p.id
            if key in seen:
                continue
            seen.add(key)
            quote = first_quote if not citations else max(
                self._scored_sentences(question, terms, p), key=lambda x: x.score).text
            citations.append(Citation.from_passage(p, quote=_shorten(quote), score=round(hit.score, 6)))
            if len(citations) == MAX_CITATIONS:
                break
        return citations


SPECIFIC_TERMS = 3   # topic words a question about a named document needs to be about one of its facts


def _date_terms(passage: Passage) -> set[str]:
    """Day, month and year of a passage's dates as terms ("2024-10-21" → 21, 10, 2024)."""
    terms: set[str] = set()
    for date in (passage.issued_date, passage.bulletin_date):
        if date:
            terms.update(part.lstrip("0") for part in date.split("-"))
    return terms


def _item_key(passage: Passage) -> tuple:
    """Passages of one bulletin item (or one document) share this key."""
    return (passage.source, passage.heading, passage.doc_number)


def _without_mentions(question: str) -> str:
    from retrieval.ingest.references import find_mention_spans

    for span in reversed(find_mention_spans(question)):
        question = question[:span.start] + " " + question[span.end:]
    return question.strip()


def _shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
