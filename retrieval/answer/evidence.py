"""How well a passage covers a question: the features the abstention model reads.

Coverage is IDF-weighted: a question shares "của", "tỉnh", "năm" with almost every passage,
so only the rarer terms ("sốt xuất huyết", "đấu giá") count as evidence. Terms are folded
syllables, so it works the same whether the question was typed with diacritics or not.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from retrieval.text import fold, syllables

# Question scaffolding that carries no topic: never evidence of an answer. Words that ask for
# the kind of answer (a deadline: "hạn", "hạn chót"; an amount: "mức") are scaffolding too:
# the passage holding the answer says "trước ngày 10/6/2024", not "hạn".
QUESTION_WORDS = frozenset(fold(w) for w in """
ai gì nào đâu sao bao nhiêu giờ khi thế mấy hỏi cho biết được là có không ko k hãy vậy nhé ạ
những các của và với về thì mà này đó kia nói như tôi mình bạn em anh chị muốn cần xin
hạn chót thời lúc
""".split())


@dataclass(frozen=True)
class Evidence:
    coverage: float      # IDF-weighted share of the question's topic terms found in the passage
    dense: float         # cosine of question and passage
    matched: int         # topic terms found

    def features(self) -> list[float]:
        return [self.coverage, self.dense]


class TermWeights:
    """Inverse document frequencies of folded syllables over the indexed passages."""

    def __init__(self, documents: Iterable[Iterable[str]]):
        df: Counter[str] = Counter()
        n = 0
        for tokens in documents:
            n += 1
            df.update(set(tokens))
        self.n = max(n, 1)
        self.df = df

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n - self.df.get(term, 0) + 0.5) / (self.df.get(term, 0) + 0.5))

    def topic_terms(self, text: str) -> list[str]:
        return [t for t in dict.fromkeys(fold(s) for s in syllables(text)) if t not in QUESTION_WORDS]

    def coverage(self, question_terms: list[str], passage_terms: set[str]) -> tuple[float, int]:
        if not question_terms:
            return 0.0, 0
        total = sum(self.idf(t) for t in question_terms)
        found = [t for t in question_terms if t in passage_terms]
        return (sum(self.idf(t) for t in found) / total if total else 0.0), len(found)
