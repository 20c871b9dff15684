"""A national index's smaller storage: IVF with scalar-quantised codes (``ivfsq``: built, searched,
recorded), BM25 weights as one-byte impacts per term (the float top results kept), the vocabulary as
a trie (the dict's answers), and the writer making a field compact only above 10^5 passages."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fakes import HashingEmbedder
from retrieval.index import bm25field, layout
from retrieval.index.bm25field import load_field, make_compact, save_field
from retrieval.index.dense import VECTORS_FILE, DenseSearch, DenseSpec, build
from retrieval.index.hybrid import BM25_FIELDS, HybridIndex, bm25_dir, bm25_scores
from retrieval.index.impacts import CODES_FILE, FLOAT_FILE, quantize
from retrieval.index.manifest import Manifest
from retrieval.index.postings import FieldPostings
from retrieval.index.scale.lexical_runs import query_names, retriever_from
from retrieval.index.scale.shape import FieldShape
from retrieval.index.scale.synth import token_corpus
from retrieval.index.terms import TermLookup, write_lookup
from test_index_type import make_input, write


def clustered(n=12_000, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, dim)).astype(np.float32)
    return vectors, queries / np.linalg.norm(queries, axis=1, keepdims=True)


@pytest.mark.parametrize("bits", [8, 16])
def test_ivfsq_codes_find_the_exact_top_hits_and_decode_any_row(bits):
    vectors, queries = clustered()
    spec = DenseSpec(type="ivfsq", sq_bits=bits, nprobe=16).resolved(len(vectors))
    search = DenseSearch(build(vectors, spec), spec)   # no exact vectors: scored from the codes
    assert search.decodes_rows and search.vectors is None
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [search.candidates(q, 10)[1] for q in queries]
    assert np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)]) >= 0.95
    rows = np.random.default_rng(1).choice(len(vectors), 300, replace=False)
    error = np.abs(search.row_cosines(rows, queries[0]) - vectors[rows] @ queries[0])
    assert error.max() < (2e-3 if bits == 8 else 1e-4), error.max()


def test_ivfsq_is_recorded_in_the_manifest_and_searched_as_built(tmp_path):
    write(tmp_path, HashingEmbedder(), DenseSpec(type="ivfsq", nprobe=3), make_input("a.txt", 120))
    generation = layout.current_generation(tmp_path)
    manifest = Manifest.load(generation)
    assert (manifest.dense["type"], manifest.dense["sq_bits"], manifest.dense["nprobe"]) == ("ivfsq", 16, 3)
    assert (generation / VECTORS_FILE).exists()   # kept for rebuilds, never read by a search
    index = HybridIndex.load(tmp_path)
    assert type(index.dense).__name__ == "IndexIVFScalarQuantizer"
    import faiss

    vectors = np.load(generation / VECTORS_FILE)
    index.dense_scores(vectors[7])
    assert faiss.extract_index_ivf(index.dense_search.index).nprobe == 3   # as recorded
    rows = np.arange(len(vectors))
    np.testing.assert_allclose(index.dense_search.row_cosines(rows, vectors[7]), vectors @ vectors[7], atol=5e-3)
    from retrieval.search.candidates import candidate_search

    assert candidate_search(index).dense.vectors is None   # the candidates' cosines come from the codes


def test_quantized_impacts_decode_within_a_step_and_keep_each_term_maximum():
    rng = np.random.default_rng(0)
    indptr = np.array([0, 5, 5, 9, 30])
    data = rng.uniform(0.1, 4.0, 30).astype(np.float32)
    codes, scale = quantize(data, indptr)
    term = np.repeat(np.arange(4), np.diff(indptr))
    decoded = codes * scale[term]
    assert codes.dtype == np.uint8
    assert np.all(np.abs(decoded - data) <= scale[term] / 2 + 1e-6)
    for t in (0, 2, 3):
        span = slice(indptr[t], indptr[t + 1])
        assert decoded[span].max() == pytest.approx(data[span].max(), rel=1e-6)


def fields_float_and_compact(tmp_path, n=3000):
    corpus = token_corpus(FieldShape(lengths=[8, 30, 60, 120], query_lengths=[4, 9], vocabulary=2000,
                                     zipf_s=1.1, heaps_k=4.0, heaps_beta=0.6), n, seed=2)
    retriever = retriever_from(corpus)
    save_field(retriever, tmp_path / "float", compact=False)
    save_field(retriever, tmp_path / "compact", compact=True)
    return corpus, load_field(tmp_path / "float"), load_field(tmp_path / "compact")


def test_compact_weights_give_the_float_top_results_on_a_small_index(tmp_path):
    corpus, exact, compact = fields_float_and_compact(tmp_path)
    assert not (tmp_path / "compact" / FLOAT_FILE).exists() and (tmp_path / "compact" / CODES_FILE).exists()
    assert isinstance(compact.vocab_dict, TermLookup)
    postings = FieldPostings.open(compact, tmp_path / "compact")
    rng = np.random.default_rng(0)
    same = []
    for i in range(40):
        tokens = query_names(rng.choice(corpus.passage(i), 6))
        want, got = bm25_scores(exact, tokens, len(corpus)), bm25_scores(compact, tokens, len(corpus))
        assert got == pytest.approx(want, abs=0.01 * float(want.max()))
        top = np.argsort(-want, kind="stable")[:10]
        same.append(set(top.tolist()) == set(np.argsort(-got, kind="stable")[:10].tolist()))
        # The candidate search's reader decodes the same weights, and its bounds hold.
        rows = np.sort(rng.choice(len(corpus), 200, replace=False))
        terms = postings.query(tokens)
        assert postings.scores_at(terms, rows) == pytest.approx(got[rows], abs=1e-4)
        assert np.all(got <= postings.upper_bounds(terms).sum() + 1e-4)
    assert np.mean(same) >= 0.95, same


def test_a_compact_sample_index_ranks_as_the_float_one(sample_index, tmp_path, embedder):
    from retrieval.search.searcher import Searcher
    from test_scale_search import QUESTIONS

    root = tmp_path / "index"
    shutil.copytree(sample_index, root, symlinks=True)
    generation = layout.current_generation(root)
    for f in BM25_FIELDS:
        directory = bm25_dir(generation, f)
        make_compact(directory, json.loads((directory / "vocab.index.json").read_text(encoding="utf-8")))
    compact = Searcher(HybridIndex.load(root), embedder)
    assert isinstance(compact.index.bm25["fold"].vocab_dict, TermLookup)
    exact = Searcher(HybridIndex.load(sample_index), embedder)
    for question in QUESTIONS:
        want = [h.passage.id for h in exact.search(question, k=5)]
        assert [h.passage.id for h in compact.search(question, k=5)] == want, question


def test_the_term_lookup_answers_as_the_dict(sample_index, tmp_path):
    directory = bm25_dir(layout.current_generation(sample_index), "fold")
    vocab = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))
    write_lookup(vocab, tmp_path)
    lookup = TermLookup.open(tmp_path)
    assert len(lookup) == len(vocab)
    assert all(t in lookup and lookup[t] == i and lookup.get(t) == i for t, i in vocab.items())
    for unknown in ("khong_co_tu_nay", " ", "chu_tri_", "zz", next(iter(vocab))[:-1] + "#"):
        assert unknown not in vocab and unknown not in lookup and lookup.get(unknown, -1) == -1
        with pytest.raises(KeyError):
            lookup[unknown]


def test_the_writer_makes_fields_compact_only_above_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(bm25field, "COMPACT_ABOVE", 100)
    for count, compact in ((80, False), (150, True)):
        root = tmp_path / str(count)
        write(root, HashingEmbedder(), DenseSpec(type="flat"), make_input("a.txt", count))
        index = HybridIndex.load(root)
        for f in BM25_FIELDS:
            directory = bm25_dir(index.generation, f)
            assert (directory / CODES_FILE).exists() == compact
            assert (directory / FLOAT_FILE).exists() != compact
            assert isinstance(index.bm25[f].vocab_dict, TermLookup) == compact
        assert index.field_postings is not None
        tokens = ["phong", "chay", "chua", "chay", "phong_chay"]
        scores = index.bm25_scores("fold", tokens)
        assert np.argmax(scores) % 8 == 4   # the passages about "phòng cháy chữa cháy" lead either way
