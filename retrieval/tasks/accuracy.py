"""Accuracy of task extraction against the labelled set (tests/data/tasks_gold.yaml).

Each labelled sentence is matched to the extracted task whose quote overlaps it most (same
bulletin); extracted tasks matching no labelled sentence count against precision.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from retrieval.schema import Task
from retrieval.text import fold, syllables

MIN_OVERLAP = 0.6   # share of the shorter quote's words the two quotes must share


def load_gold(path: Path) -> list[dict[str, Any]]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _words(text: str) -> list[str]:
    return [fold(s) for s in syllables(text)]


def _overlap(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    shorter, longer = (wa, set(wb)) if len(wa) <= len(wb) else (wb, set(wa))
    return sum(w in longer for w in shorter) / len(shorter)


def match(extracted: list[Task], gold: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Task | None]]:
    """Pair every labelled sentence with its best-overlapping extracted task (or None)."""
    pairs = []
    for item in gold:
        candidates = [t for t in extracted if Path(t.source).name == item["bulletin"]]
        scored = [(_overlap(item["quote"], t.quote), t) for t in candidates]
        best = max(scored, key=lambda x: x[0], default=(0.0, None))
        pairs.append((item, best[1] if best[0] >= MIN_OVERLAP else None))
    return pairs


def task_accuracy(extracted: list[Task], gold: list[dict[str, Any]]) -> dict[str, float]:
    pairs = match(extracted, gold)
    matched_ids = {id(t) for _, t in pairs if t is not None}
    unmatched = [t for t in extracted if id(t) not in matched_ids and Path(t.source).name in
                 {g["bulletin"] for g in gold}]
    lead_right = sum(1 for g, t in pairs if t is not None and g.get("lead") and t.lead == g["lead"])
    leads_given = sum(1 for _, t in pairs if t is not None and t.lead) + sum(1 for t in unmatched if t.lead)
    leads_gold = sum(1 for g in gold if g.get("lead"))
    partner_hits = partner_given = partner_gold = 0
    for g, t in pairs:
        want, got = set(g.get("partners") or []), set(t.partners) if t else set()
        partner_hits += len(want & got)
        partner_given += len(got)
        partner_gold += len(want)
    partner_given += sum(len(t.partners) for t in unmatched)
    deadline_right = sum(1 for g, t in pairs if t is not None and t.deadline_date == g.get("deadline_date")
                         and bool(t.deadline) == bool(g.get("deadline")))
    with_deadline = [(g, t) for g, t in pairs if g.get("deadline")]
    return {
        "gold_sentences": len(gold),
        "extracted_tasks": len(extracted),
        "matched": len(matched_ids),
        "lead_precision": round(lead_right / leads_given, 4) if leads_given else 0.0,
        "lead_recall": round(lead_right / leads_gold, 4) if leads_gold else 0.0,
        "partners_precision": round(partner_hits / partner_given, 4) if partner_given else 0.0,
        "partners_recall": round(partner_hits / partner_gold, 4) if partner_gold else 0.0,
        "deadline_exact": round(deadline_right / len(gold), 4) if gold else 0.0,
        "deadline_exact_where_given": round(
            sum(1 for g, t in with_deadline if t is not None and t.deadline_date == g.get("deadline_date"))
            / len(with_deadline), 4) if with_deadline else 0.0,
    }
