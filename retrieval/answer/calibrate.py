"""Fit the abstention model on labelled questions: ``python -m retrieval.answer.calibrate``.

Positives are answerable questions whose top hit is one of the expected documents (the
evidence the model should trust); negatives are questions no indexed directive answers.
Answerable questions that retrieval gets wrong are left out: they would teach the model to
trust evidence that pointed at the wrong document. Writes ``abstain.json`` with the data and
the figures it was fitted on, so the threshold is auditable and re-fittable.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

from retrieval.answer.abstain import MODEL_FILE, AbstainModel
from retrieval.index.layout import default_index_dir

CALIBRATION_FILE = Path(__file__).with_name("calibration.jsonl")


def load_questions(path: Path = CALIBRATION_FILE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def features(service, questions: list[dict]) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    from retrieval.answer.extractive import Answerer

    # Only the evidence features are needed, not a fitted model (there may be none yet).
    answerer = Answerer(service.searcher, abstain=AbstainModel(weights=(0.0, 0.0), bias=0.0))
    rows, labels, kept = [], [], []
    for q in questions:
        hits = service.searcher.search(q["text"], k=3)
        if not hits:
            continue
        if not q.get("abstain"):
            expected = set(q.get("expected_docs") or [])
            if expected and hits[0].passage.doc_number not in expected:
                continue
        evidence = answerer.evidence(answerer.topic_terms(q["text"]), hits[0])
        rows.append(evidence.features())
        labels.append(0 if q.get("abstain") else 1)
        kept.append(q)
    return np.array(rows), np.array(labels), kept


def fit(x: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = LogisticRegression(class_weight="balanced", C=10.0, max_iter=1000)
    predicted = cross_val_predict(model, x, y, cv=5)
    model.fit(x, y)
    return {
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "threshold": 0.5,
        "features": ["coverage", "dense"],
        "cv_accuracy": round(float((predicted == y).mean()), 4),
        "cv_false_answer_rate": round(float(((predicted == 1) & (y == 0)).sum() / max((y == 0).sum(), 1)), 4),
        "cv_false_abstain_rate": round(float(((predicted == 0) & (y == 1)).sum() / max((y == 1).sum(), 1)), 4),
    }


def main(argv: list[str] | None = None) -> int:
    from retrieval.service import Retrieval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=default_index_dir())
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    service = Retrieval(args.index)
    questions = load_questions()
    x, y, kept = features(service, questions)
    result = fit(x, y)
    result.update({
        "fitted_on": {"questions": str(CALIBRATION_FILE.name), "positives": int(y.sum()),
                      "negatives": int((y == 0).sum()), "skipped_wrong_retrieval": len(questions) - len(kept),
                      "model": service.index.manifest.model,
                      "inputs": [Path(i.path).name for i in service.index.manifest.inputs]},
        "fitted_at": dt.date.today().isoformat(),
    })
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
