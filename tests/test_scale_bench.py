"""The national-scale simulation (`make bench-scale`) measures what it says: its BM25 arrays are
bm25s' own, its synthetic corpus has the reference's shape, and its quick mode runs end to end.
No timing is asserted here (figures live in bench-results/scale.json)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CORPUS, SHARED
from fakes import HashingEmbedder
from retrieval.index.bm25field import import_bm25s
from retrieval.index.scale.lexical_runs import query_names, retriever_from
from retrieval.index.scale.shape import FieldShape
from retrieval.index.scale.synth import token_corpus


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sample corpus indexed with the hashing embedder: a real index's tokens, quickly."""
    from retrieval.pipeline import ingest

    root = tmp_path_factory.mktemp("reference") / "index"
    ingest(sorted(CORPUS.glob("*.txt")), root, HashingEmbedder())
    return root


def test_bm25_arrays_score_as_bm25s_index_does():
    field = FieldShape(lengths=[5, 20, 40, 80], query_lengths=[3, 6], vocabulary=300, zipf_s=1.0,
                       heaps_k=3.0, heaps_beta=0.6)
    corpus = token_corpus(field, 400, seed=1)
    ours = retriever_from(corpus)
    bm25s = import_bm25s()
    reference = bm25s.BM25(k1=1.5, b=0.75)
    reference.index([query_names(corpus.passage(i)) for i in range(len(corpus))], show_progress=False)
    for i in range(20):
        query = query_names(corpus.passage(i)[:4])
        assert np.allclose(ours.get_scores(query), reference.get_scores(query), atol=1e-5)


def test_synthetic_tokens_follow_the_measured_lengths_and_zipf_law():
    field = FieldShape(lengths=[100, 200], query_lengths=[10], vocabulary=5000, zipf_s=1.0,
                       heaps_k=5.0, heaps_beta=0.7)
    corpus = token_corpus(field, 2000, seed=0)
    assert set(np.diff(corpus.offsets).tolist()) == {100, 200}
    counts = np.sort(np.bincount(corpus.tokens))[::-1]
    slope = -np.polyfit(np.log(np.arange(10, 500)), np.log(counts[9:499]), 1)[0]
    assert 0.85 < slope < 1.15
    assert corpus.vocabulary == field.vocabulary_at(len(corpus.tokens))


def test_quick_mode_writes_every_figure(reference, tmp_path):
    from retrieval.index.scale.bench import main

    out = tmp_path / "scale.json"
    assert main(["--quick", "--questions", "10", "--sizes", "2000", "--types", "ivf", "--milvus", "",
                 "--reference", str(reference), "--shared", str(SHARED), "--workdir", str(tmp_path / "work"),
                 "--out", str(out)]) == 0
    size = json.loads(out.read_text(encoding="utf-8"))["sizes"]["2000"]
    sweep = size["dense"]["ivf"]["serve"]["sweep"]
    assert [p["nprobe"] for p in sweep] == [16, 64, 128, 256, 512]
    assert sweep[-1]["recall_at_10"] == 1.0          # every cell probed (2000 passages: 179 cells): exact
    assert size["dense"]["ivf"]["build"]["index_mb"] > 0
    assert set(size["bm25"]) == {"vi", "fold"} and size["bm25"]["vi"]["serve"]["loaded_mb"] >= 0
    assert size["hybrid"]["hybrid"]["p95_ms"] > 0 and size["chosen"]["type"] == "ivf"
    assert size["hybrid"]["exhaustive"]["questions"] == 10 and size["hybrid"]["recall_at_10"] >= 0.9
    steps = size["hybrid"]["steps_ms"]   # where a question's time goes, step by step
    assert {"terms", "moments", "seed", "rank"} <= set(steps) and steps["moments"]["p50"] > 0
    assert size["stats"]["fold_stats_mb"] > 0
    assert not list((tmp_path / "work").iterdir())   # gigabytes at scale: nothing is left behind
