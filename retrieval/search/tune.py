"""Choose the fusion weights by cross-validation: ``python -m retrieval.search.tune --shared ../shared``.

The ViCoV19QA dev queries (read from ../shared at run time, never copied here) are split into
``--folds`` folds with a fixed seed. For each fold, every weight set of a small grid is scored on
the other folds, the best one (R@5, then MRR@10) is kept and measured on the held-out fold: the
spread of those test-fold figures is what the shipped weights can be expected to do on queries
they were not chosen on. The shipped weights are then chosen the same way on all dev queries and
written, with the figures, to ``weights.json`` beside this file, which the searcher loads.

Each query is run as written and with its diacritics removed; both forms of one query always fall
in the same fold. Two ways of weighting are compared by the same cross-validation: one weight set
for both forms ("shared"), or one per form ("per_form": a query typed without diacritics reaches
the dense side and the accented BM25 field only through diacritic restoration, so it may deserve
other weights). The way with the better mean test-fold R@5 is shipped.

The per-query method scores are computed once (the searcher's own ``method_scores``); the grid
only re-weights them, so the whole run costs one pass of the queries through the model. The
index and the query vectors are cached under $TROLYAO_CACHE/bench.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.search.fusion import standardise
from retrieval.search.searcher import ALL_METHODS, WEIGHTS_FILE, QueryView
from retrieval.text import fold

FORMS = ("accented", "no_diacritics")
FORM_TEXT = {"accented": lambda t: t, "no_diacritics": fold}
# Relative weights: fusion is unchanged by scaling all weights, so dense is fixed at 1 (or 0, for
# lexical-only sets) and the two BM25 fields vary around it.
LEXICAL_STEPS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5)
DENSE_STEPS = (0.0, 1.0)
K = 5


def weight_grid() -> list[tuple[float, float, float]]:
    grid = []
    for dense, bm25, fold_w in itertools.product(DENSE_STEPS, LEXICAL_STEPS, LEXICAL_STEPS):
        if dense == 0 and (bm25, fold_w) != (0.0, 1.0) and (bm25, fold_w) != (1.0, 0.0) \
                and (bm25, fold_w) != (1.0, 1.0):
            continue   # lexical-only: the three shapes are enough (scale does not matter)
        if dense or bm25 or fold_w:
            grid.append((dense, bm25, fold_w))
    return grid


@dataclass
class FormScores:
    """Standardised scores of one query form: ``z[q, m, row]`` for query q, method m (ALL_METHODS order)."""

    z: np.ndarray
    relevant: list[np.ndarray]     # rows of each query's relevant passages

    def per_query(self, weights: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Each query's R@K and reciprocal rank (within 10) under one weight set."""
        fused = np.einsum("qmn,m->qn", self.z, np.asarray(weights, dtype=np.float32))
        recall, rr = np.zeros(len(fused)), np.zeros(len(fused))
        for q, (row_scores, rel) in enumerate(zip(fused, self.relevant)):
            if not len(rel):
                continue
            # 1-based rank of each relevant row (ties share the better rank)
            ranks = (row_scores[None, :] > row_scores[rel][:, None]).sum(axis=1) + 1
            recall[q] = (ranks <= K).mean()
            rr[q] = 1.0 / ranks.min() if ranks.min() <= 10 else 0.0
        return recall, rr


@dataclass
class Table:
    """Per-query R@K and reciprocal rank of every weight set of the grid: ``recall[g, q]``."""

    grid: list[tuple[float, ...]]
    recall: np.ndarray
    rr: np.ndarray

    @classmethod
    def of(cls, scores: FormScores, grid) -> "Table":
        rows = [scores.per_query(w) for w in grid]
        return cls(list(grid), np.array([r for r, _ in rows]), np.array([r for _, r in rows]))

    def metrics(self, g: int, queries: np.ndarray) -> dict[str, float]:
        return {f"R@{K}": float(self.recall[g, queries].mean()), "MRR@10": float(self.rr[g, queries].mean())}


def form_scores(service, texts: list[str], relevant_ids: list[list[str]], cache: Path | None) -> FormScores:
    """Every method's standardised scores for each query, as the searcher computes them."""
    searcher = service.searcher
    views = [QueryView.of(t, service.index.restorer) for t in texts]
    vectors = _query_vectors(service, [v.accented for v in views], cache)
    row_of = {p.id: row for row, p in enumerate(service.index.passages)}
    n = len(service.index)
    z = np.zeros((len(texts), len(ALL_METHODS), n), dtype=np.float32)
    for q, (view, vector) in enumerate(zip(views, vectors)):
        scores = searcher.method_scores(view, vector)
        for m, method in enumerate(ALL_METHODS):
            z[q, m] = standardise(scores[method])
    relevant = [np.array([row_of[r] for r in ids if r in row_of], dtype=np.int64) for ids in relevant_ids]
    return FormScores(z, relevant)


def _query_vectors(service, texts: list[str], cache: Path | None) -> np.ndarray:
    """Query embeddings, cached by model and texts (the queries never change between runs)."""
    key = hashlib.sha256("\n".join([service.index.manifest.model, *texts]).encode("utf-8")).hexdigest()[:16]
    path = cache / f"query-vectors-{key}.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    vectors = np.asarray(service.embedder.encode_queries(texts), dtype=np.float32)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def choose(tables: dict[str, Table], queries: np.ndarray, per_form: bool) -> dict[str, int]:
    """Index (in the grid) of the best weights on ``queries``: one set for both forms, or one per form.
    Ties go to R@K, then MRR@10, then the smaller total weight (the simpler set)."""
    def best(recall: np.ndarray, rr: np.ndarray, grid) -> int:
        keys = [(round(float(recall[g]), 6), round(float(rr[g]), 6), -sum(grid[g])) for g in range(len(grid))]
        return max(range(len(grid)), key=keys.__getitem__)

    means = {form: (t.recall[:, queries].mean(axis=1), t.rr[:, queries].mean(axis=1)) for form, t in tables.items()}
    grid = next(iter(tables.values())).grid
    if per_form:
        return {form: best(*means[form], grid) for form in tables}
    pooled = best(np.mean([m[0] for m in means.values()], axis=0), np.mean([m[1] for m in means.values()], axis=0), grid)
    return {form: pooled for form in tables}


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold of each query: a fixed-seed permutation cut into ``folds`` near-equal parts."""
    order = np.random.default_rng(seed).permutation(n)
    assignment = np.empty(n, dtype=np.int64)
    assignment[order] = np.arange(n) % folds
    return assignment


def cross_validate(tables: dict[str, Table], folds: int, seed: int, per_form: bool) -> dict:
    """Test-fold figures of the weights chosen on the other folds (a one-set grid: that set's figures)."""
    n = next(iter(tables.values())).recall.shape[1]
    assignment = fold_ids(n, folds, seed)
    per_fold = []
    for f in range(folds):
        train, test = np.flatnonzero(assignment != f), np.flatnonzero(assignment == f)
        chosen = choose(tables, train, per_form)
        entry = {"fold": f, "test_queries": int(len(test)),
                 "weights": {form: _named(tables[form].grid[g]) for form, g in chosen.items()}}
        for form, table in tables.items():
            entry[form] = {k: round(v, 4) for k, v in table.metrics(chosen[form], test).items()}
        per_fold.append(entry)
    return {"folds": per_fold, "summary": _summary(per_fold, tables)}


def _summary(per_fold: list[dict], forms) -> dict:
    out = {}
    for form in forms:
        for key in (f"R@{K}", "MRR@10"):
            values = np.array([f[form][key] for f in per_fold])
            out[f"{form}/{key}"] = {"mean": round(float(values.mean()), 4), "std": round(float(values.std(ddof=1)), 4),
                                    "min": round(float(values.min()), 4), "max": round(float(values.max()), 4)}
    return out


def _named(weights: tuple[float, ...]) -> dict[str, float]:
    return {m: float(w) for m, w in zip(ALL_METHODS, weights)}


def vicov_scores(shared: Path, limit: int | None = None) -> tuple[object, dict[str, FormScores]]:
    """The cached ViCoV19QA index and every method's scores of its dev queries, in both forms."""
    from retrieval.bench import vicov_queries, vicov_service
    from retrieval.settings import Settings

    service = vicov_service(shared)
    queries = vicov_queries(shared, limit)
    texts = [q["text"] for q in queries]
    relevant = [list(q["relevant"]) for q in queries]
    cache = Settings.load().cache_dir / "bench"
    return service, {form: form_scores(service, [FORM_TEXT[form](t) for t in texts], relevant, cache)
                     for form in FORMS}


def tune(shared: Path, folds: int = 5, seed: int = 0, limit: int | None = None) -> dict:
    """Cross-validate both ways of weighting, choose the better one, fit it on all dev queries."""
    from retrieval.search.searcher import WEIGHTS

    service, scores = vicov_scores(shared, limit)
    grid = weight_grid()
    tables = {form: Table.of(s, grid) for form, s in scores.items()}
    runs = {name: cross_validate(tables, folds, seed, per_form)
            for name, per_form in (("shared", False), ("per_form", True))}
    way = max(runs, key=lambda r: np.mean([runs[r]["summary"][f"{f}/R@{K}"]["mean"] for f in FORMS]))
    n = tables["accented"].recall.shape[1]
    everything = np.arange(n)
    chosen = choose(tables, everything, per_form=way == "per_form")
    # The weights the searcher loaded when this run started (what was shipped before it).
    loaded = {form: Table.of(s, [tuple(WEIGHTS[form][m] for m in ALL_METHODS)]) for form, s in scores.items()}
    return {
        "weights": {form: _named(grid[g]) for form, g in chosen.items()},
        "chosen_by": {
            "command": "python -m retrieval.search.tune --shared ../shared"
                       + (f" --folds {folds}" if folds != 5 else "") + (f" --seed {seed}" if seed else ""),
            "data": "ViCoV19QA dev queries (../shared/benchmarks/vicov19qa, research use only), "
                    "as written and with diacritics removed",
            "queries": n, "passages": len(service.index), "model": service.index.manifest.model,
            "objective": f"R@{K}, then MRR@10, then the smaller total weight; one shared set: mean of both forms",
            "grid": {"dense": list(DENSE_STEPS), "bm25": list(LEXICAL_STEPS), "bm25_fold": list(LEXICAL_STEPS),
                     "sets": len(grid)},
            "folds": folds, "seed": seed, "way": way,
            "date": dt.date.today().isoformat(),
        },
        "cv": runs,
        "loaded_weights": {form: dict(WEIGHTS[form]) for form in FORMS},
        "loaded_weights_cv": cross_validate(loaded, folds, seed, per_form=True)["summary"],
        "all_dev": {form: {k: round(v, 4) for k, v in tables[form].metrics(g, everything).items()}
                    for form, g in chosen.items()},
        "loaded_all_dev": {form: {k: round(v, 4) for k, v in loaded[form].metrics(0, everything).items()}
                           for form in FORMS},
    }


def print_report(result: dict, out=sys.stdout) -> None:
    by = result["chosen_by"]
    print(f"Fusion weights by {by['folds']}-fold cross-validation over {by['queries']} ViCoV19QA dev queries "
          f"(seed {by['seed']}, {by['grid']['sets']} weight sets)", file=out)
    for name, run in result["cv"].items():
        marks = " (shipped)" if name == by["way"] else ""
        print(f"  {name}{marks}: test-fold mean ± sd [min–max]", file=out)
        for key, s in run["summary"].items():
            print(f"    {key:<26}{s['mean']:.3f} ± {s['std']:.3f} [{s['min']:.3f}–{s['max']:.3f}]", file=out)
        for f in run["folds"]:
            weights = "; ".join(f"{form}: " + ", ".join(f"{m}={w:g}" for m, w in ws.items())
                                for form, ws in f["weights"].items())
            print(f"    fold {f['fold']}: R@{K} {f['accented'][f'R@{K}']:.3f} / "
                  f"{f['no_diacritics'][f'R@{K}']:.3f} (no diacritics)  chosen on the other folds: {weights}", file=out)
    loaded = result["loaded_weights_cv"]
    print("  weights.json as loaded at the start, same folds: " + ", ".join(
        f"{k} {v['mean']:.3f} ± {v['std']:.3f}" for k, v in loaded.items() if k.endswith(f"R@{K}")), file=out)
    for form, ws in result["weights"].items():
        print(f"  chosen on all dev queries ({form}): " + ", ".join(f"{m}={w:g}" for m, w in ws.items())
              + f"; R@{K} {result['all_dev'][form][f'R@{K}']:.3f} "
              f"(weights as loaded: {result['loaded_all_dev'][form][f'R@{K}']:.3f})", file=out)


def write_fitted(result, out: Path, dry_run: bool) -> None:
    """Write a fitted file (weights, abstention model) with the figures it was chosen on, unless dry-run."""
    if not dry_run:
        out.write_text(compact_json(result), encoding="utf-8")
        print(f"written to {out}", file=sys.stderr)


def compact_json(data) -> str:
    """Indented JSON whose innermost lists and objects stay on one line (short, diff-friendly)."""
    def leaf(value) -> bool:
        return not any(isinstance(v, (dict, list)) for v in (value.values() if isinstance(value, dict) else value))

    def render(value, depth: int) -> str:
        if not isinstance(value, (dict, list)) or leaf(value):
            return json.dumps(value, ensure_ascii=False)
        pad, inner = " " * depth, " " * (depth + 1)
        if isinstance(value, dict):
            body = ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: {render(v, depth + 1)}" for k, v in value.items())
            return "{\n" + body + "\n" + pad + "}"
        return "[\n" + ",\n".join(inner + render(v, depth + 1) for v in value) + "\n" + pad + "]"

    return render(data, 0) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries (a quick check)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--dry-run", action="store_true", help="report only; leave the weights file alone")
    args = parser.parse_args(argv)
    result = tune(args.shared, args.folds, args.seed, args.limit)
    print_report(result)
    write_fitted(result, args.out, args.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
