"""Retrieval metrics over plain dicts, as sentence-transformers' InformationRetrievalEvaluator does.

``run`` maps a query id to its ranked passage ids; ``relevant`` maps it to the set of relevant
ids. The benchmark and the gold-set evaluation both call this one function.
"""
from __future__ import annotations

from typing import Iterable, Mapping


def retrieval_metrics(run: Mapping[str, list[str]], relevant: Mapping[str, Iterable[str]],
                      ks: tuple[int, ...] = (1, 5, 10), mrr_at: int = 10) -> dict[str, float]:
    """Recall@k (share of a query's relevant ids in its top k, averaged) and MRR@mrr_at."""
    queries = [q for q in relevant if set(relevant[q])]
    if not queries:
        raise ValueError("no query has a relevant passage")
    totals = {f"R@{k}": 0.0 for k in ks}
    mrr = 0.0
    for q in queries:
        wanted = set(relevant[q])
        ranked = run.get(q, [])
        for k in ks:
            totals[f"R@{k}"] += len(wanted & set(ranked[:k])) / len(wanted)
        for position, pid in enumerate(ranked[:mrr_at], start=1):
            if pid in wanted:
                mrr += 1.0 / position
                break
    n = len(queries)
    metrics = {name: round(value / n, 4) for name, value in totals.items()}
    metrics[f"MRR@{mrr_at}"] = round(mrr / n, 4)
    metrics["queries"] = n
    return metrics
