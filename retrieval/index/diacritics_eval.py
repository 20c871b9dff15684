"""Measure diacritic restoration: syllable accuracy, speed and model size.

    python -m retrieval.index.diacritics_eval [--shared DIR] [--no-pyvi]

Two held-out settings:

- ``vicov19qa``: fit on the ViCoV19QA answers (``corpus.jsonl``), fold the 500 questions
  (``queries.jsonl``), restore, compare with the original lower-cased syllables. Research use
  only: the data stays in the shared folder and is never copied into the repository.
- ``bulletins``: the sentences of each sample bulletin, restored by a model fitted on the other
  bulletin only (leave-one-bulletin-out), pooled.

Restorers compared per setting: ``corpus`` (the default: corpus LM, pyvi for unknown syllables),
``corpus_no_pyvi`` (``fallback="none"``), ``corpus_pyvi_all`` (``fallback="all"``), and the
baselines ``identity`` (leave folded) and ``pyvi`` (``ViUtils.add_accents`` alone). Figures:

- ``acc_all``: share of word syllables (no digits) restored exactly.
- ``acc_accented``: the same over syllables whose original carries a diacritic (fold differs) —
  the ones that actually need restoring; ``identity`` scores 0 there by construction.
- ``acc_ambiguous``: over syllables whose folded form has ≥ 2 variants in the fitted model.
- ``corpus_input``: the default restorer on other inputs: ``accented_input`` (the original query,
  typed with all its diacritics: should stay as it is), ``folded_20pct`` / ``folded_50pct`` (each
  syllable folded with that probability: half-typed queries).
- ``ms_mean`` / ``ms_p95`` / ``ms_max`` per query, and ``ms_mean_le30`` over queries of ≤ 30
  syllables, ``ms_per_syllable``; for ``corpus`` on ViCoV19QA also ``model_bytes`` (the JSON
  file), ``load_ms`` (``from_dict``), ``compile_ms`` (first restore), ``fit_s``, ``vocab``,
  ``bigrams``, ``tokens``.

``evaluate()`` returns ``{"vicov19qa": {restorer: figures}, "bulletins": {restorer: figures}}``.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import re
import statistics
import time
from pathlib import Path
from typing import Callable, Iterable

from retrieval.index.diacritics import DiacriticRestorer
from retrieval.text import fold, has_diacritics, nfc, split_sentences, syllables


# Compiles the decoding tables and loads pyvi (its first call takes ~1 s) before timing.
_WARM_UP = "a nghoang"
_WORD = re.compile(r"\w+")


def default_shared_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "shared"


def _words(text: str) -> list[str]:
    return syllables(text)


def fold_some(fraction: float, seed: int = 0) -> Callable[[str], str]:
    """A corruption that folds each word token with probability ``fraction`` (a half-typed query)."""
    rng = random.Random(seed)

    def corrupt(sentence: str) -> str:
        return _WORD.sub(lambda m: fold(m.group()) if rng.random() < fraction else m.group(), nfc(sentence))

    return corrupt


def score(restore: Callable[[str], str], sentences: Iterable[str],
          ambiguous: Callable[[str], bool] | None = None,
          corrupt: Callable[[str], str] | None = None) -> dict[str, float]:
    """Fold each sentence (or ``corrupt`` it), restore it, compare syllable by syllable with the
    original."""
    corrupt = corrupt or (lambda s: fold(nfc(s)))
    n_all = ok_all = n_acc = ok_acc = n_amb = ok_amb = 0
    misaligned = 0
    times: list[tuple[int, float]] = []
    for sentence in sentences:
        gold = _words(sentence)
        folded = corrupt(sentence)
        t0 = time.perf_counter()
        out = restore(folded)
        times.append((len(gold), (time.perf_counter() - t0) * 1000))
        got = _words(out)
        if len(got) != len(gold):
            misaligned += 1
            got = (got + [""] * len(gold))[: len(gold)]
        for g, o in zip(gold, got):
            if any(ch.isdigit() for ch in g):
                continue
            hit = g == o
            n_all += 1
            ok_all += hit
            if has_diacritics(g):
                n_acc += 1
                ok_acc += hit
            if ambiguous is not None and ambiguous(fold(g)):
                n_amb += 1
                ok_amb += hit
    ms = [t for _, t in times]
    short = [t for n, t in times if n <= 30]
    figures = {
        "queries": len(times),
        "syllables": n_all,
        "acc_all": round(ok_all / max(n_all, 1), 4),
        "accented_syllables": n_acc,
        "acc_accented": round(ok_acc / max(n_acc, 1), 4),
        "misaligned_queries": misaligned,
        "ms_mean": round(statistics.fmean(ms), 3) if ms else 0.0,
        "ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 3) if ms else 0.0,
        "ms_max": round(max(ms), 3) if ms else 0.0,
        "ms_mean_le30": round(statistics.fmean(short), 3) if short else 0.0,
        "ms_per_syllable": round(sum(ms) / max(sum(n for n, _ in times), 1), 4),
    }
    if ambiguous is not None:
        figures["ambiguous_syllables"] = n_amb
        figures["acc_ambiguous"] = round(ok_amb / max(n_amb, 1), 4)
    return figures


def _pyvi_restore() -> Callable[[str], str]:
    from pyvi import ViUtils

    def restore(text: str) -> str:
        try:
            return ViUtils.add_accents(text)
        except KeyError:          # pyvi's CRF can emit a label with no character ("pr")
            return text

    return restore


def _restorers(model: DiacriticRestorer, pyvi: bool) -> list[tuple[str, Callable[[str], str]]]:
    """The restorers compared: the default, its two pyvi fallback settings, and baselines."""
    def configured(fallback: str) -> Callable[[str], str]:
        variant = copy.copy(model)          # shares counts and compiled tables
        variant.fallback = fallback
        variant.restore(_WARM_UP)
        return variant.restore

    out = [("corpus", configured(model.fallback)), ("identity", lambda s: s)]
    if pyvi:
        out += [("corpus_no_pyvi", configured("none")), ("corpus_pyvi_all", configured("all")),
                ("pyvi", _pyvi_restore())]
    return out


def _ambiguity(model: DiacriticRestorer) -> Callable[[str], bool]:
    return lambda folded: len(model.candidates(folded)) > 1


def _model_stats(model: DiacriticRestorer) -> dict[str, float]:
    blob = json.dumps(model.to_dict(), ensure_ascii=False, separators=(",", ":"))
    t0 = time.perf_counter()
    loaded = DiacriticRestorer.from_dict(json.loads(blob))
    load_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    loaded.restore("a")           # compiles the decoding tables
    compile_ms = (time.perf_counter() - t0) * 1000
    return {"model_bytes": len(blob.encode("utf-8")), "load_ms": round(load_ms, 1),
            "compile_ms": round(compile_ms, 1), **model.stats()}


def evaluate_vicov19qa(bench_dir: Path | None = None, pyvi: bool = True) -> dict[str, dict]:
    bench_dir = Path(bench_dir) if bench_dir else default_shared_dir() / "benchmarks" / "vicov19qa"
    with open(bench_dir / "corpus.jsonl", encoding="utf-8") as fh:
        corpus = [json.loads(line)["text"] for line in fh if line.strip()]
    with open(bench_dir / "queries.jsonl", encoding="utf-8") as fh:
        queries = [json.loads(line)["text"] for line in fh if line.strip()]
    t0 = time.perf_counter()
    model = DiacriticRestorer.fit(corpus)
    fit_s = time.perf_counter() - t0
    amb = _ambiguity(model)
    result = {name: score(restore, queries, amb) for name, restore in _restorers(model, pyvi)}
    result["corpus"].update(_model_stats(model), fit_s=round(fit_s, 2))
    result["corpus_input"] = _input_regimes(model, queries)
    return result


def _input_regimes(model: DiacriticRestorer, sentences: list[str]) -> dict[str, float]:
    """acc_all of the default restorer when the input is typed with all diacritics (it should
    change nothing) and when 20 % / 50 % of the syllables lost them (a half-typed query)."""
    return {
        "accented_input": score(model.restore, sentences, corrupt=nfc)["acc_all"],
        "folded_20pct": score(model.restore, sentences, corrupt=fold_some(0.2))["acc_all"],
        "folded_50pct": score(model.restore, sentences, corrupt=fold_some(0.5))["acc_all"],
    }


def bulletin_sentences(path: Path) -> list[str]:
    text = nfc(Path(path).read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        for sentence in split_sentences(line):
            if len(_words(sentence)) >= 3:
                out.append(sentence)
    return out


def evaluate_bulletins(corpus_dir: Path | None = None, pyvi: bool = True) -> dict[str, dict]:
    corpus_dir = Path(corpus_dir) if corpus_dir else default_shared_dir() / "corpus"
    files = sorted(corpus_dir.glob("*.txt"))
    if len(files) < 2:
        raise FileNotFoundError(f"need at least two bulletins in {corpus_dir}")
    parts: dict[str, list[dict]] = {}
    regimes: list[tuple[dict, int]] = []
    for held in files:
        model = DiacriticRestorer.fit(f.read_text(encoding="utf-8") for f in files if f != held)
        sentences = bulletin_sentences(held)
        amb = _ambiguity(model)
        for name, restore in _restorers(model, pyvi):
            parts.setdefault(name, []).append(score(restore, sentences, amb))
        regimes.append((_input_regimes(model, sentences), len(sentences)))
    pooled = {name: _pool(runs) for name, runs in parts.items()}
    total = sum(n for _, n in regimes)
    pooled["corpus_input"] = {key: round(sum(r[key] * n for r, n in regimes) / total, 4)
                              for key in regimes[0][0]}      # weighted by sentences (≈ syllables)
    return pooled


def _pool(runs: list[dict]) -> dict:
    """Pool per-fold figures, weighting accuracies by their syllable counts."""
    pooled: dict[str, float] = {}
    for acc, n in (("acc_all", "syllables"), ("acc_accented", "accented_syllables"),
                   ("acc_ambiguous", "ambiguous_syllables")):
        total = sum(r.get(n, 0) for r in runs)
        pooled[n] = total
        pooled[acc] = round(sum(r.get(acc, 0) * r.get(n, 0) for r in runs) / max(total, 1), 4)
    pooled["queries"] = sum(r["queries"] for r in runs)
    pooled["misaligned_queries"] = sum(r["misaligned_queries"] for r in runs)
    pooled["ms_mean"] = round(sum(r["ms_mean"] * r["queries"] for r in runs) / max(pooled["queries"], 1), 3)
    pooled["ms_max"] = max(r["ms_max"] for r in runs)
    syll = sum(r["syllables"] for r in runs)
    pooled["ms_per_syllable"] = round(sum(r["ms_mean"] * r["queries"] for r in runs) / max(syll, 1), 4)
    return pooled


def evaluate(shared_dir: Path | None = None, pyvi: bool = True) -> dict[str, dict]:
    """All figures, keyed ``{"vicov19qa": {...}, "bulletins": {...}}``."""
    shared = Path(shared_dir) if shared_dir else default_shared_dir()
    return {"vicov19qa": evaluate_vicov19qa(shared / "benchmarks" / "vicov19qa", pyvi=pyvi),
            "bulletins": evaluate_bulletins(shared / "corpus", pyvi=pyvi)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=None, help="folder holding benchmarks/ and corpus/")
    parser.add_argument("--no-pyvi", action="store_true", help="skip the pyvi add_accents comparison")
    args = parser.parse_args(argv)
    print(json.dumps(evaluate(args.shared, pyvi=not args.no_pyvi), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
