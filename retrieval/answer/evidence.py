"""How well a passage covers a question: the features the abstention model reads.

Coverage is IDF-weighted: a question shares "của", "tỉnh", "năm" with almost every passage,
so only the rarer terms ("sốt xuất huyết", "đấu giá") count as evidence. Terms are folded
syllables, so it works the same whether the question was typed with diacritics or not.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from retrieval.text import fold, folded_syllables
from retrieval.vocabulary import vocabulary

# Question scaffolding that carries no topic ("ai", "bao nhiêu", "hạn chót"): never evidence of
# an answer (vocabulary.yaml: question_words says why).
QUESTION_WORDS = frozenset(fold(w) for w in vocabulary().question_words)


@dataclass(frozen=True)
class Evidence:
    coverage: float      # IDF-weighted share of the question's topic terms found in the passage
    dense: float         # cosine of question and passage
    matched: int         # topic terms found
    # Candidates for the abstention model (abstain.json names the ones it reads). "The item" is
    # the best passage with the other candidates of its item (a meeting's facts and a plan's
    # figures run over several chunks), its bulletin's title and its dates.
    item_coverage: float = 0.0   # coverage by the item
    near_coverage: float = 0.0   # the same, also crediting a term typed without its final letter
                                 # ("hoạc" for "hoạch") and an acronym of the item's words ("attgt")
    unknown: float = 0.0         # IDF share of the question's terms no indexed passage holds
                                 # (a typo or shorthand the item did not explain, or a topic never indexed)
    bigrams: float = 0.0         # IDF-weighted share of the question's adjacent topic-term pairs found
                                 # adjacent in the item ("bí thư tỉnh ủy" is not "Ban Bí thư … Tỉnh ủy")
    other_place: float = 0.0     # 1 when the question names another province the item's page does not

    def features(self, names: tuple[str, ...] = ("coverage", "dense")) -> list[float]:
        return [float(getattr(self, name)) for name in names]


class DocumentFrequency(Protocol):
    def get(self, term: str, default: int = 0) -> int: ...


FEATURES = ("coverage", "dense", "item_coverage", "near_coverage", "unknown", "bigrams", "other_place")


class TermWeights:
    """Inverse document frequencies of folded syllables over the indexed passages."""

    def __init__(self, df: DocumentFrequency, n: int):
        """``df``: passages holding a term (the index's folded BM25 field: ``document_frequencies``)."""
        self.n = max(n, 1)
        self.df = df
        self._idf: dict[str, float] = {}   # one answer asks for the same terms' weights hundreds of times

    @classmethod
    def of_documents(cls, documents: Iterable[Iterable[str]]) -> "TermWeights":
        """Counted from each document's terms."""
        df: Counter[str] = Counter()
        n = 0
        for tokens in documents:
            n += 1
            df.update(set(tokens))
        return cls(df, n)

    def idf(self, term: str) -> float:
        value = self._idf.get(term)
        if value is None:
            if len(self._idf) > 1 << 16:   # bounded: questions bring typos and names without end
                self._idf.clear()
            df = self.df.get(term, 0)
            value = self._idf[term] = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
        return value

    def topic_terms(self, text: str) -> list[str]:
        return [t for t in dict.fromkeys(folded_syllables(text)) if t not in QUESTION_WORDS]

    def coverage(self, question_terms: list[str], passage_terms: set[str]) -> tuple[float, int]:
        if not question_terms:
            return 0.0, 0
        total = sum(self.idf(t) for t in question_terms)
        found = [t for t in question_terms if t in passage_terms]
        return (sum(self.idf(t) for t in found) / total if total else 0.0), len(found)

    def near_coverage(self, question_terms: list[str], passage_terms: set[str], passage_words: list[str]) -> float:
        """Coverage that also credits a word of 4+ letters typed without its final letter ("hoac",
        "chin" for "hoach", "chinh") and a term no passage holds that is the initials of 3+
        consecutive words of the passage ("attgt": an toàn trật tự giao thông)."""
        if not question_terms:
            return 0.0
        total = sum(self.idf(t) for t in question_terms)
        stems = {p[:-1] for p in passage_terms if len(p) >= 5}
        unknown = [t for t in question_terms if not self.df.get(t) and t.isalpha() and 3 <= len(t) <= 8]
        # The initials of consecutive words are a substring of the words' initials.
        initials = "".join(w[0] for w in passage_words) if unknown else ""
        found = [t for t in question_terms
                 if t in passage_terms or t in stems or (t in unknown and t in initials)]
        return sum(self.idf(t) for t in found) / total if total else 0.0

    def unknown_share(self, question_terms: list[str]) -> float:
        """IDF share of the terms no indexed passage holds."""
        total = sum(self.idf(t) for t in question_terms)
        return sum(self.idf(t) for t in question_terms if not self.df.get(t)) / total if total else 0.0

    def bigram_coverage(self, question: str, passage_text: str = "", words: Sequence[str] | None = None) -> float:
        """IDF-weighted share of the question's adjacent topic-term pairs that are adjacent in the passage
        (``words``: the passage's folded syllables, when the caller has them already)."""
        asked = folded_syllables(question)
        pairs = [(a, b) for a, b in zip(asked, asked[1:]) if a not in QUESTION_WORDS and b not in QUESTION_WORDS]
        if not pairs:
            return 0.0
        text = folded_syllables(passage_text) if words is None else words
        present = set(zip(text, text[1:]))
        total = sum(self.idf(a) + self.idf(b) for a, b in pairs)
        found = sum(self.idf(a) + self.idf(b) for a, b in pairs if (a, b) in present)
        return found / total if total else 0.0
