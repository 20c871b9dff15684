"""The shipped fusion weights and abstention model: loadable, and carrying how they were chosen."""
from __future__ import annotations

import json

from retrieval.answer.abstain import MODEL_FILE, AbstainModel
from retrieval.answer.evidence import FEATURES
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


def test_abstention_model_loads_and_records_its_sources_and_cross_validation():
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    model = AbstainModel.load()
    assert model.features == tuple(data["features"]) and set(model.features) <= set(FEATURES)
    assert len(model.weights) == len(model.features) and 0 < model.threshold < 1
    chosen = data["chosen_by"]
    assert chosen["command"].startswith("python -m retrieval.answer.calibrate")
    assert list(model.features) in chosen["feature_sets"] and model.threshold in chosen["thresholds"]
    sources = data["fitted_on"]["sources"]
    assert sources["calibration"]["sha256"] and sources["gold"]["file"] == "eval/gold.yaml"
    if sources.get("archive"):
        assert sources["archive"]["split"] == "dev items only"
    assert data["fitted_on"]["positives"] > 0 and data["fitted_on"]["negatives"] > 0
    folds = data["cv"]["folds"]
    assert len(folds) >= 2 and all(set(f["chosen"]["features"]) <= set(FEATURES) for f in folds)
    summary = data["cv"]["summary"]
    for key in ("abstention_precision", "abstention_recall", "balanced_accuracy"):
        assert summary[key]["min"] <= summary[key]["mean"] <= summary[key]["max"]
    # Rewrites of the questions were part of the data, and each source is reported on its own.
    per_source = data["cv"]["per_source"]
    assert {"calibration", "gold", "all/no_diacritics", "all/other_province"} <= set(per_source)


def test_abstention_model_holds_figures_not_questions():
    text = MODEL_FILE.read_text(encoding="utf-8")
    assert '"text"' not in text and "?" not in text
