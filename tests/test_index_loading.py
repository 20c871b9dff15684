"""A generation is loaded memory-mapped (FAISS codes, bm25s arrays) and searches exactly as one read
into memory: a generation's files never change once published, so mapping them is safe."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from fakes import HashingEmbedder
from retrieval.index.bm25field import import_bm25s
from retrieval.index.hybrid import BM25_FIELDS, DENSE_FILE, HybridIndex, bm25_dir, read_dense
from retrieval.search.searcher import Searcher

QUERIES = ["Sở Y tế chủ trì việc gì?", "ke hoach 143 ve logistics", "phòng chống thiên tai năm 2024",
           "Ai ký Quyết định 924/QĐ-UBND?", "hạn báo cáo tháng 6"]


@pytest.fixture(scope="module")
def mapped(hashing_index) -> HybridIndex:
    return HybridIndex.load(hashing_index)


@pytest.fixture(scope="module")
def in_memory(hashing_index) -> HybridIndex:
    """The same generation read fully into memory (as before mapping)."""
    index = HybridIndex.load(hashing_index)
    bm25s = import_bm25s()
    index.dense = faiss.read_index(str(index.generation / DENSE_FILE))
    index.bm25 = {f: bm25s.BM25.load(str(bm25_dir(index.generation, f)), mmap=False, show_progress=False,
                                     verbosity=0) for f in BM25_FIELDS}
    return index


def test_bm25_arrays_are_memory_mapped(mapped):
    for field in BM25_FIELDS:
        arrays = [v for v in vars(mapped.bm25[field]).get("scores", {}).values() if isinstance(v, np.ndarray)]
        assert arrays and any(isinstance(a, np.memmap) or isinstance(a.base, np.memmap) for a in arrays), field


def test_mapped_and_in_memory_generations_search_alike(mapped, in_memory):
    embedder = HashingEmbedder()
    a = Searcher(mapped, embedder).search_many(QUERIES, k=10)
    b = Searcher(in_memory, embedder).search_many(QUERIES, k=10)
    assert [[h.passage.id for h in hits] for hits in a] == [[h.passage.id for h in hits] for hits in b]
    assert all(hits for hits in a)
    vector = embedder.encode_queries(QUERIES[:1])[0]
    np.testing.assert_array_equal(mapped.dense_scores(vector), in_memory.dense_scores(vector))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_dense_index_type_reads_back_with_the_same_results(tmp_path, kind):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((600, 32)).astype(np.float32)
    faiss.normalize_L2(vectors)
    if kind == "flat":
        index = faiss.IndexFlatIP(32)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(32, 8, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(32), 32, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    index.add(vectors)
    path = tmp_path / DENSE_FILE
    faiss.write_index(index, str(path))
    loaded = read_dense(path)
    if kind == "ivf":
        index.nprobe = loaded.nprobe = 4
    np.testing.assert_array_equal(loaded.search(vectors[:5], 10)[1], index.search(vectors[:5], 10)[1])


def test_dense_scores_of_a_mapped_flat_index_are_the_matrix_product(mapped):
    """The mapped vectors are unaligned in memory (faiss's file header): their scores must still be
    exactly what the product with an aligned copy gives."""
    matrix = faiss.rev_swig_ptr(mapped.dense.get_xb(), mapped.dense.ntotal * mapped.dense.d).reshape(
        mapped.dense.ntotal, mapped.dense.d).copy()
    vector = HashingEmbedder().encode_queries(QUERIES[:1])[0]
    np.testing.assert_allclose(mapped.dense_scores(vector), matrix @ vector, rtol=0, atol=1e-6)
    assert mapped.dense_scores(vector).dtype == np.float32
