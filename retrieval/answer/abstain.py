"""When to say "no directive answers this": a logistic model over the evidence features.

Its coefficients are fitted on labelled questions (``calibration.jsonl`` beside this file:
questions the sample bulletins answer, and questions they do not) by ``python -m
retrieval.answer.calibrate``, which writes ``abstain.json``. Nothing here is set by eye.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from retrieval.answer.evidence import Evidence

MODEL_FILE = Path(__file__).with_name("abstain.json")


@dataclass(frozen=True)
class AbstainModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    def probability(self, evidence: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.features()))
        return 1.0 / (1.0 + math.exp(-z))

    def answers(self, evidence: Evidence) -> bool:
        return self.probability(evidence) >= self.threshold

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "AbstainModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(data["weights"]), data["bias"], data.get("threshold", 0.5))
