"""The `make test` gate: single-turn gold items asked in-process must pass at least eval/gate.yaml's rate."""
from __future__ import annotations

import yaml

from conftest import REPO
from retrieval.goldset.evaluate import run_gold
from retrieval.goldset.load import load_gold
from retrieval.goldset.metrics import summarize
from retrieval.goldset.runners import InProcessRunner

GATE = REPO / "eval" / "gate.yaml"


def gate_rate() -> float:
    rate = yaml.safe_load(GATE.read_text(encoding="utf-8"))["min_pass_rate"]
    assert 0 < rate <= 1
    return rate


def test_single_turn_gold_items_pass_the_gate(retrieval_service):
    items = [item for item in load_gold(REPO / "eval" / "gold.yaml") if not item.multi_turn]
    result = run_gold(items, InProcessRunner(retrieval_service), gold_name="eval/gold.yaml")
    summary = summarize(result.units)
    failures = [f"{u.unit_id}: {', '.join(u.reasons)}" for u in result.units if not u.passed]
    assert summary["judged"] == len(items) >= 80
    assert summary["pass_rate"] >= gate_rate(), "\n".join(failures)
