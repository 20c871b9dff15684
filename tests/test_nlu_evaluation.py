"""The NLU evaluation (nlu/evaluation.py, run in .venv-rasa as `make bench` runs it): its cross-validation
folds are fixed by the seed, every example is tested once, and the held-out figures split by typing.

A small slice of data/nlu.yml keeps it to seconds of training; the figures themselves are `make bench`'s.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from nlu.examples import chat_typed, read_examples

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ("greet", "thanks", "forget_me")
PER_INTENT_TRAIN, PER_INTENT_HELD = 12, 4

pytestmark = pytest.mark.stack   # trains Rasa models in a child process


def write_nlu(path: Path, examples) -> Path:
    blocks = [{"intent": intent, "examples": "".join(f"- {e.text}\n" for e in examples if e.intent == intent)}
              for intent in INTENTS]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("nlu-eval")
    by_intent = {i: [e for e in read_examples(ROOT / "data/nlu.yml") if e.intent == i] for i in INTENTS}
    train = [e for i in INTENTS for e in by_intent[i][:PER_INTENT_TRAIN]]
    held = [e for i in INTENTS for e in by_intent[i][PER_INTENT_TRAIN:PER_INTENT_TRAIN + PER_INTENT_HELD]]
    return write_nlu(out / "train.yml", train), write_nlu(out / "held.yml", held), held


def evaluate(nlu: Path, *args: str) -> dict:
    result = subprocess.run([str(ROOT / ".venv-rasa/bin/python"), "-m", "nlu.evaluation", "--nlu", str(nlu),
                             "--folds", "3", "--json", "-", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_same_seed_gives_the_same_folds_and_figures_another_seed_other_folds(files):
    train, held, _ = files
    first = evaluate(train, "--seed", "3", "--heldout", str(held))["cross_validation"]
    again = evaluate(train, "--seed", "3", "--heldout", "none")["cross_validation"]
    other = evaluate(train, "--seed", "4", "--heldout", "none")["cross_validation"]
    assert first["folds_digest"] == again["folds_digest"] != other["folds_digest"]
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in again.items() if k != "seconds"}
    # every example is in exactly one fold's test part
    assert sum(f["support"] for f in first["intents"]["per_intent"].values()) == len(INTENTS) * PER_INTENT_TRAIN
    assert first["intents"]["n"] == len(INTENTS) * PER_INTENT_TRAIN
    assert len(first["weakest_intents"]) == len(INTENTS)


def test_held_out_figures_overall_and_by_typing(files):
    train, held, held_examples = files
    figures = evaluate(train, "--folds", "0", "--heldout", str(held))
    assert "cross_validation" not in figures
    heldout = figures["heldout"]
    typed = sum(chat_typed(e.text) for e in held_examples)
    assert heldout["overall"]["n"] == len(held_examples)
    assert (heldout["chat_typed"]["n"], heldout["accented"]["n"]) == (typed, len(held_examples) - typed)
    assert 0.0 <= heldout["overall"]["accuracy"] <= 1.0
    assert set(heldout["overall"]["per_intent"]) <= set(INTENTS)
