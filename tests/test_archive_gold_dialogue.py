"""The archive gold set's conversations (follow-ups such as "Kế hoạch đó do ai chủ trì?" on pages the
system was not built on), through the real dialogue over an index of the sample weeks and the archive.

Gate: eval/gate.yaml's ``min_archive_dialogue_pass_rate``, judged per turn; the figures per split
are printed (the held-out part is measured, never read for tuning)."""
from __future__ import annotations

import yaml

from conftest import REPO
from retrieval.goldset.archive import GOLD, items_by_split
from retrieval.goldset.evaluate import run_gold
from retrieval.goldset.load import load_gold
from retrieval.goldset.metrics import summarize
from retrieval.goldset.runners import RestRunner
from retrieval.goldset.split import DEV, HELDOUT


def test_archive_conversations_pass_the_dialogue_gate(archive_dialogue):
    gate = yaml.safe_load((REPO / "eval" / "gate.yaml").read_text(encoding="utf-8"))["min_archive_dialogue_pass_rate"]
    conversations = [item for item in load_gold(GOLD) if item.multi_turn]
    assert len(conversations) >= 10
    passed = judged = 0
    for part, items in items_by_split(conversations).items():
        summary = summarize(run_gold(items, RestRunner(archive_dialogue), gold_name=str(GOLD)).units)
        print(f"archive dialogue {part}: {summary['passed']}/{summary['judged']} turns")
        passed, judged = passed + summary["passed"], judged + summary["judged"]
        assert part in (DEV, HELDOUT)
    assert passed / judged >= gate
