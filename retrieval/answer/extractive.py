"""Extractive answers: the sentences of the best passages that answer, then their citations.

Flow: a question naming a document ("Kế hoạch 143/KH-UBND nói gì?", "kế hoạch 143") goes to
that document; any other question goes through hybrid search. The best passage's evidence
decides whether to answer at all; the answer is its best sentence(s), never generated text.
"""
from __future__ import annotations

from dataclasses import dataclass

from retrieval.answer.abstain import AbstainModel
from retrieval.answer.evidence import Evidence, TermWeights
from retrieval.schema import Answer, Citation, Hit, Passage
from retrieval.search.searcher import SearchFilters, Searcher
from retrieval.text import fold, split_sentences, syllables

ABSTAIN_TEXT = ("Xin lỗi, tôi chưa tìm thấy chỉ đạo nào của UBND tỉnh trong dữ liệu hiện có trả lời "
                "câu hỏi này. Bạn có thể hỏi lại cụ thể hơn, ví dụ nêu tên văn bản, cơ quan hoặc lĩnh vực.")
MAX_CITATIONS = 3
MAX_QUOTE_CHARS = 300
CANDIDATES = 10
RELATIVE_SUPPORT = 0.6


@dataclass(frozen=True)
class ScoredSentence:
    text: str
    score: float


class Answerer:
    def __init__(self, searcher: Searcher, abstain: AbstainModel | None = None):
        self.searcher = searcher
        self.abstain = abstain or AbstainModel.load()
        index = searcher.index
        self.weights = TermWeights(index.store.tokens("fold"))
        # Folded syllables of each passage (heading included), for coverage checks.
        self._terms = [set(fold(s) for s in syllables(f"{p.heading} {p.text}")) for p in index.passages]

    def ask(self, question: str) -> Answer:
        return self.ask_many([question])[0]

    def ask_many(self, questions: list[str]) -> list[Answer]:
        answers = []
        for question in questions:
            doc = self.document_in(question)
            filters = SearchFilters(doc_number=doc) if doc else None
            hits = self.searcher.search(question, k=CANDIDATES, filters=filters)
            if doc:
                hits = sorted(hits, key=lambda h: h.passage.doc_number != doc)  # its own text first
            answers.append(self._answer(question, hits, named_document=doc is not None))
        return answers

    def document_in(self, question: str) -> str | None:
        """The indexed document a question names, if it names exactly one."""
        from retrieval.ingest.references import resolve_document_mention

        return resolve_document_mention(question, self.searcher.index.store.document_numbers())

    def topic_terms(self, question: str) -> list[str]:
        return self.weights.topic_terms(question)

    def evidence(self, terms: list[str], hit: Hit) -> Evidence:
        coverage, matched = self.weights.coverage(terms, self._terms[hit.row])
        return Evidence(coverage=coverage, dense=hit.signals.get("dense", 0.0), matched=matched)

    def _answer(self, question: str, hits: list[Hit], named_document: bool) -> Answer:
        terms = self.topic_terms(question)
        if not hits:
            return Answer(question, ABSTAIN_TEXT, True, [])
        top = self.evidence(terms, hits[0])
        if not named_document and not self.abstain.answers(top):
            return Answer(question, ABSTAIN_TEXT, True, [])
        # Cite only passages that carry a fair share of the best passage's evidence.
        supporting = [h for h in hits if self.evidence(terms, h).coverage >= RELATIVE_SUPPORT * top.coverage]
        best = self._best_sentences(terms, hits[0].passage)
        answer_text = " ".join(s.text for s in best)
        return Answer(question, answer_text, False, self._citations(terms, supporting))

    def _best_sentences(self, terms: list[str], passage: Passage, limit: int = 2) -> list[ScoredSentence]:
        sentences = split_sentences(passage.text) or [passage.text]
        scored = [ScoredSentence(s, self._sentence_score(terms, s)) for s in sentences]
        top = max(scored, key=lambda s: s.score)
        chosen = [top]
        # A second sentence only when it is nearly as relevant (a task and its deadline, say).
        runner_up = sorted((s for s in scored if s is not top), key=lambda s: -s.score)[:1]
        if runner_up and limit > 1 and runner_up[0].score >= 0.8 * top.score > 0:
            chosen.append(runner_up[0])
        order = {s.text: i for i, s in enumerate(scored)}
        return sorted(chosen, key=lambda s: order[s.text])

    def _sentence_score(self, terms: list[str], sentence: str) -> float:
        words = [fold(s) for s in syllables(sentence)]
        present = set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:])}
        score = sum(self.weights.idf(t) for t in terms if t in present)
        score += sum(self.weights.idf(a) for a, b in zip(terms, terms[1:]) if f"{a}_{b}" in present)
        return score

    def _citations(self, terms: list[str], hits: list[Hit]) -> list[Citation]:
        citations: list[Citation] = []
        seen: set[str] = set()
        for hit in hits:
            p = hit.passage
            key = p.doc_number or p.id
            if key in seen:
                continue
            seen.add(key)
            quote = self._best_sentences(terms, p, limit=1)[0].text
            citations.append(Citation(
                doc_number=p.doc_number, doc_type=p.doc_type, issued_date=p.issued_date, issuer=p.issuer,
                title=p.heading or p.title, bulletin=p.title, source=p.source,
                quote=_shorten(quote), score=round(hit.score, 6), passage_id=p.id))
            if len(citations) == MAX_CITATIONS:
                break
        return citations


def _shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
