"""The shipped fusion weights and abstention model: loadable, and carrying how they were chosen."""
from __future__ import annotations

import json

from retrieval.search.searcher import ALL_METHODS, WEIGHTS, WEIGHTS_FILE, load_weights


def test_fusion_weights_load_and_record_their_cross_validation():
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert load_weights() == WEIGHTS == data["weights"]
    for form in ("accented", "no_diacritics"):
        assert set(WEIGHTS[form]) == set(ALL_METHODS) and any(WEIGHTS[form].values())
    chosen = data["chosen_by"]
    assert chosen["command"].startswith("python -m retrieval.search.tune")
    assert "ViCoV19QA" in chosen["data"] and chosen["queries"] >= 100 and chosen["folds"] >= 2
    run = data["cv"][chosen["way"]]
    assert len(run["folds"]) == chosen["folds"]
    for fold in run["folds"]:   # each fold's weights were chosen without its test queries
        assert fold["test_queries"] < chosen["queries"]
        assert 0 <= fold["accented"]["R@5"] <= 1
    spread = run["summary"]["accented/R@5"]
    assert spread["min"] <= spread["mean"] <= spread["max"] and spread["std"] >= 0
    assert data["all_dev"]["accented"]["R@5"] > 0


def test_fusion_weights_hold_no_benchmark_text():
    """ViCoV19QA is for research use only: its questions and answers never ship inside the project."""
    text = WEIGHTS_FILE.read_text(encoding="utf-8")
    assert len(text) < 20_000 and '"text"' not in text and '"relevant"' not in text
