"""Summary figures of a run, and the difference with an earlier run (the baseline)."""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from retrieval.errors import InputError
from retrieval.goldset.model import UnitResult


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def summarize(units: list[UnitResult]) -> dict[str, Any]:
    """Pass rates (overall, per kind, per conversation), citation hits, recall of facts, abstention P/R, latency.

    Rates count judged questions: a conversation's turns count one each; skipped questions do not count.
    Abstention precision = share of the assistant's abstentions that the gold set asked for;
    recall = share of the gold set's abstain: true questions the assistant declined.
    """
    judged = [u for u in units if not u.skipped]
    per_kind: dict[str, dict[str, Any]] = defaultdict(lambda: {"judged": 0, "passed": 0, "skipped": 0})
    for unit in units:
        entry = per_kind[unit.kind]
        if unit.skipped:
            entry["skipped"] += 1
        else:
            entry["judged"] += 1
            entry["passed"] += unit.passed
    for entry in per_kind.values():
        entry["pass_rate"] = _rate(entry["passed"], entry["judged"])
    with_docs = [u for u in judged if u.hit_at_3 is not None]
    needles = sum(len(u.must_contain) for u in judged if not u.expect_abstain)
    found = sum(u.found for u in judged if not u.expect_abstain)
    abstained = [u for u in judged if u.abstained]
    should = [u for u in judged if u.expect_abstain]
    conversations: dict[str, list[UnitResult]] = defaultdict(list)
    for unit in judged:
        if unit.turn is not None:
            conversations[unit.item_id].append(unit)
    latencies = [u.latency_ms for u in judged if u.latency_ms is not None]
    reasons: dict[str, int] = defaultdict(int)
    for unit in judged:
        for reason in unit.reasons:
            reasons[reason] += 1
    return {
        "questions": len(units),
        "judged": len(judged),
        "skipped": len(units) - len(judged),
        "passed": sum(u.passed for u in judged),
        "pass_rate": _rate(sum(u.passed for u in judged), len(judged)),
        "per_kind": {kind: per_kind[kind] for kind in sorted(per_kind)},
        "citation_hit_at_1": _rate(sum(bool(u.hit_at_1) for u in with_docs), len(with_docs)),
        "citation_hit_at_3": _rate(sum(bool(u.hit_at_3) for u in with_docs), len(with_docs)),
        "with_expected_docs": len(with_docs),
        "must_contain_recall": _rate(found, needles),
        "must_contain_strings": needles,
        "abstention_precision": _rate(sum(u.expect_abstain for u in abstained), len(abstained)),
        "abstention_recall": _rate(sum(u.abstained for u in should), len(should)),
        "abstained": len(abstained),
        "should_abstain": len(should),
        "conversations": len(conversations),
        "conversations_passed": sum(all(u.passed for u in turns) for turns in conversations.values()),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "failure_reasons": dict(sorted(reasons.items())),
    }


def load_result(path: Path) -> dict[str, Any]:
    """An earlier ``trolyao eval --json`` result."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON result of trolyao eval ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("units"), list) or \
            not all(isinstance(u, dict) and "unit_id" in u and "passed" in u for u in data["units"]):
        raise InputError(f"{path}: not a JSON result of trolyao eval (no 'units' with unit_id and passed)")
    return data


def compare(baseline: dict[str, Any], units: list[UnitResult]) -> dict[str, list[str]]:
    """Question ids that regressed (passed before, fail now) or improved; new and gone ids.

    Questions skipped on either side are not compared.
    """
    before = {u["unit_id"]: u for u in baseline["units"]}
    now = {u.unit_id: u for u in units}
    diff: dict[str, list[str]] = {"regressed": [], "improved": [], "new": [], "gone": []}
    for unit_id, unit in now.items():
        old = before.get(unit_id)
        if old is None:
            diff["new"].append(unit_id)
        elif unit.skipped or old.get("skipped"):
            continue
        elif old["passed"] and not unit.passed:
            diff["regressed"].append(unit_id)
        elif not old["passed"] and unit.passed:
            diff["improved"].append(unit_id)
    diff["gone"] = [unit_id for unit_id in before if unit_id not in now]
    return diff
