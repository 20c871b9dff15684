"""One evaluation run: ask every gold question through a runner, judge it, keep the results."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from retrieval.goldset.judge import judge
from retrieval.goldset.model import ERROR, GoldItem, UnitResult
from retrieval.goldset.runners import Runner, RunnerError

RESULT_VERSION = 1
SKIP_MULTI_TURN = "multi-turn item: the in-process runner keeps no dialogue state; run with --rest URL"
# Fields of a citation kept in the result (the rest, e.g. the bulletin title, is in the index).
CITATION_FIELDS = ("doc_number", "doc_type", "issued_date", "issuer", "quote")


@dataclass
class RunResult:
    gold: str
    runner: str
    units: list[UnitResult]
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self, summary: dict[str, Any], baseline: dict[str, Any] | None = None) -> dict[str, Any]:
        data = {"version": RESULT_VERSION, "gold": self.gold, "runner": self.runner, "created_at": self.created_at,
                "summary": summary, "units": [u.to_dict() for u in self.units]}
        if baseline is not None:
            data["baseline"] = baseline
        return data


def unit_count(items: Iterable[GoldItem]) -> int:
    return sum(len(item.turns) for item in items)


def run_gold(items: list[GoldItem], runner: Runner, gold_name: str = "",
             progress: Callable[[int], None] | None = None) -> RunResult:
    """Ask every question; a conversation's turns share one fresh sender id, in order.

    ``progress(n)`` is called after each n questions asked or skipped. Errors of one question
    (HTTP status, malformed reply) fail that question; an unreachable assistant stops the run.
    """
    run_id = uuid.uuid4().hex[:8]
    units: list[UnitResult] = []
    for item in items:
        sender = f"eval-{run_id}-{item.id}"
        for index, gold in enumerate(item.turns):
            unit = UnitResult(unit_id=item.unit_id(index), item_id=item.id,
                              turn=index + 1 if item.multi_turn else None, kind=item.kind,
                              question=gold.question, expected_docs=list(gold.expected_docs),
                              must_contain=list(gold.must_contain), expect_abstain=gold.abstain)
            units.append(unit)
            if progress:
                progress(1)
            if item.multi_turn and not runner.dialogue:
                unit.skipped, unit.detail = True, SKIP_MULTI_TURN
                continue
            try:
                reply = runner.ask(sender, gold.question)
            except RunnerError as exc:
                unit.reasons, unit.detail = [ERROR], str(exc)
                continue
            verdict = judge(gold, reply)
            unit.answer = reply.text
            unit.citations = [{k: c.get(k) for k in CITATION_FIELDS} for c in reply.citations]
            unit.abstained = reply.abstained
            unit.latency_ms = round(reply.latency_ms, 1)
            unit.passed, unit.reasons, unit.missing = verdict.passed, verdict.reasons, verdict.missing
            unit.found, unit.hit_at_1, unit.hit_at_3 = verdict.found, verdict.hit_at_1, verdict.hit_at_3
    return RunResult(gold=gold_name, runner=runner.name, units=units)
