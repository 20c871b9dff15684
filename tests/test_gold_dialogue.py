"""The multi-turn part of the gold set, through the real dialogue (Rasa + action server) over REST.

Gate: eval/gate.yaml's ``min_dialogue_pass_rate`` (judged per turn, like `trolyao eval --rest`)."""
from __future__ import annotations

import yaml

from conftest import REPO
from retrieval.goldset.evaluate import run_gold
from retrieval.goldset.load import load_gold
from retrieval.goldset.metrics import summarize
from retrieval.goldset.runners import RestRunner


def test_gold_conversations_pass_the_dialogue_gate(dialogue):
    gate = yaml.safe_load((REPO / "eval" / "gate.yaml").read_text(encoding="utf-8"))["min_dialogue_pass_rate"]
    items = [item for item in load_gold(REPO / "eval" / "gold.yaml") if item.multi_turn]
    assert len(items) >= 8
    result = run_gold(items, RestRunner(f"{dialogue.rasa_url}/webhooks/rest/webhook"), gold_name="eval/gold.yaml")
    summary = summarize(result.units)
    failures = [f"{u.unit_id}: {', '.join(u.reasons)} — {u.answer[:120]!r}" for u in result.units if not u.passed]
    print(f"dialogue gold: {summary['passed']}/{summary['judged']} turns")
    assert summary["pass_rate"] >= gate, "\n".join(failures)
