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


def _tag(args: dict) -> str:
    """The question set's file tag: the first set (settings are chosen on it) or the held-out one."""
    return "heldout-" if args.get("questions") == "heldout" else ""


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


def _query_tokens(work: Path, n: int, field: str, tag: str = "") -> list[list[str]]:
    from retrieval.index.scale.lexical_runs import query_names

    stored = np.load(work / f"qtokens-{field}-{tag}{n}.npz")
    offsets = stored["offsets"]
    return [query_names(stored["tokens"][offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]


def _bm25_dir(work: Path, n: int, field: str, suffix: str = "") -> Path:
    return work / f"bm25-{field}-{n}{suffix}"


def _load_bm25(work: Path, n: int, field: str, suffix: str = ""):
    """A field as the serving process loads it (``bm25field.load_field``: float or compact)."""
    from retrieval.index.bm25field import load_field

    return load_field(_bm25_dir(work, n, field, suffix))


def _served_mb(directory: Path) -> float:
    """What a search maps and reads of a field: every file but bm25s' vocabulary JSON when the trie
    replaces it (the rest are arrays read per query, or the dict the JSON becomes)."""
    from retrieval.index.terms import has_lookup

    skip = {"vocab.index.json"} if has_lookup(directory) else set()
    return round(sum(p.stat().st_size for p in directory.iterdir() if p.name not in skip) / 2**20, 1)


def bm25_serve(args: dict) -> dict:
    """Load (RSS: the vocabulary dict, or a compact field's trie) and score every row per question
    by the serving reader (``hybrid.bm25_scores``, impacts decoded)."""
    from retrieval.index.hybrid import bm25_scores

    work, n = _files(args)
    base = memory_mb()["rss_mb"]
    t0 = time.perf_counter()
    retriever = _load_bm25(work, n, args["field"], args.get("suffix", ""))
    load_s = time.perf_counter() - t0
    loaded = memory_mb()["rss_mb"] - base
    queries = _query_tokens(work, n, args["field"])
    _, times = timed(lambda q: bm25_scores(retriever, q, n), queries)
    return {"load_s": round(load_s, 2), "loaded_mb": round(loaded, 1), **latency_ms(times), **memory_mb()}


def bm25_compact(args: dict) -> dict:
    """A built field made compact as the writer makes it above 10^5 passages (``bm25field.save_field``):
    the vocabulary as a trie, weights as ``bits``-bit impacts, statistics of the decoded weights; into
    ``bm25-FIELD-N-compactBITS`` (bm25s' other files linked, not copied)."""
    from retrieval.index.bm25field import make_compact

    work, n = _files(args)
    bits = int(args.get("bits", 8))
    source, out = _bm25_dir(work, n, args["field"]), _bm25_dir(work, n, args["field"], f"-compact{bits}")
    out.mkdir(exist_ok=True)
    for path in source.iterdir():
        if not path.name.startswith("stats") and not (out / path.name).exists():
            (out / path.name).symlink_to(path.resolve())
    vocab = json.loads((out / "vocab.index.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    make_compact(out, vocab, bits)
    return {"compact_s": round(time.perf_counter() - t0, 1), "served_mb": _served_mb(out),
            "float_served_mb": _served_mb(source), **memory_mb()}


def stats_build(args: dict) -> dict:
    """What the writer precomputes for candidate search, timed: the vectors' moments and each BM25
    field's term statistics (the writer's own functions)."""
    from retrieval.index.moments import DenseMoments
    from retrieval.index.postings import write_stats

    work, n = _files(args)
    generation = work / f"gen-{n}"
    generation.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    DenseMoments.of(np.load(work / f"vectors-{n}.npy", mmap_mode="r")).save(generation)
    out = {"dense_moments_s": round(time.perf_counter() - t0, 2)}
    for field in ("vi", "fold"):
        retriever = _load_bm25(work, n, field)
        t0 = time.perf_counter()
        write_stats(retriever.scores, work / f"bm25-{field}-{n}")
        out[f"{field}_stats_s"] = round(time.perf_counter() - t0, 2)
        out[f"{field}_stats_mb"] = round(sum(p.stat().st_size for p in (work / f"bm25-{field}-{n}").glob("stats.*"))
                                         / 2**20, 1)
    return {**out, **memory_mb()}


def _candidate_search(work: Path, n: int, args: dict, suffix: str):
    """The serving search of a built structure and the fields in ``bm25-F-N{suffix}``: (spec, search,
    the loaded fields)."""
    from retrieval.index.dense import DenseSearch
    from retrieval.index.moments import DenseMoments
    from retrieval.index.postings import FieldPostings
    from retrieval.search.candidates import CandidateSearch, DenseSide

    spec, index, _ = _open_dense(work, n, args)
    vectors = np.load(work / f"vectors-{n}.npy", mmap_mode="r")
    search_dense = DenseSearch(index, spec, vectors if spec.type == "ivfpq" else None)
    # IVF-SQ decodes any row's cosine from its codes: the exact vectors are not read per query.
    dense = DenseSide(search_dense, None if search_dense.decodes_rows else vectors,
                      DenseMoments.load(work / f"gen-{n}"))
    served = {f: _load_bm25(work, n, f, suffix) for f in ("vi", "fold")}
    fields = {f: FieldPostings.open(served[f], _bm25_dir(work, n, f, suffix)) for f in served}
    return spec, CandidateSearch(dense, {"bm25": fields["vi"], "bm25_fold": fields["fold"]}, n), served


def hybrid_ab(args: dict) -> dict:
    """Latency of two serving configurations interleaved question by question in one process (same
    machine load for both): ``a`` and ``b`` each {name, spec, suffix}; rows each returns, compared."""
    from retrieval.search.searcher import WEIGHTS

    work, n = _files(args)
    searches = {k: _candidate_search(work, n, {**args, **args[k]}, args[k].get("suffix", ""))[1] for k in ("a", "b")}
    queries, _ = _queries(work, n)
    tokens = {f: _query_tokens(work, n, f) for f in ("vi", "fold")}
    times = {k: [] for k in searches}
    same = []
    for i in range(len(queries)):
        rows = {}
        for k in (("a", "b") if i % 2 == 0 else ("b", "a")):
            t0 = time.perf_counter()
            rows[k] = searches[k].search(queries[i], {"bm25": tokens["vi"][i], "bm25_fold": tokens["fold"][i]},
                                         WEIGHTS["accented"], 10).rows
            if i >= 5:   # the first few warm the maps, as ``timed`` does
                times[k].append(time.perf_counter() - t0)
        same.append(len(set(rows["a"].tolist()) & set(rows["b"].tolist())) / 10)
    return {**{k: latency_ms(v) for k, v in times.items()}, "top10_overlap": round(float(np.mean(same)), 4),
            **memory_mb()}


def _steps(ranked: list, times: list[float]) -> dict:
    """Where the time goes: each step's median over every question, and its mean over the slowest
    tenth (the questions the p95 is made of)."""
    slow = np.argsort(times)[-max(1, len(times) // 10):]
    steps = sorted({s for r in ranked for s in r.trace.get("ms", {})})
    return {s: {"p50": round(float(np.median([r.trace["ms"].get(s, 0.0) for r in ranked])), 2),
                "slowest_tenth": round(float(np.mean([ranked[i].trace["ms"].get(s, 0.0) for i in slow])), 2)}
            for s in steps}


def hybrid(args: dict) -> dict:
    """The serving search at this size (``retrieval/search/candidates.py``, what ``Searcher`` runs
    above its threshold: the chosen dense structure + both BM25 fields), against the exhaustive
    fusion (``Searcher.method_scores``' functions: every row scored, exact cosines)."""
    from retrieval.index.hybrid import bm25_scores
    from retrieval.search.fusion import top_rows, weighted_zscore_fusion
    from retrieval.search.searcher import WEIGHTS

    work, n = _files(args)
    suffix = args.get("suffix", "")   # "-compact8": the fields as the writer stores them above 10^5
    base = memory_mb()["rss_mb"]
    spec, search, served = _candidate_search(work, n, args, suffix)
    dense, vectors = search.dense, np.load(work / f"vectors-{n}.npy", mmap_mode="r")
    loaded = memory_mb()["rss_mb"] - base
    files_mb = {"dense": round((work / f"dense-{n}-{args['name']}.faiss").stat().st_size / 2**20, 1),
                "vectors_read_per_query": round((work / f"vectors-{n}.npy").stat().st_size / 2**20, 1)
                if dense.vectors is not None or spec.type == "ivfpq" else 0.0,
                **{f"bm25_{f}": _served_mb(_bm25_dir(work, n, f, suffix)) for f in served}}
    tag = _tag(args)
    queries = np.load(work / f"queries-{tag}{n}.npy")
    tokens = {f: _query_tokens(work, n, f, tag) for f in served}
    weights = WEIGHTS["accented"]
    items = list(range(len(queries)))

    def candidates(i: int):
        return search.search(queries[i], {"bm25": tokens["vi"][i], "bm25_fold": tokens["fold"][i]}, weights, 10)

    ranked, times = timed(candidates, items)
    after = memory_mb()
    # The reference: every row scored from the float weights and exact cosines (loaded only now, so
    # the figures above are the serving search's own).
    bm25 = served if not suffix else {f: _load_bm25(work, n, f) for f in ("vi", "fold")}
    t0 = time.perf_counter()
    exhaustive, approximate, exhaustive_times = [], [], []
    for i in items[:args.get("exhaustive_questions") or len(items)]:
        t1 = time.perf_counter()
        lexical = {"bm25": bm25_scores(bm25["vi"], tokens["vi"][i], n),
                   "bm25_fold": bm25_scores(bm25["fold"], tokens["fold"][i], n)}
        exact = np.asarray(vectors) @ queries[i]
        exhaustive.append(top_rows(weighted_zscore_fusion({"dense": exact, **lexical}, weights), None, 10))
        exhaustive_times.append(time.perf_counter() - t1)
        # What the searcher fused at this size before candidates: the structure's cosines, every
        # unlisted row at the weakest listed one (which shrinks the dense deviation).
        listed = dense.search.scores(queries[i])
        approximate.append(top_rows(weighted_zscore_fusion({"dense": listed, **lexical}, weights), None, 10))
    return {"loaded_mb": round(loaded, 1), "files_mb": files_mb, "suffix": suffix, "hybrid": latency_ms(times),
            "steps_ms": _steps(ranked, times),
            "recall_at_10": round(_recall([r.rows for r in ranked], np.array(exhaustive)), 4),
            "scored_p50": int(np.median([r.scored for r in ranked])),
            "scored_p95": int(np.percentile([r.scored for r in ranked], 95)),
            "questions": args.get("questions") or "first", "proven": round(float(np.mean(
                [bool(r.trace.get("proven")) for r in ranked])), 3),
            "exhaustive": {**latency_ms(exhaustive_times), "questions": len(exhaustive),
                           "seconds": round(time.perf_counter() - t0, 1)},
            "exhaustive_listed_dense_recall_at_10": round(_recall(approximate, np.array(exhaustive)), 4),
            **after, "peak_rss_after_exhaustive_mb": memory_mb()["peak_rss_mb"]}


TASKS = {f.__name__: f for f in (dense_build, dense_serve, bm25_build, bm25_serve, bm25_compact, stats_build,
                                  hybrid, hybrid_ab)}

if __name__ == "__main__":
    task, raw = sys.argv[1], sys.argv[2]
    if task == "milvus":
        from retrieval.index.scale.milvus_runs import run as milvus_run

        result = milvus_run(json.loads(raw))
    else:
        result = TASKS[task](json.loads(raw))
    print(json.dumps(result))
