"""When to say "no directive answers this": a logistic model over the evidence features.

Its coefficients, the features it reads and its threshold are chosen by cross-validation over
labelled questions from several sources (``calibration.jsonl`` beside this file, the sample gold
set, the archive gold set's dev items, and rewrites of them typed without diacritics, in chat
shorthand, with a typo or moved to another province) by ``python -m retrieval.answer.calibrate``,
which writes ``abstain.json`` with the data and the figures. Nothing here is set by eye.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from retrieval.answer.evidence import FEATURES, Evidence

MODEL_FILE = Path(__file__).with_name("abstain.json")


@dataclass(frozen=True)
class AbstainModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    features: tuple[str, ...] = ("coverage", "dense")

    def __post_init__(self):
        unknown = set(self.features) - set(FEATURES)
        if unknown or len(self.features) != len(self.weights):
            raise ValueError(f"abstention model: features {self.features} do not fit weights {self.weights}")

    def probability(self, evidence: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.features(self.features)))
        return 1.0 / (1.0 + math.exp(-z))

    def answers(self, evidence: Evidence) -> bool:
        return self.probability(evidence) >= self.threshold

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "AbstainModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(data["weights"]), data["bias"], data.get("threshold", 0.5),
                   tuple(data.get("features", ("coverage", "dense"))))
