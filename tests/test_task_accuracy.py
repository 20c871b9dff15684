"""Task extraction against the labelled set: floors below the targets (lead P ≥ 0.95, R ≥ 0.90,
deadline ≥ 0.90 in `make bench`), so CI catches regressions without flaking."""
from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.tasks.accuracy import load_gold, task_accuracy

GOLD = Path(__file__).parent / "data" / "tasks_gold.yaml"


@pytest.fixture(scope="module")
def accuracy(hashing_index):
    """Over the fast test index: task extraction does not depend on the embedding model."""
    from retrieval.tasks.store import load_registry

    return task_accuracy(load_registry(hashing_index).tasks, load_gold(GOLD))


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


@pytest.fixture(scope="module")
def beyond_the_samples():
    """Accuracy on the archive's real pages and on full documents of our own, per split."""
    from conftest import SHARED
    from retrieval.goldset.archive import task_figures

    return task_figures(SHARED)


def test_labelled_sets_beyond_the_samples_are_large(beyond_the_samples):
    total = sum(beyond_the_samples[f"both/{part}"]["gold_sentences"] for part in ("dev", "heldout"))
    assert total >= 80 and beyond_the_samples["both/heldout"]["gold_sentences"] >= 30


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_extraction_holds_beyond_the_samples(beyond_the_samples, part):
    # Floors a little under what was measured (held-out: lead 0.94/0.89, partners 0.79/0.93, deadline 0.85):
    # regressions fail, the held-out part is never tuned on.
    f = beyond_the_samples[f"both/{part}"]
    assert f["lead_precision"] >= 0.90 and f["lead_recall"] >= 0.85, f
    assert f["partners_precision"] >= 0.75 and f["partners_recall"] >= 0.75, f
    assert f["deadline_exact"] >= 0.80, f
