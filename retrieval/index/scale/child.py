"""One measurement, in a process of its own: ``python -m retrieval.index.scale.child TASK JSON``.

The parent (``retrieval.index.scale.bench``) writes the synthetic data into a work directory; each
task reads it from there and prints one JSON line: build time, bytes, memory, latency, recall.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from retrieval.index.scale.probe import latency_ms, memory_mb, timed


def _files(args: dict) -> tuple[Path, int]:
    return Path(args["workdir"]), int(args["n"])


def _queries(work: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.load(work / f"queries-{n}.npy"), np.load(work / f"truth-{n}.npy")


def _recall(found: list[np.ndarray], truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def dense_build(args: dict) -> dict:
    import faiss

    from retrieval.index.dense import DenseSpec, build

    work, n = _files(args)
    spec = DenseSpec.from_dict(args["spec"])
    vectors = np.load(work / f"vectors-{n}.npy", mmap_mode="r")
    t0 = time.perf_counter()
    index = build(vectors, spec)
    seconds = time.perf_counter() - t0
    path = work / f"dense-{n}-{args['name']}.faiss"
    faiss.write_index(index, str(path))
    return {"build_s": round(seconds, 2), "index_mb": round(path.stat().st_size / 2**20, 1), **memory_mb()}


def _open_dense(work: Path, n: int, args: dict):
    """The built structure as a search reads it: its spec, the FAISS index, and for IVF-PQ the exact
    vectors it rescores with (memory-mapped)."""
    import faiss

    from retrieval.index.dense import DenseSpec

    spec = DenseSpec.from_dict(args["spec"])
    index = faiss.read_index(str(work / f"dense-{n}-{args['name']}.faiss"))
    vectors = np.load(work / f"vectors-{n}.npy", mmap_mode="r") if spec.type == "ivfpq" else None
    return spec, index, vectors


def dense_serve(args: dict) -> dict:
    from retrieval.index.dense import DenseSearch, DenseSpec

    work, n = _files(args)
    base = memory_mb()["rss_mb"]
    spec, index, vectors = _open_dense(work, n, args)
    loaded = memory_mb()["rss_mb"] - base
    queries, truth = _queries(work, n)
    sweep = []
    for value in args.get("sweep") or [None]:
        run_spec = spec if value is None else DenseSpec.from_dict({**spec.to_dict(), args["param"]: value})
        search = DenseSearch(index, run_spec, vectors)
        found, times = timed(lambda q: search.candidates(q, 10)[1], list(queries))
        sweep.append({args["param"]: value, **latency_ms(times), "recall_at_10": round(_recall(found, truth), 4)}
                     if value is not None else {**latency_ms(times), "recall_at_10": round(_recall(found, truth), 4)})
    return {"loaded_mb": round(loaded, 1), **memory_mb(), "sweep": sweep}


def bm25_build(args: dict) -> dict:
    from retrieval.index.scale.lexical_runs import retriever_from
    from retrieval.index.scale.synth import TokenCorpus

    work, n = _files(args)
    stored = np.load(work / f"tokens-{args['field']}-{n}.npz")
    corpus = TokenCorpus(stored["tokens"], stored["offsets"], int(stored["vocabulary"]))
    t0 = time.perf_counter()
    retriever = retriever_from(corpus)
    out = work / f"bm25-{args['field']}-{n}"
    retriever.save(str(out), show_progress=False)
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.iterdir())
    result = {"build_s": round(seconds, 2), "index_mb": round(size / 2**20, 1), "vocabulary": corpus.vocabulary,
              "postings": int(len(retriever.scores["data"])), **memory_mb()}
    if args.get("with_bm25s_index"):
        # The writer's own path (bm25s.index over token lists), timed for comparison.
        import bm25s

        docs = [corpus.passage(i).tolist() for i in range(len(corpus))]
        t0 = time.perf_counter()
        reference = bm25s.BM25(k1=1.5, b=0.75)
        reference.index(bm25s.tokenization.Tokenized(ids=docs, vocab={f"t{t}": t for t in range(corpus.vocabulary)}),
                        show_progress=False)
        result["bm25s_index_s"] = round(time.perf_counter() - t0, 2)
    return result


def _query_tokens(work: Path, n: int, field: str) -> list[list[str]]:
    from retrieval.index.scale.lexical_runs import query_names

    stored = np.load(work / f"qtokens-{field}-{n}.npz")
    offsets = stored["offsets"]
    return [query_names(stored["tokens"][offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]


def _load_bm25(work: Path, n: int, field: str):
    from retrieval.index.hybrid import import_bm25s

    return import_bm25s().BM25.load(str(work / f"bm25-{field}-{n}"), mmap=True, show_progress=False, verbosity=0)


def bm25_serve(args: dict) -> dict:
    work, n = _files(args)
    base = memory_mb()["rss_mb"]
    t0 = time.perf_counter()
    retriever = _load_bm25(work, n, args["field"])
    load_s = time.perf_counter() - t0
    loaded = memory_mb()["rss_mb"] - base
    queries = _query_tokens(work, n, args["field"])
    _, times = timed(lambda q: retriever.get_scores(q), queries)
    return {"load_s": round(load_s, 2), "loaded_mb": round(loaded, 1), **latency_ms(times), **memory_mb()}


def hybrid(args: dict) -> dict:
    """Dense (the chosen structure) + both BM25 fields + the searcher's fusion, per question."""
    from retrieval.index.dense import DenseSearch
    from retrieval.index.scale.lexical_runs import bincount_scores
    from retrieval.search.fusion import top_rows, weighted_zscore_fusion
    from retrieval.search.searcher import WEIGHTS

    work, n = _files(args)
    base = memory_mb()["rss_mb"]
    spec, index, vectors = _open_dense(work, n, args)
    search = DenseSearch(index, spec, vectors)
    bm25 = {f: _load_bm25(work, n, f) for f in ("vi", "fold")}
    loaded = memory_mb()["rss_mb"] - base
    queries, truth = _queries(work, n)
    tokens = {f: _query_tokens(work, n, f) for f in bm25}
    weights = WEIGHTS["accented"]

    def one(i: int):
        scores = {"dense": search.scores(queries[i]),
                  "bm25": np.asarray(bm25["vi"].get_scores(tokens["vi"][i]), dtype=np.float32),
                  "bm25_fold": np.asarray(bm25["fold"].get_scores(tokens["fold"][i]), dtype=np.float32)}
        return top_rows(weighted_zscore_fusion(scores, weights), None, 10)

    def one_bincount(i: int):
        scores = {"dense": search.scores(queries[i]),
                  "bm25": bincount_scores(bm25["vi"], tokens["vi"][i]),
                  "bm25_fold": bincount_scores(bm25["fold"], tokens["fold"][i])}
        return top_rows(weighted_zscore_fusion(scores, weights), None, 10)

    items = list(range(len(queries)))
    _, dense_times = timed(lambda i: search.scores(queries[i]), items)
    _, hybrid_times = timed(one, items)
    _, bincount_times = timed(one_bincount, items)
    return {"loaded_mb": round(loaded, 1), "dense": latency_ms(dense_times), "hybrid": latency_ms(hybrid_times),
            "hybrid_bm25_bincount": latency_ms(bincount_times), **memory_mb()}


TASKS = {f.__name__: f for f in (dense_build, dense_serve, bm25_build, bm25_serve, hybrid)}

if __name__ == "__main__":
    task, raw = sys.argv[1], sys.argv[2]
    if task == "milvus":
        from retrieval.index.scale.milvus_runs import run as milvus_run

        result = milvus_run(json.loads(raw))
    else:
        result = TASKS[task](json.loads(raw))
    print(json.dumps(result))
