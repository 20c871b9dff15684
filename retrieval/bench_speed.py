"""The speed and memory half of ``make bench`` (issue 19): query encoders side by side, the cost of
fusion over dense encoding, search/ask latency today (torch) vs shipped (ONNX), peak RSS of an action
server, and the token lengths questions and passages need.

Every ratio compares figures measured in the same run: the machine is shared, absolute milliseconds
vary with its load (printed beside them).
"""
from __future__ import annotations

import gc
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from retrieval.evaluation import retrieval_metrics
from retrieval.text import fold

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch-fp32"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 1), "p95_ms": round(pick(0.95) * 1000, 1), "n": len(ordered)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- query encoder variants


class CompactWordEmbedding:
    """The word-embedding table stored in fp16 or int8 (one scale per row), widened to fp32 per lookup."""

    def __new__(cls, weight, storage: str):
        import torch

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                w = weight.detach()
                if storage == "fp16":
                    self.register_buffer("table", w.half())
                    self.scale = None
                else:
                    scale = (w.abs().amax(dim=1, keepdim=True) / 127.0).clamp_min(1e-12)
                    self.register_buffer("table", torch.round(w / scale).to(torch.int8))
                    self.register_buffer("scale", scale.float())
                self.embedding_dim = w.shape[1]

            def forward(self, ids):
                rows = torch.nn.functional.embedding(ids, self.table).float()
                return rows if self.scale is None else rows * self.scale[ids]

        return Module()


@dataclass
class Variant:
    name: str
    make: Callable[[], Callable[[list[str]], np.ndarray]]   # → encode(texts)


def variants(model: str, only: list[str] | None = None) -> list[Variant]:
    from retrieval.embedding.embedder import E5_PROMPTS, SentenceTransformerEmbedder, _cpu_count
    from retrieval.embedding.onnx_encoder import OnnxEncoder
    from retrieval.embedding.onnx_export import VARIANTS, ensure_exports

    def torch_encoder(storage: str | None):
        def make():
            embedder = SentenceTransformerEmbedder(model)   # no ONNX export: torch encodes queries
            st = embedder._load()
            if storage:
                bert = st[0].auto_model
                bert.embeddings.word_embeddings = CompactWordEmbedding(bert.embeddings.word_embeddings.weight,
                                                                       storage)
                gc.collect()
            return embedder.encode_queries
        return make

    # Cached: built once per model/exporter version; only the variants asked for (a build takes minutes).
    wanted = tuple(v for v in VARIANTS if not only or f"onnx-{v}" in only)
    exports = ensure_exports(Path(model), wanted)

    def onnx_encoder(variant: str):
        return lambda: OnnxEncoder(exports[variant], E5_PROMPTS[0], _cpu_count()).encode

    # The base first, then the likeliest choices: a long run cut short keeps what matters most.
    onnx = {v: Variant(f"onnx-{v}", onnx_encoder(v)) for v in VARIANTS}
    first = ("int8-q4", "int8-q4-fo4", "q4-L4", "O2-wte-int8", "q4-L0", "int8")
    return ([Variant(TORCH, torch_encoder(None))] + [onnx[v] for v in first]
            + [onnx[v] for v in VARIANTS if v not in first]
            + [Variant("torch-wte-int8", torch_encoder("int8")), Variant("torch-wte-fp16", torch_encoder("fp16"))])


class Precomputed:
    """An embedder answering from vectors encoded beforehand (the searcher asks one text at a time)."""

    def __init__(self, name: str, vectors: dict[str, np.ndarray]):
        self.name, self.vectors = name, vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


class _LexicalMemo:
    """An index whose BM25 scores are remembered per query: the variants differ only in their dense side."""

    def __init__(self, index):
        self._index, self._memo = index, {}

    def __getattr__(self, name):
        return getattr(self._index, name)

    def __len__(self) -> int:
        return len(self._index)

    def bm25_scores(self, field: str, tokens: list[str]) -> np.ndarray:
        key = (field, tuple(tokens))
        if key not in self._memo:
            self._memo[key] = self._index.bm25_scores(field, tokens)
        return self._memo[key]


def _recall_at_5(searcher, queries: dict[str, str], relevant: dict[str, set[str]], key, methods) -> float:
    hits = searcher.search_many(list(queries.values()), k=20, methods=methods)
    run = {qid: list(dict.fromkeys(key(h) for h in found))[:10] for qid, found in zip(queries, hits)}
    return retrieval_metrics(run, relevant)["R@5"]


@dataclass
class QuerySet:
    """Queries of one index, with the key a Hit is judged by."""

    name: str
    index: object           # HybridIndex
    queries: dict[str, str]
    relevant: dict[str, set[str]]
    key: Callable


def compare_encoders(model: str, sets: list[QuerySet], latency_texts: list[str],
                     only: list[str] | None = None, on_variant=lambda table: None) -> dict:
    """Each variant: R@5 (dense, hybrid; as written and without diacritics) on each query set, cosine to
    torch fp32, single-query encoding p50/p95 on ``latency_texts``."""
    from retrieval.search.searcher import ALL_METHODS, QueryView, Searcher

    # The texts the dense side sees: the accented view of each query, in both forms.
    forms = {"accented": lambda t: t, "no_diacritics": fold}
    texts = sorted({QueryView.of(f(q), s.index.restorer).accented for s in sets for q in s.queries.values()
                    for f in forms.values()})
    out: dict[str, dict] = {}
    reference = None
    indexes = {s.name: _LexicalMemo(s.index) for s in sets}
    for variant in variants(model, only):
        if only and variant.name not in only and variant.name != TORCH:   # fp32 is always the base
            continue
        started = time.perf_counter()
        encode = variant.make()
        encode(["khởi động"])
        loaded = time.perf_counter() - started
        matrix = encode(texts)
        vectors = dict(zip(texts, matrix))
        if reference is None:
            reference = matrix
        cosine = (matrix * reference).sum(axis=1)
        timings = []
        for text in latency_texts:
            t0 = time.perf_counter()
            encode([text])
            timings.append(time.perf_counter() - t0)
        row = {"load_s": round(loaded, 2), "encode": percentiles(timings),
               "cosine_to_fp32": {"min": round(float(cosine.min()), 4), "mean": round(float(cosine.mean()), 5)}}
        embedder = Precomputed(variant.name, vectors)
        for s in sets:
            searcher = Searcher(indexes[s.name], embedder)
            for form, f in forms.items():
                queries = {q: f(t) for q, t in s.queries.items()}
                for method, methods in (("dense", ("dense",)), ("hybrid", ALL_METHODS)):
                    row[f"{s.name}/{method}/{form}/R@5"] = round(
                        _recall_at_5(searcher, queries, s.relevant, s.key, methods), 4)
        out[variant.name] = row
        on_variant(out)
        print(f"  {variant.name:<16} encode p50 {row['encode']['p50_ms']:>6} ms p95 {row['encode']['p95_ms']:>6} ms  "
              + "  ".join(f"{k.replace('/R@5', '')} {v:.3f}" for k, v in row.items() if k.endswith("R@5")), flush=True)
        del encode, embedder, vectors
        gc.collect()
    return out


def choose_encoder(table: dict, tolerance: float = 0.005) -> str:
    """The fastest variant whose every hybrid R@5 (what search answers with) is within ``tolerance``
    of torch fp32's (or above it). Dense-only R@5 is printed, not judged: on the 83 sample gold
    questions one question is 1.2 points."""
    base = table[TORCH]
    keep = [name for name, row in table.items()
            if all(row[k] >= base[k] - tolerance for k in base if k.endswith("R@5") and "/hybrid/" in k)]
    return min(keep, key=lambda name: table[name]["encode"]["p50_ms"])


# ---------------------------------------------------------------- latency, fusion cost


def timed_service(service, questions: list[str]) -> dict:
    """Search and ask p50/p95, and the dense query encoding alone, on the same questions in one loop."""
    from retrieval.search.searcher import QueryView

    service.warm_up()
    encode, search, ask = [], [], []
    for text in questions:
        view = QueryView.of(text, service.index.restorer)
        t0 = time.perf_counter()
        service.embedder.encode_queries([view.accented])
        t1 = time.perf_counter()
        service.search(text, k=10)
        t2 = time.perf_counter()
        service.ask(text)
        t3 = time.perf_counter()
        encode.append(t1 - t0)
        search.append(t2 - t1)
        ask.append(t3 - t2)
    result = {"encode": percentiles(encode), "search": percentiles(search), "ask": percentiles(ask)}
    result["fusion_over_dense"] = {
        "p50": round(result["search"]["p50_ms"] / max(result["encode"]["p50_ms"], 1e-3), 2),
        "mean": round(sum(search) / max(sum(encode), 1e-9), 2)}
    return result


# ---------------------------------------------------------------- peak RSS


_RSS_PROBE = """
import json, sys
from pathlib import Path
from retrieval.service import Retrieval
index, queries, count, encoder = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
embedder = None
if encoder == "torch":
    from retrieval.embedding.embedder import SentenceTransformerEmbedder, resolve_model
    embedder = SentenceTransformerEmbedder(resolve_model(None))   # today's: no ONNX export
service = Retrieval(index, embedder=embedder)
service.warm_up()
texts = [json.loads(l)["text"] for l in open(queries, encoding="utf-8")][:count]
for q in texts:
    service.ask(q)
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across execve, so a child started by a
# big parent (this bench) would report the parent's peak.
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({"peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
                  "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
                  "torch_imported": "torch" in sys.modules}))
"""


def peak_rss(index: Path, queries: Path, encoder: str, count: int = 200) -> dict:
    """Peak RSS of a fresh process holding the model and the index after ``count`` asks."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(index), str(queries), str(count), encoder],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def action_server_rss(index: Path, queries: Path, count: int = 200) -> dict:
    """Peak RSS (VmHWM) of the real action server (``python -m actions.server``) after ``count``
    questions through its webhook, each as Rasa sends a fallback-to-documents action."""
    import socket
    import subprocess
    import sys
    import tempfile

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    texts = [json.loads(line)["text"] for line in queries.read_text(encoding="utf-8").splitlines()[:count]]
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TROLYAO_INDEX": str(index), "TROLYAO_DATA": data,
               "TROLYAO_ENV_FILE": ""}
        # Its log goes to a file: an undrained pipe fills up and blocks the server mid-run.
        log_path = Path(data) / "actions.log"
        log_file = open(log_path, "w")
        process = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:   # /health answers once the index and the model are loaded
                if process.poll() is not None:
                    raise RuntimeError(f"action server exited: {log_path.read_text()[-500:]}")
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("action server did not become healthy in 180 s")
                time.sleep(0.5)
            failures, errors = 0, []
            with httpx.Client(timeout=180) as client:
                for i, text in enumerate(texts):
                    tracker = {"sender_id": f"bench-{i}", "slots": {}, "events": [], "paused": False,
                               "followup_action": None, "active_loop": {}, "latest_action_name": None,
                               "latest_message": {"text": text, "intent": {"name": "nlu_fallback"},
                                                  "intent_ranking": [], "entities": []}}
                    try:
                        response = client.post(f"{url}/webhook", json={
                            "next_action": "action_fallback_retrieval", "sender_id": f"bench-{i}",
                            "tracker": tracker, "domain": {}, "version": "3.6.0"})
                        ok = response.status_code == 200
                    except httpx.HTTPError as exc:   # counted; the process's memory is still measured
                        ok = False
                        errors.append(f"{type(exc).__name__} on question {i}")
                    failures += not ok
            status = Path(f"/proc/{process.pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            hwm = int(fields["VmHWM"].split()[0]) / 1024
            rss = int(fields["VmRSS"].split()[0]) / 1024
            return {"peak_rss_mb": round(hwm, 1), "rss_mb": round(rss, 1), "questions": len(texts),
                    "failed": failures, "errors": errors[:5]}
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            log_file.close()


# ---------------------------------------------------------------- token lengths


def token_lengths(model: str, questions: dict[str, list[str]], passages: dict[str, list[str]]) -> dict:
    """Token counts (with the e5 prompt) of the questions and the passages each set holds."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tokenizer.encode_special_tokens = True

    def stats(texts: list[str], prompt: str) -> dict:
        n = np.array([len(e.ids) for e in tokenizer.encode_batch([prompt + t for t in texts])])
        return {"n": int(n.size), "p50": float(np.percentile(n, 50)), "p95": float(np.percentile(n, 95)),
                "p99": float(np.percentile(n, 99)), "max": int(n.max()), "over_512": int((n > 512).sum())}

    return {"questions": {k: stats(v, "query: ") for k, v in questions.items()},
            "passages": {k: stats(v, "passage: ") for k, v in passages.items()}}


def main(argv: list[str] | None = None) -> int:
    """Peak RSS alone (today's torch and the shipped query encoder, and the real action server) over
    an index, written as JSON: ``python -m retrieval.bench_speed INDEX QUERIES.jsonl OUT.json``."""
    import sys

    index, queries, out = (Path(a) for a in (argv or sys.argv[1:]))
    result = {"load_average_start": load_average(), "shipped": peak_rss(index, queries, "default")}
    try:
        result["action_server"] = action_server_rss(index, queries)
    except Exception as exc:
        result["action_server"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    result["today"] = peak_rss(index, queries, "torch")
    result["load_average_end"] = load_average()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
