"""milvus-lite beside FAISS and bm25s: the same synthetic vectors and token streams, through
pymilvus' ``MilvusClient("file.db")`` (the client a Milvus cluster is driven by).

One collection: the vector (HNSW or IVF_FLAT, inner product on unit vectors = cosine), the passage's
tokens as text (its standard analyzer splits on spaces, as our syllables are) and the BM25 sparse
field Milvus derives from it. Measured: insert + index time, process memory, dense / BM25 / hybrid p95,
dense recall@10 against exact search.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from retrieval.index.scale.probe import latency_ms, memory_mb, timed

BATCH = 2000


def _text(tokens: np.ndarray) -> str:
    return " ".join(f"t{t}" for t in tokens.tolist())


def run(args: dict) -> dict:
    from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, WeightedRanker

    work, n = Path(args["workdir"]), int(args["n"])
    vectors = np.load(work / f"vectors-{n}.npy", mmap_mode="r")
    # Fewer questions than FAISS gets: each milvus-lite search costs 10^2–10^3 ms (pure Python).
    limit = int(args.get("questions", 20))
    queries, truth = np.load(work / f"queries-{n}.npy")[:limit], np.load(work / f"truth-{n}.npy")[:limit]
    stored = np.load(work / f"tokens-vi-{n}.npz")
    tokens, offsets = stored["tokens"], stored["offsets"]
    qstored = np.load(work / f"qtokens-vi-{n}.npz")
    qtexts = [_text(qstored["tokens"][qstored["offsets"][i]:qstored["offsets"][i + 1]])
              for i in range(len(qstored["offsets"]) - 1)][:limit]
    base = memory_mb()["rss_mb"]
    client = MilvusClient(str(work / f"milvus-{n}.db"))
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    client.create_collection("passages", schema=schema)
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        end = min(n, start + BATCH)
        client.insert("passages", [{"id": i, "vec": vectors[i].tolist(),
                                    "text": _text(tokens[offsets[i]:offsets[i + 1]])} for i in range(start, end)])
    insert_s = time.perf_counter() - t0
    params = client.prepare_index_params()
    dense_index = args.get("index", "HNSW")
    params.add_index(field_name="vec", index_type=dense_index, metric_type="IP",
                     params={"M": 32, "efConstruction": 80} if dense_index == "HNSW" else {"nlist": args.get("nlist", 1024)})
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={})
    t0 = time.perf_counter()
    client.create_index("passages", params)
    client.load_collection("passages")
    index_s = time.perf_counter() - t0
    loaded = memory_mb()["rss_mb"] - base
    search_params = {"metric_type": "IP", "params": {"ef": 128} if dense_index == "HNSW" else {"nprobe": 32}}

    def dense(i: int):
        hits = client.search("passages", data=[queries[i].tolist()], anns_field="vec", limit=10,
                             search_params=search_params)
        return np.array([h["id"] for h in hits[0]])

    def bm25(i: int):
        return client.search("passages", data=[qtexts[i]], anns_field="sparse", limit=10)

    def hybrid(i: int):
        return client.hybrid_search(
            "passages",
            [AnnSearchRequest(data=[queries[i].tolist()], anns_field="vec", param=search_params, limit=100),
             AnnSearchRequest(data=[qtexts[i]], anns_field="sparse", param={}, limit=100)],
            ranker=WeightedRanker(0.5, 0.5), limit=10)

    items = list(range(len(queries)))
    found, dense_times = timed(dense, items, warm=2)
    _, bm25_times = timed(bm25, items, warm=2)
    _, hybrid_times = timed(hybrid, items, warm=2)
    recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))
    client.close()
    size = sum(p.stat().st_size for p in (work / f"milvus-{n}.db").rglob("*") if p.is_file())
    return {"index": dense_index, "questions": len(queries), "insert_s": round(insert_s, 2), "index_s": round(index_s, 2),
            "disk_mb": round(size / 2**20, 1), "loaded_mb": round(loaded, 1), **memory_mb(),
            "dense": {**latency_ms(dense_times), "recall_at_10": round(recall, 4)},
            "bm25": latency_ms(bm25_times), "hybrid": latency_ms(hybrid_times)}
