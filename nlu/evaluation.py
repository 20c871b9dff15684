"""Intent and entity figures of the NLU pipeline: seeded stratified k-fold CV and the held-out set.

Run inside .venv-rasa (it trains with Rasa): ``python -m nlu.evaluation --json OUT``; ``make bench``
calls it through ``bot.bench``. Rasa's own ``rasa test nlu --cross-validation`` draws new folds each
run (an unseeded StratifiedKFold), so two runs of the same pipeline differed by a point: here the
folds are fixed by a seed, so a change to the data or the pipeline is measured on the same splits.

- Cross-validation: each fold's training part is written to a YAML file and trained with
  ``rasa.model_training.train_nlu`` (config.yml: the pipeline as deployed); the fold's test part is
  parsed by the trained model and scored with Rasa's own evaluation (intents: the classifier's top
  intent, the FallbackClassifier undone as ``rasa test`` does; entities: token-level F1).
- Held-out: a model trained on all of data/nlu.yml parses eval/nlu_heldout.yml, which is never
  trained or tuned on. Accuracy and weighted F1 overall, and separately on the messages typed
  without diacritics or with chat shorthand. Its misclassified messages are deliberately not
  reported: looking at them would turn the set into tuning data.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nlu.examples import chat_typed

ROOT = Path(__file__).resolve().parents[1]
AVERAGES = ("micro avg", "macro avg", "weighted avg", "accuracy")


@dataclass
class IntentScores:
    n: int
    accuracy: float | None               # None when no message was scored
    intent_f1: float | None              # weighted average over intents
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)   # f1, precision, recall, support


@dataclass
class CrossValidation:
    folds: int
    seed: int
    intents: IntentScores
    entity_f1: float | None
    weakest_intents: dict[str, float]
    folds_digest: str                     # of the folds' test texts: equal digests, equal splits
    errors: list[dict[str, Any]]          # misclassified training examples (text, intent, predicted)
    seconds: float


@dataclass
class HeldOut:
    path: str
    overall: IntentScores
    chat_typed: IntentScores              # no diacritics or chat shorthand
    accented: IntentScores                # the rest
    seconds: float


def _scores(targets: list[str], predictions: list[str]) -> IntentScores:
    from sklearn.metrics import accuracy_score, classification_report

    if not targets:
        return IntentScores(n=0, accuracy=None, intent_f1=None)
    report = classification_report(targets, predictions, output_dict=True, zero_division=0)
    per_intent = {name: {"f1": round(r["f1-score"], 3), "precision": round(r["precision"], 3),
                         "recall": round(r["recall"], 3), "support": int(r["support"])}
                  for name, r in report.items() if name not in AVERAGES and r["support"]}
    return IntentScores(n=len(targets), accuracy=round(accuracy_score(targets, predictions), 3),
                        intent_f1=round(report["weighted avg"]["f1-score"], 3), per_intent=per_intent)


def weakest(scores: IntentScores, count: int = 5) -> dict[str, float]:
    ranked = sorted(scores.per_intent.items(), key=lambda item: (item[1]["f1"], item[0]))
    return {name: figures["f1"] for name, figures in ranked[:count]}


def _train(config: Path, training_file: Path, out: Path) -> Any:
    """A model trained on one NLU file, loaded: its MessageProcessor."""
    import rasa.model_training
    from rasa.core.agent import Agent

    with contextlib.redirect_stdout(sys.stderr):   # Rasa prints its progress on stdout
        model = rasa.model_training.train_nlu(str(config), str(training_file), str(out))
    return Agent.load(model).processor


def _parse(processor: Any, data: Any) -> tuple[list, list]:
    """Rasa's own evaluation data (fallback undone): intent results and entity results."""
    from rasa.nlu.test import get_eval_data, remove_empty_intent_examples

    intent_results, _, entity_results = asyncio.run(get_eval_data(processor, data))
    return remove_empty_intent_examples(intent_results), entity_results


def cross_validate(nlu_file: Path, config: Path, folds: int, seed: int, work: Path) -> CrossValidation:
    from rasa.nlu.test import _get_active_entity_extractors, evaluate_entities
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    start = time.perf_counter()
    data = load_data(str(nlu_file))
    examples = data.intent_examples
    labels = [example.get_full_intent() for example in examples]
    intent_results, entity_results = [], []
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(examples, labels))
    digest = hashlib.sha256(json.dumps([[examples[i].get("text") for i in test] for _, test in splits],
                                       ensure_ascii=False).encode()).hexdigest()[:16]

    def part(index: Any) -> TrainingData:
        return TrainingData(training_examples=[examples[i] for i in index], entity_synonyms=data.entity_synonyms,
                            regex_features=data.regex_features, lookup_tables=data.lookup_tables)

    for fold, (train_index, test_index) in enumerate(splits):
        train_file, test_file = work / f"fold{fold}-train.yml", work / f"fold{fold}-test.yml"
        RasaYAMLWriter().dump(train_file, part(train_index))
        RasaYAMLWriter().dump(test_file, part(test_index))
        processor = _train(config, train_file, work / f"fold{fold}")
        intents, entities = _parse(processor, load_data(str(test_file)))
        intent_results += intents
        entity_results += entities
    scores = _scores([r.intent_target for r in intent_results], [r.intent_prediction for r in intent_results])
    entity_f1 = None
    extractors = _get_active_entity_extractors(entity_results)
    if extractors:
        evaluated = evaluate_entities(entity_results, extractors, None, False, False, True, report_as_dict=True)
        entity_f1 = round(max(result["f1_score"] for result in evaluated.values()), 3)
    errors = [{"text": r.message, "intent": r.intent_target, "predicted": r.intent_prediction,
               "confidence": round(r.confidence or 0.0, 3)}
              for r in intent_results if r.intent_target != r.intent_prediction]
    return CrossValidation(folds=folds, seed=seed, intents=scores, entity_f1=entity_f1, weakest_intents=weakest(scores),
                           folds_digest=digest, errors=errors, seconds=round(time.perf_counter() - start, 1))


def held_out(nlu_file: Path, heldout_file: Path, config: Path, work: Path) -> HeldOut:
    from rasa.shared.nlu.training_data.loading import load_data

    start = time.perf_counter()
    processor = _train(config, nlu_file, work / "all")
    intents, _ = _parse(processor, load_data(str(heldout_file)))
    pairs = [(r.message, r.intent_target, r.intent_prediction) for r in intents]

    def scores(selected: list[tuple[str, str, str]]) -> IntentScores:
        return _scores([target for _, target, _ in selected], [predicted for _, _, predicted in selected])

    return HeldOut(path=str(heldout_file.relative_to(ROOT) if heldout_file.is_relative_to(ROOT) else heldout_file),
                   overall=scores(pairs), chat_typed=scores([p for p in pairs if chat_typed(p[0])]),
                   accented=scores([p for p in pairs if not chat_typed(p[0])]),
                   seconds=round(time.perf_counter() - start, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlu", type=Path, default=ROOT / "data/nlu.yml")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--heldout", type=Path, default=ROOT / "eval/nlu_heldout.yml",
                        help="held-out messages (Rasa NLU YAML); 'none' skips them")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: skip it)")
    parser.add_argument("--seed", type=int, default=19, help="the folds' shuffle seed")
    parser.add_argument("--json", type=Path, help="write the figures here (- for stdout)")
    parser.add_argument("--errors", type=Path, help="write the cross-validation's misclassified examples here")
    args = parser.parse_args()
    # Rasa's training cache is keyed by config and data, not by the nlu/ components' code: a
    # changed component would be measured with its old trained output.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)   # Rasa logs every parsed message at debug level, on stdout
    for noisy in ("rasa", "absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as work:
        if args.folds:
            cv = cross_validate(args.nlu, args.config, args.folds, args.seed, Path(work))
            if args.errors:
                args.errors.write_text(json.dumps(cv.errors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            results["cross_validation"] = {k: v for k, v in asdict(cv).items() if k != "errors"}
        if str(args.heldout) != "none":
            results["heldout"] = asdict(held_out(args.nlu, args.heldout.resolve(), args.config, Path(work)))
    text = json.dumps(results, ensure_ascii=False, indent=1)
    if args.json and str(args.json) != "-":
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
        summary(results, sys.stdout)
    else:
        print(text)
        summary(results, sys.stderr)   # stdout stays one JSON document


def summary(results: dict[str, Any], out: Any) -> None:
    """The figures as a few readable lines."""
    cv = results.get("cross_validation")
    if cv:
        print(f"seeded {cv['folds']}-fold CV (seed {cv['seed']}): intent F1 {cv['intents']['intent_f1']} "
              f"accuracy {cv['intents']['accuracy']} entity F1 {cv['entity_f1']} "
              f"weakest {cv['weakest_intents']}", file=out)
    held = results.get("heldout")
    if held:
        for part in ("overall", "chat_typed", "accented"):
            s = held[part]
            print(f"held-out {part:<10} n={s['n']:<4} accuracy {s['accuracy']}  intent F1 {s['intent_f1']}", file=out)


if __name__ == "__main__":
    main()
