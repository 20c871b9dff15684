"""The `make test` gate on pages the system was not built on: the archive gold set's single-turn
items, asked in-process over an index of the sample weeks and every archive page, must pass at
least eval/gate.yaml's ``min_archive_pass_rate`` (set at what the held-out part honestly reaches)."""
from __future__ import annotations

import yaml

from conftest import REPO
from retrieval.goldset.archive import GOLD, measure
from retrieval.goldset.load import load_gold
from retrieval.goldset.split import DEV, HELDOUT


def test_archive_gold_items_pass_the_gate(archive_index):
    from retrieval.service import Retrieval

    gate = yaml.safe_load((REPO / "eval" / "gate.yaml").read_text(encoding="utf-8"))["min_archive_pass_rate"]
    assert 0 < gate <= 1
    report = measure(Retrieval(archive_index), load_gold(GOLD))
    passed = report[DEV]["passed"] + report[HELDOUT]["passed"]
    judged = report[DEV]["judged"] + report[HELDOUT]["judged"]
    assert judged >= 150
    assert passed / judged >= gate, f"{passed}/{judged}; dev failures: {report[DEV]['failures']}"
