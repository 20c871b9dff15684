"""``python -m retrieval.bench_querypath``: where a search and an ask spend their time besides the
query encoder (issue 19), on the first ViCoV19QA dev questions.

Two measurements over the same questions, as typed and without diacritics:

- search and ask latency with the encoder taken out (vectors encoded beforehand): what the rest of
  the query path costs on its own, whatever encoder ships;
- a per-stage table (exclusive time per stage, p50/p95 over questions), with the real encoder.

The machine is shared: the load average is printed beside the figures.
"""
from __future__ import annotations

import argparse
import functools
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from retrieval.bench_speed import Precomputed, load_average, percentiles
from retrieval.text import expand_chat_shorthand, fold


def without_encoder(service, questions: list[str], repeats: int = 3) -> dict:
    """Search and ask p50/p95 with every query vector encoded beforehand."""
    from retrieval.search.searcher import QueryView

    restorer = service.index.restorer
    texts = sorted({QueryView.of(expand_chat_shorthand(q), restorer).accented for q in questions})
    real = service.searcher.embedder
    service.searcher.embedder = Precomputed(real.name, dict(zip(texts, real.encode_queries(texts))))
    try:
        search, ask = [], []
        for _ in range(repeats):
            for text in questions:
                t0 = time.perf_counter()
                service.search(text, k=10)
                t1 = time.perf_counter()
                service.ask(text)
                search.append(t1 - t0)
                ask.append(time.perf_counter() - t1)
    finally:
        service.searcher.embedder = real
    return {"search": percentiles(search), "ask": percentiles(ask)}


class StageClock:
    """Exclusive time per named stage: a stage called inside another is not counted twice."""

    def __init__(self, now=time.perf_counter):
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[str] = []
        self._now = now

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self._stack.append(name)
            t0 = self._now()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = self._now() - t0
                self._stack.pop()
                self.spent[name] += elapsed
                if self._stack:
                    self.spent[self._stack[-1]] -= elapsed
        return timed


def stages(service, questions: list[str]) -> dict[str, dict[str, dict]]:
    """Per-stage p50/p95 of one search and one ask per question (the stages patched for the run only)."""
    import retrieval.answer.extractive as extractive
    import retrieval.search.searcher as searcher

    clock = StageClock()
    index, answerer = service.index, service.answerer
    patches = [(searcher, "vi_tokens", "segmentation (pyvi)"), (searcher, "fold_tokens", "folded tokens"),
               (searcher, "weighted_zscore_fusion", "fusion"), (searcher, "rank_of", "ranks per method"),
               (searcher, "top_rows", "top rows"), (searcher.Searcher, "search_many", "search: the rest"),
               (extractive, "provinces_in", "answer: provinces"),
               (extractive.Answerer, "decision_evidence", "answer: decision evidence"),
               (extractive.Answerer, "_scored_sentences", "answer: sentence scores"),
               (extractive.Answerer, "evidence", "answer: passage evidence"),
               (extractive.Answerer, "ask_many", "answer: the rest")]
    instance = [(service.searcher.embedder, "encode_queries", "encode"),
                (index, "dense_scores", "dense scores"), (index, "bm25_scores", "BM25 (both fields)")]
    if index.restorer is not None:
        instance.append((index.restorer, "restore", "diacritic restoration"))
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    for owner, attr, name in patches:
        setattr(owner, attr, clock.wrap(name, getattr(owner, attr)))
    for owner, attr, name in instance:   # instance attributes shadow the class's for the run
        setattr(owner, attr, clock.wrap(name, getattr(owner, attr)))
    per: dict[str, dict[str, list[float]]] = {"search": defaultdict(list), "ask": defaultdict(list)}
    try:
        for text in questions:
            for kind, call in (("search", lambda: service.search(text, k=10)), ("ask", lambda: answerer.ask(text))):
                clock.spent.clear()
                t0 = time.perf_counter()
                call()
                per[kind]["total"].append(time.perf_counter() - t0)
                for name, spent in clock.spent.items():
                    per[kind][name].append(spent)
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)
        for owner, attr, _ in instance:
            del owner.__dict__[attr]
    return {kind: {name: percentiles(values) for name, values in sorted(
        table.items(), key=lambda item: -float(np.mean(item[1])))} for kind, table in per.items()}


def main(argv: list[str] | None = None) -> int:
    from retrieval.bench import vicov_index, vicov_queries
    from retrieval.service import Retrieval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--limit", type=int, default=60, help="the first N ViCoV19QA dev questions")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    service = Retrieval(vicov_index(args.shared)[0])
    service.warm_up()
    typed = [q["text"] for q in vicov_queries(args.shared, args.limit)]
    for form, questions in (("as typed", typed), ("without diacritics", [fold(q) for q in typed])):
        print(f"\nViCoV19QA dev, first {len(questions)} questions {form} (load average {load_average()})")
        alone = without_encoder(service, questions)
        print(f"  encoder excluded: search p50 {alone['search']['p50_ms']} p95 {alone['search']['p95_ms']} ms, "
              f"ask p50 {alone['ask']['p50_ms']} p95 {alone['ask']['p95_ms']} ms (n={alone['ask']['n']})")
        for kind, table in stages(service, questions).items():
            print(f"  {kind}: stage{'':<24}p50 ms  p95 ms")
            for name, row in table.items():
                print(f"    {name:<30}{row['p50_ms']:>7}{row['p95_ms']:>8}")
    print(f"  load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
