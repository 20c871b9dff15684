"""Fit the abstention model by cross-validation: ``python -m retrieval.answer.calibrate --shared ../shared``.

Labelled questions come from several sources, each asked against the index it was written for:

- ``calibration``: ``calibration.jsonl`` beside this file (the sample bulletins' index);
- ``gold``: the single-turn items of ``eval/gold.yaml`` (the sample bulletins' index);
- ``archive``: the items of ``eval/archive_gold.yaml`` whose page is in the archive's *dev* part
  (``retrieval.goldset.split``), asked against the index it is measured on (the sample bulletins and
  every archive page, ``retrieval.goldset.archive``); its *held-out* items are only reported, with
  the final model, never fitted on;
- rewrites of each of those (``variants.py``): without diacritics, in chat shorthand, with a typo
  (same label), and answerable questions moved to another province (to be declined).

A question is observed as ``Answerer.ask`` sees it: chat shorthand expanded, routed, searched. A
question naming an indexed document is never declined (no decision to learn), and an answerable
question whose top hit is not one of its expected documents (for an archive item: not from the page
it was written from) is left out: it would teach the model to trust evidence that pointed at the
wrong document.

The features, the regularisation C and the threshold are chosen together by grouped, stratified
cross-validation (a question and its rewrites always share a fold) maximising balanced accuracy.
The figures reported are nested: for each outer fold the choice is made on the other folds only.
The shipped model is then chosen the same way on all the data and written to ``abstain.json``,
with the data sources, the choice and the figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.answer.abstain import MODEL_FILE, AbstainModel
from retrieval.answer.evidence import FEATURES
from retrieval.answer.variants import variants
from retrieval.search.tune import write_fitted

REPO = Path(__file__).resolve().parents[2]
CALIBRATION_FILE = Path(__file__).with_name("calibration.jsonl")
GOLD_FILE = REPO / "eval" / "gold.yaml"
ARCHIVE_GOLD_FILE = REPO / "eval" / "archive_gold.yaml"

# Candidate inputs of the model, from the original two to all of them; chosen by cross-validation.
FEATURE_SETS = (
    ("coverage", "dense"),
    ("item_coverage", "dense"),
    ("near_coverage", "dense"),
    ("near_coverage", "dense", "other_place"),
    ("near_coverage", "dense", "bigrams", "other_place"),
    ("near_coverage", "dense", "unknown", "other_place"),
    ("near_coverage", "dense", "bigrams", "unknown", "other_place"),
    FEATURES,
)
C_VALUES = (0.01, 0.1, 1.0, 10.0, 100.0)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.71, 0.05))
FOLDS, INNER_FOLDS, SEED = 5, 4, 0


def load_questions(path: Path = CALIBRATION_FILE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Labelled:
    """One labelled question, where it came from and which index answers it."""

    text: str
    abstain: bool
    expected_docs: tuple[str, ...] = ()
    source: str = ""          # calibration, gold, archive
    group: str = ""           # the original question: its rewrites share its fold
    variant: str = ""         # "" for the original, else the kind of rewrite
    index: str = "sample"     # sample, archive
    split: str = "dev"        # dev, heldout (archive items only; held-out ones are never fitted on)
    page: str = ""            # the page an archive item was written from (its answer's page)


@dataclass
class Observation:
    question: Labelled
    features: dict[str, float] = field(default_factory=dict)
    skipped: str = ""         # why it is not used ("names a document", "wrong retrieval", "no hits")

    @property
    def label(self) -> int:
        return 0 if self.question.abstain else 1


def gold_questions(path: Path, source: str, index: str) -> list[Labelled]:
    """Single-turn items of a gold file; an item's split comes from its page (no page: held out)."""
    from retrieval.goldset.load import load_gold
    from retrieval.goldset.split import split_of

    out = []
    for item in load_gold(path):
        if item.multi_turn:
            continue
        q = item.turns[0]
        split = "dev" if source == "gold" else (split_of(item.source) if item.source else "heldout")
        out.append(Labelled(q.question, q.abstain, tuple(q.expected_docs), source, f"{source}:{item.id}",
                            index=index, split=split, page=item.source))
    return out


def labelled_questions(archive_gold: Path | None = ARCHIVE_GOLD_FILE) -> list[Labelled]:
    """Every source's questions, then the rewrites of the dev ones."""
    base = [Labelled(q["text"], bool(q.get("abstain")), tuple(q.get("expected_docs") or ()), "calibration",
                     f"calibration:{i}") for i, q in enumerate(load_questions())]
    base += gold_questions(GOLD_FILE, "gold", "sample")
    if archive_gold and archive_gold.exists():
        base += gold_questions(archive_gold, "archive", "archive")
    out = list(base)
    for q in base:
        if q.split != "dev":
            continue
        for v in variants({"text": q.text, "abstain": q.abstain, "expected_docs": list(q.expected_docs)}):
            out.append(Labelled(v["text"], bool(v.get("abstain")), tuple(v.get("expected_docs") or ()),
                                q.source, q.group, v["variant"], q.index, q.split, q.page))
    return out


def observe(answerer, questions: list[Labelled]) -> list[Observation]:
    """The evidence the answerer would decide on, for each question (or why there is no decision)."""
    out = []
    for q in questions:
        obs = Observation(q)
        question, doc, hits = answerer.route(q.text)
        if doc:
            obs.skipped = "names a document"
        elif not hits:
            obs.skipped = "no hits"
        elif not q.abstain and (q.expected_docs and hits[0].passage.doc_number not in q.expected_docs
                                or q.page and Path(hits[0].passage.source).name != Path(q.page).name):
            obs.skipped = "wrong retrieval"
        else:
            evidence = answerer.decision_evidence(question, hits)
            obs.features = dict(zip(FEATURES, evidence.features(FEATURES)))
        out.append(obs)
    return out


# --------------------------------------------------------------------------- fitting


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    """Logistic regression on standardised features, returned as weights and bias on raw features."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(class_weight="balanced", C=c, max_iter=2000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    return weights, float(model.intercept_[0] - (weights * mean).sum())


def _probability(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))


def _balanced_accuracy(y: np.ndarray, answered: np.ndarray) -> float:
    rates = [float((answered[y == label] == label).mean()) for label in (0, 1) if (y == label).any()]
    return float(np.mean(rates)) if rates else 0.0


def _splits(y: np.ndarray, groups: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import StratifiedGroupKFold

    return list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y, groups))


def select(x: dict[str, np.ndarray], y: np.ndarray, groups: np.ndarray, folds: int, seed: int,
           feature_sets=FEATURE_SETS) -> dict:
    """The feature set, C and threshold with the best cross-validated balanced accuracy.
    Ties go to fewer features, then a threshold nearer 0.5, then stronger regularisation."""
    splits = _splits(y, groups, folds, seed)
    best = None
    for names, c in itertools.product(feature_sets, C_VALUES):
        columns = x_of(x, names)
        probability = np.zeros(len(y))
        for train, test in splits:
            weights, bias = _fit(columns[train], y[train], c)
            probability[test] = _probability(columns[test], weights, bias)
        for threshold in THRESHOLDS:
            score = _balanced_accuracy(y, (probability >= threshold).astype(int))
            key = (round(score, 6), -len(names), -abs(threshold - 0.5), -c)
            if best is None or key > best[0]:
                best = (key, {"features": list(names), "C": c, "threshold": threshold, "cv_balanced_accuracy": round(score, 4)})
    return best[1]


def x_of(x: dict[str, np.ndarray], names) -> np.ndarray:
    return np.column_stack([x[n] for n in names])


def abstention_figures(y: np.ndarray, answered: np.ndarray) -> dict:
    """Abstention precision (declines that were right) and recall (unanswerable questions declined),
    and the share of answerable questions declined."""
    declined, should = answered == 0, y == 0
    return {
        "abstention_precision": round(float((declined & should).sum() / declined.sum()), 4) if declined.any() else None,
        "abstention_recall": round(float((declined & should).sum() / should.sum()), 4) if should.any() else None,
        "false_abstain_rate": round(float((declined & ~should).sum() / (~should).sum()), 4) if (~should).any() else None,
        "balanced_accuracy": round(_balanced_accuracy(y, answered), 4),
        "answerable": int((~should).sum()), "unanswerable": int(should.sum()),
    }


def nested_cv(observations: list[Observation], folds: int = FOLDS, seed: int = SEED,
              feature_sets=FEATURE_SETS) -> dict:
    """Outer folds measure what the selection (made on the other folds only) does on unseen questions."""
    x, y, groups = arrays(observations)
    predicted = np.zeros(len(y), dtype=int)
    per_fold = []
    for f, (train, test) in enumerate(_splits(y, groups, folds, seed)):
        chosen = select({k: v[train] for k, v in x.items()}, y[train], groups[train], INNER_FOLDS, seed,
                        feature_sets)
        weights, bias = _fit(x_of(x, chosen["features"])[train], y[train], chosen["C"])
        answered = (_probability(x_of(x, chosen["features"])[test], weights, bias) >= chosen["threshold"]).astype(int)
        predicted[test] = answered
        per_fold.append({"fold": f, "chosen": chosen, **abstention_figures(y[test], answered)})
    summary = {}
    for key in ("abstention_precision", "abstention_recall", "false_abstain_rate", "balanced_accuracy"):
        values = np.array([f[key] for f in per_fold if f[key] is not None])
        summary[key] = {"mean": round(float(values.mean()), 4), "std": round(float(values.std(ddof=1)), 4),
                        "min": round(float(values.min()), 4), "max": round(float(values.max()), 4)}
    return {"folds": per_fold, "summary": summary, "per_source": per_source(observations, y, predicted)}


def per_source(observations: list[Observation], y: np.ndarray, answered: np.ndarray) -> dict:
    """Figures per source and per kind of rewrite ("gold", "gold/no_diacritics", …)."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, obs in enumerate(observations):
        q = obs.question
        buckets["all"].append(i)
        buckets[q.source].append(i)
        buckets[f"{q.source}/{q.variant or 'original'}"].append(i)
        buckets[f"all/{q.variant or 'original'}"].append(i)
    return {name: abstention_figures(y[rows], answered[rows]) for name, rows in sorted(buckets.items())}


def arrays(observations: list[Observation]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    x = {name: np.array([o.features[name] for o in observations]) for name in FEATURES}
    y = np.array([o.label for o in observations])
    groups = np.array([o.question.group for o in observations])
    return x, y, groups


# --------------------------------------------------------------------------- indexes and the run


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else ""


def run(shared: Path, archive_gold: Path | None = ARCHIVE_GOLD_FILE, folds: int = FOLDS, seed: int = SEED,
        log=sys.stderr) -> dict:
    from retrieval.bench import ingest
    from retrieval.settings import Settings
    from retrieval.answer.extractive import Answerer
    from retrieval.service import Retrieval

    questions = labelled_questions(archive_gold)
    indexes = {"sample": sorted((shared / "corpus").glob("*.txt"))}
    if any(q.index == "archive" for q in questions):
        from retrieval.goldset.archive import corpus_and_archive

        indexes["archive"] = corpus_and_archive(shared)   # the index the archive gold set is measured on
    observations: list[Observation] = []
    index_info = {}
    neutral = AbstainModel(weights=(0.0, 0.0), bias=0.0)   # only the evidence is needed, not a model
    for name, inputs in indexes.items():
        root = Settings.load().cache_dir / "bench" / f"{name}-index"
        ingest(inputs, root)
        service = Retrieval(root)
        answerer = Answerer(service.searcher, abstain=neutral)
        observations += observe(answerer, [q for q in questions if q.index == name])
        index_info[name] = {"inputs": [str(p.relative_to(shared)) if p.is_relative_to(shared) else str(p)
                                       for p in inputs], "passages": len(service.index)}
        model_name = service.index.manifest.model
        print(f"calibrate: {name} index observed ({len(service.index)} passages)", file=log)
    used = [o for o in observations if not o.skipped and o.question.split == "dev"]
    heldout = [o for o in observations if not o.skipped and o.question.split != "dev"]
    cv = nested_cv(used, folds, seed)
    # The same selection restricted to the original inputs: what the new features add, out of fold.
    original = nested_cv(used, folds, seed, FEATURE_SETS[:1])
    x, y, groups = arrays(used)
    chosen = select(x, y, groups, folds, seed)
    weights, bias = _fit(x_of(x, chosen["features"]), y, chosen["C"])
    model = AbstainModel(tuple(round(float(w), 6) for w in weights), round(bias, 6), chosen["threshold"],
                         tuple(chosen["features"]))
    previous = _previous_model(MODEL_FILE)
    fitted = (_probability(x_of(x, chosen["features"]), np.array(model.weights), model.bias) >= model.threshold).astype(int)
    result = {
        "weights": list(model.weights), "bias": model.bias, "threshold": model.threshold,
        "features": list(model.features), "C": chosen["C"],
        "chosen_by": {
            "command": "python -m retrieval.answer.calibrate --shared ../shared",
            "selection": f"{folds}-fold grouped stratified CV, balanced accuracy; feature sets × C × threshold",
            "feature_sets": [list(s) for s in FEATURE_SETS], "C_values": list(C_VALUES), "thresholds": list(THRESHOLDS),
            "cv_balanced_accuracy": chosen["cv_balanced_accuracy"], "seed": seed,
        },
        "cv": cv,
        "cv_original_features": {"features": list(FEATURE_SETS[0]), "summary": original["summary"],
                                 "per_source": {k: v for k, v in original["per_source"].items() if "/" not in k}},
        "fitted_on": {
            "sources": {
                "calibration": {"file": str(CALIBRATION_FILE.relative_to(REPO)), "sha256": _sha(CALIBRATION_FILE)},
                "gold": {"file": str(GOLD_FILE.relative_to(REPO)), "sha256": _sha(GOLD_FILE)},
                "archive": ({"file": str(archive_gold.relative_to(REPO)) if archive_gold.is_relative_to(REPO)
                             else str(archive_gold), "sha256": _sha(archive_gold), "split": "dev items only"}
                            if archive_gold and archive_gold.exists() else None),
            },
            "questions": dict(Counter(f"{o.question.source}/{o.question.variant or 'original'}" for o in used)),
            "positives": int(y.sum()), "negatives": int((y == 0).sum()),
            "skipped": dict(Counter(f"{o.question.source}: {o.skipped}" for o in observations if o.skipped)),
            "indexes": index_info, "model": model_name,
        },
        "in_sample": per_source(used, y, fitted),
        "loaded_model": _heldout(used, previous) if previous else None,
        "heldout_report": _heldout(heldout, model) if heldout else None,
        "heldout_loaded_model": _heldout(heldout, previous) if heldout and previous else None,
        "fitted_at": dt.date.today().isoformat(),
    }
    return result


def _previous_model(path: Path) -> AbstainModel | None:
    """The model shipped before this run, to compare on the same questions (None when unreadable)."""
    try:
        return AbstainModel.load(path)
    except (OSError, ValueError, KeyError):
        return None


def _heldout(observations: list[Observation], model: AbstainModel) -> dict:
    """A fixed model's figures per source: the shipped model on held-out archive items (reported,
    never used to choose anything), or the previous model on the fitting questions."""
    x, y, _ = arrays(observations)
    answered = (_probability(x_of(x, model.features), np.array(model.weights), model.bias) >= model.threshold).astype(int)
    return per_source(observations, y, answered)


def print_report(result: dict, out=sys.stdout) -> None:
    cv = result["cv"]
    print(f"Abstention model by nested {len(cv['folds'])}-fold cross-validation "
          f"({result['fitted_on']['positives']} answerable, {result['fitted_on']['negatives']} unanswerable)", file=out)
    for key, s in cv["summary"].items():
        print(f"  {key:<22}{s['mean']:.3f} ± {s['std']:.3f} [{s['min']:.3f}–{s['max']:.3f}]", file=out)
    for f in cv["folds"]:
        c = f["chosen"]
        print(f"  fold {f['fold']}: P {f['abstention_precision']}  R {f['abstention_recall']}  "
              f"false abstain {f['false_abstain_rate']}  (chosen on the other folds: {'+'.join(c['features'])}, "
              f"C={c['C']:g}, threshold {c['threshold']})", file=out)
    base = result.get("cv_original_features")
    if base:
        print(f"  the same, with only the original inputs ({'+'.join(base['features'])}): " + ", ".join(
            f"{k} {s['mean']:.3f} ± {s['std']:.3f}" for k, s in base["summary"].items()), file=out)
    print("  out-of-fold, per source:", file=out)
    for name, s in cv["per_source"].items():
        print(f"    {name:<30} P {_fmt(s['abstention_precision'])}  R {_fmt(s['abstention_recall'])}  "
              f"false abstain {_fmt(s['false_abstain_rate'])}  (n={s['answerable']}+{s['unanswerable']})", file=out)
    print(f"  shipped: {'+'.join(result['features'])}, C={result['C']:g}, threshold {result['threshold']} "
          f"(CV balanced accuracy {result['chosen_by']['cv_balanced_accuracy']})", file=out)
    if result.get("loaded_model"):
        print("  abstain.json as loaded at the start (the model shipped before this run), same questions:", file=out)
        for name, s in result["loaded_model"].items():
            if "/" not in name or name.startswith("all/"):
                print(f"    {name:<30} P {_fmt(s['abstention_precision'])}  R {_fmt(s['abstention_recall'])}  "
                      f"false abstain {_fmt(s['false_abstain_rate'])}  (n={s['answerable']}+{s['unanswerable']})", file=out)
    if result.get("heldout_report"):
        print("  held-out archive items (report only):", file=out)
        before = result.get("heldout_loaded_model") or {}
        if "all" in before:
            s = before["all"]
            print(f"    {'(as loaded, all)':<30} P {_fmt(s['abstention_precision'])}  "
                  f"R {_fmt(s['abstention_recall'])}  false abstain {_fmt(s['false_abstain_rate'])}", file=out)
        sources = {n for n in result["heldout_report"] if "/" not in n and n != "all"}
        for name, s in result["heldout_report"].items():
            if len(sources) == 1 and name.split("/")[0] == "all":
                continue   # one source: its rows already say it
            print(f"    {name:<30} P {_fmt(s['abstention_precision'])}  R {_fmt(s['abstention_recall'])}  "
                  f"false abstain {_fmt(s['false_abstain_rate'])}  (n={s['answerable']}+{s['unanswerable']})", file=out)


def _fmt(value) -> str:
    return "  –  " if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--archive-gold", type=Path, default=ARCHIVE_GOLD_FILE)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--dry-run", action="store_true", help="report only; leave abstain.json alone")
    args = parser.parse_args(argv)
    result = run(args.shared, args.archive_gold)
    print_report(result)
    write_fitted(result, args.out, args.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
