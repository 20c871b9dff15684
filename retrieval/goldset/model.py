"""Typed records of the gold set and of an evaluation run."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Why a judged question failed (several may apply at once).
WRONG_CITATION = "wrong citation"
MISSING_FACT = "missing fact"
SHOULD_HAVE_ABSTAINED = "should have abstained"
ABSTAINED_WRONGLY = "abstained wrongly"
ERROR = "error"          # the assistant could not be asked (HTTP error, malformed reply)
REASONS = (WRONG_CITATION, MISSING_FACT, SHOULD_HAVE_ABSTAINED, ABSTAINED_WRONGLY, ERROR)

DEFAULT_KIND = "general"
MULTI_TURN_KIND = "multiturn"


@dataclass(frozen=True)
class GoldQuestion:
    """One question to ask and what its answer must show (a single item, or one turn of a conversation).

    ``expected_docs`` are normalised document numbers (one of them must be among the top-3
    citations); ``must_contain`` strings must all appear in the answer; ``abstain`` says whether
    the assistant must decline. ``line`` is the 1-based line of the question in the YAML file.
    """

    question: str
    expected_docs: tuple[str, ...] = ()
    must_contain: tuple[str, ...] = ()
    abstain: bool = False
    source_quote: tuple[str, ...] = ()
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class GoldItem:
    """A gold item: one question, or a conversation (``multi_turn``) whose turns share one sender."""

    id: str
    kind: str
    turns: tuple[GoldQuestion, ...]
    multi_turn: bool = False
    note: str = ""
    feedback: dict[str, Any] | None = None   # provenance of an item exported from user feedback
    source: str = ""    # the page it was written from, relative to ../shared ("archive/langson/….txt")
    line: int = 0

    def unit_id(self, turn_index: int) -> str:
        """The id of one judged question: "g001" for a single item, "g050#2" for a conversation's 2nd turn."""
        return f"{self.id}#{turn_index + 1}" if self.multi_turn else self.id


@dataclass
class Reply:
    """What the assistant answered to one message, whatever the channel."""

    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    abstained: bool = False
    latency_ms: float = 0.0

    def cited_docs(self) -> list[str]:
        return [c.get("doc_number") or "" for c in self.citations]


@dataclass
class Verdict:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # must_contain strings not found
    found: int = 0                                     # must_contain strings found
    hit_at_1: bool | None = None                       # None when the question has no expected_docs
    hit_at_3: bool | None = None


@dataclass
class UnitResult:
    """One judged (or skipped) question of the run, as written to the JSON result."""

    unit_id: str
    item_id: str
    turn: int | None              # 1-based turn of a conversation, None for a single item
    kind: str
    question: str
    expected_docs: list[str]
    must_contain: list[str]
    expect_abstain: bool
    answer: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    abstained: bool = False
    latency_ms: float | None = None
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    found: int = 0
    hit_at_1: bool | None = None
    hit_at_3: bool | None = None
    skipped: bool = False
    detail: str = ""              # why it was skipped, or the error met when asking

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
