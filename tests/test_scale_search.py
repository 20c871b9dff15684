"""Candidate search (retrieval/search/candidates.py), what the Searcher runs on a large index, returns
the exhaustive fusion's top 10: on the sample bulletins with the threshold forced low (real model),
on a synthetic corpus larger than the row sample, with filters; a generation built before its
statistics still searches, exhaustively. No timing here (``make bench-scale`` measures it)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import CORPUS
from fakes import HashingEmbedder
from retrieval.index import layout
from retrieval.index.dense import DenseSearch, DenseSpec, build
from retrieval.index.hybrid import HybridIndex, bm25_dir, bm25_scores
from retrieval.index.moments import MOMENTS_FILE, DenseMoments
from retrieval.index.postings import FieldPostings, write_stats
from retrieval.index.scale.lexical_runs import query_names, retriever_from
from retrieval.index.scale.shape import FieldShape
from retrieval.index.scale.synth import token_corpus
from retrieval.search.candidates import CandidateSearch, DenseSide
from retrieval.search.fusion import top_rows, weighted_zscore_fusion
from retrieval.search.searcher import SearchFilters, Searcher
from retrieval.text import fold

QUESTIONS = ["ai chủ trì phòng chống sốt xuất huyết", "kế hoạch phát triển dịch vụ logistics",
             "tiêm vắc xin liều nhắc lại cho trẻ em", "xe điện chở khách du lịch", "tuyên truyền",
             "thời gian kiểm tra cải cách hành chính năm 2024", "Sở Y tế được giao những việc gì"]
QUESTIONS = QUESTIONS + [fold(q) for q in QUESTIONS]


def same_hits(a, b):
    assert [h.row for h in a] == [h.row for h in b]
    assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4, abs=1e-4)
    for x, y in zip(a, b):
        assert x.signals.keys() == y.signals.keys()
        assert [x.signals[m] for m in x.signals] == pytest.approx([y.signals[m] for m in x.signals], abs=1e-4)


@pytest.mark.parametrize("depth", [1000, 8, 2])
def test_the_candidate_search_returns_the_exhaustive_top_ten_on_a_real_index(sample_index, embedder, depth):
    """1000: every passage is in the dense list; 8 and 2: most are not, so the bounds decide (and the
    list is read deeper when they cannot)."""
    index = HybridIndex.load(sample_index)
    exhaustive = Searcher(index, embedder)
    by_candidates = Searcher(index, embedder, candidates_above=0)
    assert exhaustive.candidates is None and by_candidates.candidates is not None
    by_candidates.candidates.depth = depth
    for a, b in zip(exhaustive.search_many(QUESTIONS, k=10), by_candidates.search_many(QUESTIONS, k=10)):
        same_hits(a, b)
        assert all(set(h.ranks) == {"dense", "bm25", "bm25_fold"} for h in b)


def test_filters_and_an_audience_apply_to_the_candidates(sample_index, embedder):
    index = HybridIndex.load(sample_index)
    hidden = np.ones(len(index), dtype=bool)
    hidden[::3] = False
    for visible, score_all in ((None, 20_000), (hidden, 20_000), (None, 0), (hidden, 0)):
        exhaustive = Searcher(index, embedder, visible)
        by_candidates = Searcher(index, embedder, visible, candidates_above=0)
        by_candidates.candidates.depth = 4
        by_candidates.candidates.score_all_allowed = score_all   # 0: through the lists, rows masked
        for filters in (SearchFilters(doc_number="122/KH-UBND"), SearchFilters(date_from="2024-01-01"), None):
            for question in QUESTIONS[:4]:
                a, b = exhaustive.search(question, 10, filters), by_candidates.search(question, 10, filters)
                same_hits(a, b)
                assert visible is None or all(visible[h.row] for h in b)


def test_a_generation_without_statistics_is_searched_exhaustively(hashing_index, tmp_path):
    root = tmp_path / "index"
    shutil.copytree(hashing_index, root, symlinks=True)
    generation = layout.current_generation(root)
    (generation / MOMENTS_FILE).unlink()
    for field in ("vi", "fold"):
        for path in bm25_dir(generation, field).glob("stats.*"):
            path.unlink()
    old = HybridIndex.load(root)
    assert old.field_postings is None and old.dense_moments is None
    searcher = Searcher(old, HashingEmbedder(), candidates_above=0)
    assert searcher.candidates is None
    reference = Searcher(HybridIndex.load(hashing_index), HashingEmbedder())
    for question in QUESTIONS[:3]:
        assert [h.row for h in searcher.search(question)] == [h.row for h in reference.search(question)]


def test_term_lookups_and_moments_are_those_of_every_row(tmp_path):
    field = FieldShape(lengths=[8, 30, 60, 120], query_lengths=[4, 9], vocabulary=2000, zipf_s=1.1,
                       heaps_k=4.0, heaps_beta=0.6)
    corpus = token_corpus(field, 3000, seed=2)
    retriever = retriever_from(corpus)
    for sample, tolerance in ((5000, 1e-6), (1000, 0.04)):   # every row sampled: exact; a third: close
        errors = []
        directory = tmp_path / f"bm25-{sample}"
        retriever.save(str(directory), show_progress=False)
        write_stats(retriever.scores, directory, sample_rows=sample)
        postings = FieldPostings.open(retriever, directory)
        rng = np.random.default_rng(0)
        for i in range(30):
            tokens = query_names(rng.choice(corpus.passage(i), 6))   # repeats possible, as in a query
            full = bm25_scores(retriever, tokens, len(corpus))
            terms = postings.query(tokens)
            mean, std = postings.moments(terms)
            assert mean == pytest.approx(full.mean(), rel=1e-5)
            errors.append(abs(std / full.std() - 1))
            rows = np.sort(rng.choice(len(corpus), 200, replace=False))
            assert postings.scores_at(terms, rows) == pytest.approx(full[rows], abs=1e-5)
            assert np.all(full <= postings.upper_bounds(terms).sum() + 1e-5)
        assert np.mean(errors) <= tolerance, (sample, errors)


def synthetic(tmp_path, n=4000, sample=1500):
    """Clustered vectors (topics of 20) and Zipf tokens; an IVF structure like a large index's."""
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((n // 20, 32)).astype(np.float32)
    vectors = np.repeat(centres, 20, axis=0) + 0.6 * rng.standard_normal((n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    fields = {}
    for name, seed in (("bm25", 3), ("bm25_fold", 4)):
        corpus = token_corpus(FieldShape(lengths=[20, 60, 150], query_lengths=[5, 12], vocabulary=3000,
                                         zipf_s=1.2, heaps_k=4.0, heaps_beta=0.6), n, seed=seed)
        retriever = retriever_from(corpus)
        directory = tmp_path / name
        retriever.save(str(directory), show_progress=False)
        write_stats(retriever.scores, directory, sample_rows=sample)
        fields[name] = (corpus, retriever, FieldPostings.open(retriever, directory))
    return vectors, fields


@pytest.mark.parametrize("sample,recall", [(5000, 0.99), (1500, 0.97)])
def test_the_candidate_search_keeps_the_exhaustive_top_ten_of_a_synthetic_index(tmp_path, sample, recall):
    """Every row sampled: the deviations are exact, so is every returned score, and the top 10 is
    the exhaustive one but for a lexical candidate left out of the 100 scored; 1,500 of 4,000 rows
    sampled: near. The dense list is 100 rows of an exact structure: an approximate structure's
    misses are not tested here (``make bench-scale`` measures those)."""
    vectors, fields = synthetic(tmp_path, sample=sample)
    spec = DenseSpec(type="flat").resolved(len(vectors))
    moments = DenseMoments.of(vectors)
    search = CandidateSearch(DenseSide(DenseSearch(build(vectors, spec), spec), vectors, moments),
                             {m: f[2] for m, f in fields.items()}, len(vectors), depth=100, seed_postings=100,
                             lexical_depth=100)
    weights = {"dense": 1.0, "bm25": 0.15, "bm25_fold": 0.25}
    rng = np.random.default_rng(5)
    found = []
    for row in rng.choice(len(vectors), 40, replace=False):
        q = vectors[row] + 0.3 * rng.standard_normal(vectors.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        tokens = {m: query_names(rng.choice(f[0].passage(int(row)), 8)) for m, f in fields.items()}
        scores = {"dense": vectors @ q, **{m: bm25_scores(f[1], tokens[m], len(vectors)) for m, f in fields.items()}}
        assert moments.mean_std(q) == pytest.approx((scores["dense"].mean(), scores["dense"].std()), rel=1e-4)
        fused = weighted_zscore_fusion(scores, weights)
        exhaustive = top_rows(fused, None, 10)
        ranked = search.search(q, tokens, weights, 10)
        assert ranked.scored < len(vectors) // 4   # candidates, not every row
        found.append(len(set(exhaustive.tolist()) & set(ranked.rows.tolist())) / 10)
        if sample >= len(vectors):
            assert ranked.fused == pytest.approx(fused[ranked.rows], abs=1e-4)
    assert np.mean(found) >= recall, np.mean(found)


def flat_search(vectors, fields, **settings):
    spec = DenseSpec(type="flat").resolved(len(vectors))
    return CandidateSearch(DenseSide(DenseSearch(build(vectors, spec), spec), vectors, DenseMoments.of(vectors)),
                           {m: f[2] for m, f in fields.items()}, len(vectors), **settings)


def synthetic_questions(vectors, fields, count, seed):
    """Questions near a passage, their tokens drawn from it, with every row's exhaustive fused score."""
    rng = np.random.default_rng(seed)
    weights = {"dense": 1.0, "bm25": 0.15, "bm25_fold": 0.25}
    for row in rng.choice(len(vectors), count, replace=False):
        q = vectors[row] + 0.3 * rng.standard_normal(vectors.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        tokens = {m: query_names(rng.choice(f[0].passage(int(row)), 10)) for m, f in fields.items()}
        scores = {"dense": vectors @ q, **{m: bm25_scores(f[1], tokens[m], len(vectors)) for m, f in fields.items()}}
        yield q, tokens, weights, weighted_zscore_fusion(scores, weights)


def test_no_row_left_unscored_beats_the_closing_bound(tmp_path):
    """The bound the lexical batches close on (the last batch's partial sum + every weak term's
    largest weight + the dense list's last cosine) is above the exhaustive fused score of every row
    the search did not score; with shallow batches it is reached on some questions, not on all."""
    vectors, fields = synthetic(tmp_path, sample=5000)   # every row sampled: exact deviations
    search = flat_search(vectors, fields, depth=30, seed_postings=100, lexical_depth=40, lexical_max=1280,
                         lexical_scored=0)
    proven, checked = [], 0
    for q, tokens, weights, fused in synthetic_questions(vectors, fields, 30, seed=7):
        ranked = search.search(q, tokens, weights, 10)
        if "bound" not in ranked.trace:
            continue   # the dense list alone settled it (no essential term)
        unscored = np.setdiff1d(np.arange(len(vectors)), ranked.trace["scored_rows"])
        assert fused[unscored].max() <= ranked.trace["bound"] + 1e-6
        checked += 1
        proven.append(ranked.trace["proven"])
        if ranked.trace["proven"]:
            assert ranked.rows.tolist() == top_rows(fused, None, 10).tolist()
    assert checked >= 20 and 0 < sum(proven) < len(proven), proven


def test_batches_deep_enough_give_the_exhaustive_top_ten(tmp_path):
    """Exact deviations and an exact dense list: with batches allowed to every candidate the bound
    always closes, and the top 10 (rows and scores) is the exhaustive fusion's, whichever few rows
    the dense list and the first batch hold."""
    vectors, fields = synthetic(tmp_path, sample=5000)
    for depth, lexical in ((20, 10), (100, 50)):
        search = flat_search(vectors, fields, depth=depth, seed_postings=100, lexical_depth=lexical,
                             lexical_max=len(vectors), lexical_scored=0)
        for q, tokens, weights, fused in synthetic_questions(vectors, fields, 25, seed=depth):
            ranked = search.search(q, tokens, weights, 10)
            assert ranked.trace.get("proven", True)
            assert ranked.rows.tolist() == top_rows(fused, None, 10).tolist()
            assert ranked.fused == pytest.approx(fused[ranked.rows], abs=1e-4)
            assert ranked.scored < len(vectors)


@pytest.mark.parametrize("postings,count", [(40, 41), (400, 41), (4000, 41), (400, 5000)])
def test_the_lexical_candidates_are_the_best_rows_of_the_essential_sums(postings, count):
    """Whichever way the essential terms' weights are summed (over their rows when the lists are short,
    in an array of every row when they are long) and however few rows are wanted, the candidates are
    the rows with the largest positive sums, ties by row, without the rows already scored or not
    allowed, and with each method's exact sum."""
    from retrieval.search.candidates import _essential_rows

    rng = np.random.default_rng(postings)
    n = 20_000
    lists = []
    for method in ("bm25", "bm25", "bm25_fold", "bm25_fold", "bm25_fold"):
        rows = np.sort(rng.choice(n, postings, replace=False)).astype(np.int32)
        weights = rng.integers(0, 4, postings).astype(np.float32) * np.float32(0.5)   # ties, zeros
        lists.append((method, rows, weights, float(rng.integers(1, 3))))
    coef = {"bm25": 0.75, "bm25_fold": 0.5}   # exact in float32 too: the same ties
    scored, allowed = rng.choice(n, 300, replace=False), rng.random(n) < 0.8
    sums = {m: np.zeros(n) for m in coef}
    for method, rows, weights, factor in lists:
        sums[method][rows] += weights.astype(np.float64) * factor
    partial = coef["bm25"] * sums["bm25"] + coef["bm25_fold"] * sums["bm25_fold"]
    eligible = (partial > 0) & allowed
    eligible[scored] = False
    rows = np.flatnonzero(eligible)
    expected = rows[np.lexsort((rows, -partial[rows]))][:count]

    found = _essential_rows(n, lists, scored, allowed, coef, count)
    assert found.rows.tolist() == expected.tolist()
    assert found.union == len(rows)
    assert found.partial == pytest.approx(partial[expected])
    for method in coef:
        assert found.sums[method] == pytest.approx(sums[method][expected])
