"""``make bench``: retrieval quality, speed and memory, printed as a table and written as JSON.

- ViCoV19QA dev split (research use only: evaluated here, never shipped): R@1/5/10 and MRR@10
  of dense, BM25, folded BM25 and hybrid, with queries as written and with diacritics removed;
  the fusion weights' cross-validation re-run (fold spread, weights chosen per fold).
- The abstention model's nested cross-validation re-run over its sources (calibration questions,
  sample gold, archive gold dev items, rewrites): precision/recall per fold and per source, and the
  archive's held-out items (reported only).
- The sample bulletins: the same metrics at document level on the labelled calibration questions.
- Ingest passages/s: the sample bulletins end to end in a fresh process (start-up included: the
  issue-19 target), and once loaded on every archive page and a ViCoV19QA slice (the steady rate);
  search and ask latency p50/p95 (model warm), peak RSS.
The benchmark index is cached (keyed by the corpus hash through ingest's own idempotence), so
only the first run embeds the 3,972 answers.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from retrieval import bench_lookups, bench_passages
from retrieval.evaluation import retrieval_metrics
from retrieval.settings import Settings
from retrieval.text import fold

METHODS = {"dense": ("dense",), "bm25": ("bm25",), "bm25_fold": ("bm25_fold",),
           "hybrid": ("dense", "bm25", "bm25_fold")}


def ingest(paths: list[Path], index: Path) -> dict:
    from retrieval.embedding.embedder import load_embedder
    from retrieval.errors import TrolyaoError
    from retrieval.pipeline import ingest as run_ingest

    started = time.perf_counter()
    torch_before = "torch" in sys.modules
    try:
        embedder = load_embedder(None)
        report = run_ingest(paths, index, embedder)
    except TrolyaoError as exc:
        raise SystemExit(f"bench: ingest failed: {exc}") from exc
    # The embedding share (model or ONNX session load included) and whether ingest needed torch.
    return {"seconds": round(time.perf_counter() - started, 2), "embed_seconds": round(report.embed_seconds, 2),
            "passage_encoder": getattr(embedder, "passage_encoder", "") or "torch",
            "torch_imported": "torch" in sys.modules and not torch_before}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 1), "p95_ms": round(pick(0.95) * 1000, 1), "n": len(ordered)}


def method_table(searcher, queries: dict[str, str], relevant: dict[str, set[str]], key, k: int = 10) -> dict:
    """Metrics per method and query form; ``key`` maps a Hit to the id compared with ``relevant``."""
    table = {}
    for form, transform in (("accented", lambda t: t), ("no_diacritics", fold)):
        texts = [transform(queries[q]) for q in queries]
        for name, methods in METHODS.items():
            results = searcher.search_many(texts, k=50, methods=methods)
            run = {}
            for qid, hits in zip(queries, results):
                ranked = list(dict.fromkeys(key(h) for h in hits))
                run[qid] = ranked[:k]
            table[f"{name}/{form}"] = retrieval_metrics(run, relevant)
    return table


def vicov_index(shared: Path) -> tuple[Path, dict]:
    """The ViCoV19QA benchmark index, cached under $TROLYAO_CACHE/bench (ingest is a no-op when current)."""
    index = Settings.load().cache_dir / "bench" / "vicov19qa-index"
    return index, ingest([shared / "benchmarks" / "vicov19qa" / "corpus.jsonl"], index)


def vicov_service(shared: Path):
    from retrieval.service import Retrieval

    return Retrieval(vicov_index(shared)[0])


def vicov_queries(shared: Path, limit: int | None = None) -> list[dict]:
    """The dev queries, read from ../shared at run time (never copied into the project)."""
    path = shared / "benchmarks" / "vicov19qa" / "queries.jsonl"
    lines = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return lines[:limit] if limit else lines


def vicov(shared: Path, limit: int | None) -> dict:
    from retrieval.service import Retrieval

    index, ingested = vicov_index(shared)
    service = Retrieval(index)
    lines = vicov_queries(shared, limit)
    queries = {q["id"]: q["text"] for q in lines}
    relevant = {q["id"]: set(q["relevant"]) for q in lines}
    table = method_table(service.searcher, queries, relevant, key=lambda h: h.passage.id)
    service.warm_up()
    timings = []
    for text in list(queries.values())[:200]:
        t0 = time.perf_counter()
        service.search(text, k=10)
        timings.append(time.perf_counter() - t0)
    return {"index": str(index), "ingest": ingested, "passages": len(service.index), "metrics": table,
            "search_latency": _percentiles(timings)}


def sample(shared: Path, index: Path) -> dict:
    """``index``: an empty folder, where the sample bulletins are ingested (the speed section reuses it)."""
    from retrieval.answer.calibrate import load_questions
    from retrieval.service import Retrieval
    from retrieval.tasks.accuracy import load_gold, task_accuracy
    from retrieval.tasks.store import load_registry

    ingested = ingest(sorted((shared / "corpus").glob("*")), index)
    service = Retrieval(index)
    questions = [q for q in load_questions() if q.get("expected_docs")]
    queries = {str(i): q["text"] for i, q in enumerate(questions)}
    relevant = {str(i): set(q["expected_docs"]) for i, q in enumerate(questions)}
    table = method_table(service.searcher, queries, relevant, key=lambda h: h.passage.doc_number or h.passage.id)
    service.warm_up()
    timings, search_timings = [], []
    for _ in range(3):
        for q in load_questions():
            t0 = time.perf_counter()
            service.search(q["text"], k=10)
            search_timings.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            service.ask(q["text"])
            timings.append(time.perf_counter() - t0)
    passages = [p.text for p in service.index.passages]
    ingested["passages"] = len(passages)
    ingested["passages_per_s"] = round(len(passages) / max(ingested["seconds"], 1e-9), 1)
    tasks = task_accuracy(load_registry(index).tasks,
                          load_gold(Path(__file__).resolve().parents[1] / "tests" / "data" / "tasks_gold.yaml"))
    return {"ingest": ingested, "passages": len(passages), "metrics": table, "tasks": tasks,
            "ask_latency": _percentiles(timings), "search_latency": _percentiles(search_timings),
            "embed_passages_per_s": embed_rate(service.embedder, passages)}


def embed_rate(embedder, passages: list[str]) -> float:
    """Passages embedded per second, on passages of typical length (the part of ingest that dominates)."""
    embedder.encode_passages(passages[:8])
    batch = (passages * 4)[:256]
    t0 = time.perf_counter()
    embedder.encode_passages(batch)
    return round(len(batch) / (time.perf_counter() - t0), 1)


def ingest_rate(shared: Path, index: Path) -> dict:
    """Ingest of the sample bulletins into an empty ``index``: seconds and passages/s end to end (the
    issue-19 target's figure: a fresh process, so the embedder's and segmenter's start-up included)."""
    return ingest_counted(sorted((shared / "corpus").glob("*")), index)[0]


def ingest_counted(paths: list[Path], index: Path) -> tuple[dict, list[str]]:
    """``ingest`` into an empty ``index``, with the passages it made and their rate; and their texts."""
    from retrieval.index.hybrid import HybridIndex

    ingested = ingest(paths, index)
    texts = [p.text for p in HybridIndex.load(index).passages]
    rate = round(len(texts) / max(ingested["seconds"], 1e-9), 1)
    return {**ingested, "passages": len(texts), "passages_per_s": rate}, texts


VICOV_INGEST_SLICE = 300   # ViCoV19QA answers in the steady-rate measurement (longer than bulletin passages)


def ingest_steady(shared: Path, scratch: Path, cold: dict) -> dict:
    """The per-passage ingest rate once loaded, beside ``cold`` (the sample bulletins' end-to-end ingest,
    which must have run first in this process), each input into its own empty index under ``scratch``:
    the sample bulletins again (``startup_seconds``: cold minus this, the same passages, so what the cold
    ingest spent on imports and on loading the encoder, tokenizer, segmenter and gazetteer), every
    archive page (same genre) and a slice of ViCoV19QA answers (longer: forum posts)."""
    from retrieval.goldset.split import archive_pages

    inputs = {"sample_again": sorted((shared / "corpus").glob("*")), "archive": archive_pages(shared / "archive")}
    vicov_corpus = shared / "benchmarks" / "vicov19qa" / "corpus.jsonl"
    if vicov_corpus.is_file():
        with vicov_corpus.open(encoding="utf-8") as handle:
            lines = [line for line, _ in zip(handle, range(VICOV_INGEST_SLICE))]
        (scratch / "vicov-slice.jsonl").write_text("".join(lines), encoding="utf-8")
        inputs["vicov_slice"] = [scratch / "vicov-slice.jsonl"]
    out: dict = {}
    for name, paths in inputs.items():
        ingested, texts = ingest_counted(paths, scratch / f"steady-{name}")
        out[name] = {key: ingested[key] for key in ("seconds", "embed_seconds", "passages", "passages_per_s")}
        out[name]["chars_per_passage"] = round(sum(map(len, texts)) / max(len(texts), 1))
    out["startup_seconds"] = round(cold["seconds"] - out["sample_again"]["seconds"], 2)
    return out


def print_ingest(cold: dict, steady: dict) -> None:
    print(f"  ingest of the sample bulletins, end to end in a fresh process (start-up included): "
          f"{cold['passages']} passages in {cold['seconds']} s = {cold['passages_per_s']} passages/s "
          f"(target ≥ 20 passages/s; embedding {cold['embed_seconds']} s, {cold['passage_encoder']})")
    for name in ("sample_again", "archive", "vicov_slice"):
        if name in steady:
            s = steady[name]
            print(f"  ingest once loaded, {name}: {s['passages']} passages of {s['chars_per_passage']} chars "
                  f"in {s['seconds']} s = {s['passages_per_s']} passages/s (embedding {s['embed_seconds']} s)")
    print(f"  fixed start-up of the cold ingest (cold minus sample_again: imports, encoder, tokenizer, "
          f"segmenter, gazetteer): {steady['startup_seconds']} s")


def speed(shared: Path, vicov_index_dir: Path, sample_index: Path, limit: int | None,
          encoders: list[str] | None = None, checkpoint=lambda partial: None) -> dict:
    """Issue 19: query encoders side by side, search/ask/encode latency today (torch) vs shipped,
    peak RSS of a process and of the action server, token lengths."""
    from retrieval import bench_speed
    from retrieval.embedding.embedder import SentenceTransformerEmbedder, load_embedder, resolve_model
    from retrieval.goldset.load import load_gold
    from retrieval.index.writer import indexed_text
    from retrieval.service import Retrieval

    root = Path(__file__).resolve().parents[1]
    model = resolve_model(None)
    out: dict = {"load_average_start": bench_speed.load_average()}
    vicov_service = Retrieval(vicov_index_dir)
    sample_service = Retrieval(sample_index)
    lines = vicov_queries(shared, limit)
    gold = [t for item in load_gold(root / "eval" / "gold.yaml") if not item.multi_turn
            for t in item.turns if t.expected_docs]
    archive = [t.question for item in load_gold(root / "eval" / "archive_gold.yaml") for t in item.turns]
    out["tokens"] = bench_speed.token_lengths(
        model,
        {"vicov19qa_dev": [q["text"] for q in lines], "sample_gold": [t.question for t in gold],
         "archive_gold": archive},
        {"vicov19qa": [indexed_text(p) for p in vicov_service.index.passages],
         "sample": [indexed_text(p) for p in sample_service.index.passages]})
    sets = [bench_speed.QuerySet("vicov", vicov_service.index, {q["id"]: q["text"] for q in lines},
                                 {q["id"]: set(q["relevant"]) for q in lines}, lambda h: h.passage.id),
            bench_speed.QuerySet("sample_gold", sample_service.index, {str(i): t.question for i, t in enumerate(gold)},
                                 {str(i): set(t.expected_docs) for i, t in enumerate(gold)},
                                 lambda h: h.passage.doc_number or h.passage.id)]
    # Memory first, then latency, then the long comparison; each section is saved as it ends.
    queries_file = shared / "benchmarks" / "vicov19qa" / "queries.jsonl"
    out["peak_rss"] = {"shipped": bench_speed.peak_rss(vicov_index_dir, queries_file, "default")}
    try:
        out["peak_rss"]["action_server"] = bench_speed.action_server_rss(vicov_index_dir, queries_file)
    except Exception as exc:   # reported, not fatal: the in-process probes still stand
        out["peak_rss"]["action_server"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    out["peak_rss"]["today"] = bench_speed.peak_rss(vicov_index_dir, queries_file, "torch")
    print(f"\n  peak RSS after 200 questions: {json.dumps(out['peak_rss'])}", flush=True)
    checkpoint(out)
    shipped = load_embedder(None)
    out["encoder_shipped"] = (f"onnx-{shipped.query_export.name.split('.onnx-')[1].rsplit('-', 1)[0]}"
                              if shipped.query_export else bench_speed.TORCH)
    # The same questions through today's torch query encoder and the shipped one, in one run.
    questions = [q["text"] for q in lines[:60]]
    today = Retrieval(vicov_index_dir, embedder=SentenceTransformerEmbedder(model))
    out["latency"] = {"today": bench_speed.timed_service(today, questions),
                      "shipped": bench_speed.timed_service(vicov_service, questions)}
    del today
    print(f"  latency: {json.dumps(out['latency'])}", flush=True)
    checkpoint(out)
    print("\nQuery encoders (R@5 per query set/method/form; encode = one question, ViCoV dev)")
    out["encoders"] = bench_speed.compare_encoders(model, sets, [q["text"] for q in lines[:60]], encoders,
                                                   on_variant=lambda table: checkpoint({**out, "encoders": table}))
    out["encoder_chosen_by_rule"] = bench_speed.choose_encoder(out["encoders"])
    out["load_average_end"] = bench_speed.load_average()
    return out


def print_speed(speed_result: dict) -> None:
    from retrieval.bench_speed import TORCH

    today, shipped = speed_result["latency"]["today"], speed_result["latency"]["shipped"]
    ratio = lambda a, b: round(a / b, 2) if b else None  # noqa: E731
    print(f"\nIssue 19, ViCoV19QA dev, first 60 questions (load average {speed_result['load_average_start']} → "
          f"{speed_result['load_average_end']}); query encoder shipped: {speed_result['encoder_shipped']}, "
          f"by the rule (fastest within 0.5 point R@5 of fp32): {speed_result['encoder_chosen_by_rule']}")
    print(f"  {'':<22}{'today (torch)':>16}{'shipped':>12}{'ratio':>8}   target")
    for name, key, target in (("encode p95 ms", "encode", ""), ("search p95 ms", "search", "≤ 40"),
                              ("ask p95 ms", "ask", "≤ 60")):
        a, b = today[key]["p95_ms"], shipped[key]["p95_ms"]
        print(f"  {name:<22}{a:>16}{b:>12}{ratio(b, a)!s:>8}   {target}")
    a, b = today["fusion_over_dense"]["p50"], shipped["fusion_over_dense"]["p50"]
    print(f"  {'search / encode (p50)':<22}{a:>16}{b:>12}{'':>8}   ≤ 1.5")
    rss = speed_result["peak_rss"]
    a, b = rss["today"]["peak_rss_mb"], rss["shipped"]["peak_rss_mb"]
    print(f"  {'peak RSS MB, 200 asks':<22}{a:>16}{b:>12}{ratio(b, a)!s:>8}   ≤ 800")
    print(f"  action server (real process, 200 webhook calls): {rss.get('action_server')}")
    enc = speed_result["encoders"]
    base = enc[TORCH]
    for k in (k for k in base if k.endswith("R@5") and "hybrid" in k):
        print(f"  {k:<40} today {base[k]:.3f}  shipped {enc[speed_result['encoder_shipped']][k]:.3f}")
    toks = speed_result["tokens"]
    print(f"  tokens: {json.dumps(toks, ensure_ascii=False)}")


def fusion_cv(shared: Path, limit: int | None, measured: dict) -> dict:
    """The fusion weights' cross-validation, re-run (never written: that is ``retrieval.search.tune``)."""
    from retrieval.search import tune
    from retrieval.search.searcher import WEIGHTS

    result = tune.tune(shared, limit=limit)
    print()
    tune.print_report(result)
    print(f"  hybrid R@5 through the searcher with the shipped weights: {measured['hybrid/accented']['R@5']:.3f} "
          f"as written, {measured['hybrid/no_diacritics']['R@5']:.3f} without diacritics (issue 12 target: ≥ 0.55)")
    if result["weights"] != WEIGHTS:
        print("  NOTE: the shipped weights (retrieval/search/weights.json) are not what cross-validation chooses "
              "now: re-run python -m retrieval.search.tune --shared ../shared")
    return result


def abstention_cv(shared: Path) -> dict:
    """The abstention model's nested cross-validation over its sources, re-run (never written: that is
    ``retrieval.answer.calibrate``), with the shipped model's figures per source."""
    import io

    from retrieval.answer import calibrate
    from retrieval.answer.abstain import AbstainModel

    result = calibrate.run(shared, log=io.StringIO())
    print()
    calibrate.print_report(result)
    shipped = AbstainModel.load()
    if (list(shipped.features), shipped.threshold) != (result["features"], result["threshold"]):
        print("  NOTE: the shipped abstain.json is not what cross-validation chooses now: "
              "re-run python -m retrieval.answer.calibrate --shared ../shared")
    return result


def print_table(title: str, table: dict) -> None:
    print(f"\n{title}")
    print(f"{'method/query form':<28}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}")
    for name, m in table.items():
        print(f"{name:<28}{m['R@1']:>7.3f}{m['R@5']:>7.3f}{m['R@10']:>7.3f}{m['MRR@10']:>8.3f}")


def write_results(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrieval benchmark")
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/retrieval.json"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N ViCoV19QA queries")
    parser.add_argument("--skip-vicov", action="store_true")
    parser.add_argument("--skip-speed", action="store_true",
                        help="leave out the query encoders' comparison, latency ratios and peak RSS")
    parser.add_argument("--only-speed", action="store_true",
                        help="only the speed and memory section (issue 19), with the indexes it needs")
    parser.add_argument("--only-ingest", action="store_true",
                        help="only the ingest rates: the sample bulletins end to end, then the steady rate")
    parser.add_argument("--only-lookups", action="store_true",
                        help="only the per-question lookups (document catalog, task registry) at a province's size")
    parser.add_argument("--encoders", default=None,
                        help="only these query encoders beside torch-fp32 (comma-separated, e.g. onnx-int8,onnx-O2)")
    parser.add_argument("--skip-cv", action="store_true",
                        help="leave out the cross-validation of the fusion weights and the abstention model")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count()}
    logging.basicConfig(level=logging.WARNING)
    scratch = tempfile.TemporaryDirectory()
    sample_index = Path(scratch.name) / "index"
    if args.only_lookups:
        ingest_rate(args.shared, sample_index)
        results["lookups"] = bench_lookups.lookups(sample_index)
        bench_lookups.print_lookups(results["lookups"])
        results["passages_held"] = bench_passages.passages_cost(sample_index, Path(scratch.name))
        bench_passages.print_passages_cost(results["passages_held"])
        scratch.cleanup()
        write_results(results, args.out)
        return 0
    if args.only_speed or args.only_ingest:
        results["ingest"] = ingest_rate(args.shared, sample_index)
        results["ingest_steady"] = ingest_steady(args.shared, Path(scratch.name), results["ingest"])
    if args.only_ingest:
        print_ingest(results["ingest"], results["ingest_steady"])
        scratch.cleanup()
        write_results(results, args.out)
        return 0
    if args.only_speed:
        def checkpoint(partial: dict) -> None:   # a long run keeps what it has measured so far
            write_results({**results, "speed": partial, "partial": True}, args.out)

        results["speed"] = speed(args.shared, vicov_index(args.shared)[0], sample_index, args.limit,
                                 args.encoders.split(",") if args.encoders else None, checkpoint)
        results["peak_rss_mb"] = results["speed"]["peak_rss"]["shipped"]["peak_rss_mb"]
        print()
        print_ingest(results["ingest"], results["ingest_steady"])
        print_speed(results["speed"])
        scratch.cleanup()
        write_results(results, args.out)
        print(f"\nwritten to {args.out}", file=sys.stderr)
        return 0
    results["sample"] = sample(args.shared, sample_index)
    results["lookups"] = bench_lookups.lookups(sample_index)
    results["passages_held"] = bench_passages.passages_cost(sample_index, Path(scratch.name))
    results["ingest_steady"] = ingest_steady(args.shared, Path(scratch.name), results["sample"]["ingest"])
    print_table(f"Sample bulletins ({results['sample']['passages']} passages, document-level)",
                results["sample"]["metrics"])
    if not args.skip_vicov:
        results["vicov19qa"] = vicov(args.shared, args.limit)
        print_table(f"ViCoV19QA dev ({results['vicov19qa']['passages']} passages)", results["vicov19qa"]["metrics"])
        if not args.skip_cv:
            results["fusion_cv"] = fusion_cv(args.shared, args.limit, results["vicov19qa"]["metrics"])
    if not args.skip_cv:
        results["abstention_cv"] = abstention_cv(args.shared)
    if "vicov19qa" in results and not args.skip_speed:
        results["speed"] = speed(args.shared, Path(results["vicov19qa"]["index"]), sample_index, args.limit,
                                 args.encoders.split(",") if args.encoders else None)
        results["peak_rss_mb"] = results["speed"]["peak_rss"]["shipped"]["peak_rss_mb"]
    scratch.cleanup()
    from retrieval.index import diacritics_eval

    results["diacritics"] = diacritics_eval.evaluate(args.shared, pyvi=True)
    print("\nTask extraction vs tests/data/tasks_gold.yaml (targets: lead P ≥ 0.95, R ≥ 0.90; deadline ≥ 0.90)")
    for name, value in results["sample"]["tasks"].items():
        print(f"  {name:<28}{value}")
    print("\nSpeed and memory")
    print(f"  embed passages/s: {results['sample']['embed_passages_per_s']}")
    print_ingest(results["sample"]["ingest"], results["ingest_steady"])
    print(f"  search latency (sample questions): {results['sample']['search_latency']}")
    print(f"  ask latency (sample questions): {results['sample']['ask_latency']}")
    if "vicov19qa" in results:
        print(f"  search latency (ViCoV19QA questions, longer): {results['vicov19qa']['search_latency']}")
    if "speed" in results:
        print_speed(results["speed"])
    bench_lookups.print_lookups(results["lookups"])
    bench_passages.print_passages_cost(results["passages_held"])
    print(f"  diacritic restoration: {json.dumps(results['diacritics'], ensure_ascii=False)[:400]}")
    write_results(results, args.out)
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
