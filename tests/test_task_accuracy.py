"""Task extraction against the labelled set: floors below the targets (lead P ≥ 0.95, R ≥ 0.90,
deadline ≥ 0.90 in `make bench`), so CI catches regressions without flaking."""
from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.tasks.accuracy import load_gold, task_accuracy

GOLD = Path(__file__).parent / "data" / "tasks_gold.yaml"


@pytest.fixture(scope="module")
def accuracy(sample_index):
    from retrieval.tasks.store import load_registry

    return task_accuracy(load_registry(sample_index).tasks, load_gold(GOLD))


def test_labelled_set_covers_both_bulletins():
    gold = load_gold(GOLD)
    assert len(gold) >= 40
    assert {g["bulletin"] for g in gold} == {"langson-chi-dao-dieu-hanh-2022-06-20.txt",
                                            "langson-chi-dao-dieu-hanh-2024-05-27.txt"}


def test_lead_agency(accuracy):
    assert accuracy["lead_precision"] >= 0.92 and accuracy["lead_recall"] >= 0.88


def test_partners(accuracy):
    assert accuracy["partners_recall"] >= 0.85 and accuracy["partners_precision"] >= 0.85


def test_deadlines(accuracy):
    assert accuracy["deadline_exact"] >= 0.88
