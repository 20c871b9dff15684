"""The dense index's structure is a setting (flat, IVF, IVF-PQ, HNSW, auto by size), recorded in the
manifest; a search uses what was built; a changed setting rebuilds that structure from the stored
vectors without re-embedding; an unknown type is refused clearly."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakes import HashingEmbedder
from retrieval.errors import ConfigError, IndexCorruptError
from retrieval.index import layout
from retrieval.index.dense import VECTORS_FILE, DenseSearch, DenseSpec, build
from retrieval.index.hybrid import DENSE_FILE, HybridIndex
from retrieval.index.manifest import Manifest
from retrieval.index.writer import IndexInput, IndexWriter
from retrieval.pipeline import ingest
from retrieval.schema import Passage

REPO = Path(__file__).resolve().parents[1]


def make_input(name: str, count: int) -> IndexInput:
    topics = ["phòng, chống dịch sốt xuất huyết", "cải cách hành chính", "an toàn giao thông", "chuyển đổi số",
              "phòng cháy chữa cháy", "xây dựng nông thôn mới", "du lịch cộng đồng", "bảo vệ rừng"]
    passages = [Passage(id=f"{name}:{i:03d}", source=name,
                        text=f"Văn bản {name} nhiệm vụ {i}: {topics[i % len(topics)]} tại huyện số {i // len(topics)}.")
                for i in range(count)]
    return IndexInput(path=f"/data/{name}", sha256=f"sha-{name}", kind="text", title=name, passages=passages)


def write(root: Path, embedder, spec: DenseSpec, *inputs: IndexInput):
    with layout.writer_lock(root):
        writer = IndexWriter(root, lambda: embedder, embedder.name, dense=spec)
        for item in inputs:
            if not writer.already_indexed(item.sha256, item.parser, item.path):
                writer.add(item)
        return writer.commit()


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@pytest.mark.parametrize("kind", ["flat", "ivf", "ivfsq", "hnsw"])
def test_building_with_each_type_records_it_in_the_manifest(tmp_path, kind):
    write(tmp_path, HashingEmbedder(), DenseSpec(type=kind, nprobe=3, ef_search=150), make_input("a.txt", 120))
    generation = layout.current_generation(tmp_path)
    manifest = Manifest.load(generation)
    assert manifest.dense["type"] == kind
    assert (generation / VECTORS_FILE).exists() == (kind != "flat")
    index = HybridIndex.load(tmp_path)
    assert type(index.dense).__name__ == {"flat": "IndexFlatIP", "ivf": "IndexIVFFlat", "ivfsq": "IndexIVFScalarQuantizer",
                                      "hnsw": "IndexHNSWFlat"}[kind]
    if kind in ("ivf", "ivfsq"):
        assert manifest.dense["nlist"] == 15     # 120 passages: at least 8 per cell
        import faiss

        index.dense_scores(np.ones(HashingEmbedder.dim, dtype=np.float32) / 8)
        assert faiss.extract_index_ivf(index.dense_search.index).nprobe == 3   # as recorded
    if kind == "hnsw":
        assert manifest.dense["ef_search"] == 150


def test_auto_is_flat_for_a_small_corpus_and_approximate_beyond():
    spec = DenseSpec(type="auto", auto_flat_max=1000)
    assert spec.resolved(1000).type == "flat"
    assert spec.resolved(1001).type == "ivfsq"
    assert DenseSpec(type="ivf").resolved(1_000_000).nlist == 4000   # 4·sqrt(n)


def test_a_manifest_from_before_the_setting_reads_as_flat(tmp_path):
    write(tmp_path, HashingEmbedder(), DenseSpec(type="flat"), make_input("a.txt", 20))
    generation = layout.current_generation(tmp_path)
    data = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    del data["dense"]
    (generation / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    assert Manifest.load(generation).dense_spec.type == "flat"
    assert len(HybridIndex.load(tmp_path).dense_scores(np.ones(HashingEmbedder.dim, dtype=np.float32) / 8)) == 20


def test_changing_the_setting_rebuilds_the_structure_without_re_embedding(tmp_path):
    embedder = HashingEmbedder()
    write(tmp_path, embedder, DenseSpec(type="flat"), make_input("a.txt", 150))
    first = layout.current_generation(tmp_path)
    first_dense = digest(first / DENSE_FILE)   # two generations are kept: the first is gone by the third
    embedded = embedder.passages_embedded
    flat_vectors = HybridIndex.load(tmp_path).dense.reconstruct_n(0, 150)

    report = write(tmp_path, embedder, DenseSpec(type="hnsw"), make_input("a.txt", 150))
    second = layout.current_generation(tmp_path)
    assert report.generation == second.name and second != first
    assert embedder.passages_embedded == embedded            # nothing re-embedded
    assert Manifest.load(second).dense["type"] == "hnsw"
    assert np.array_equal(np.load(second / VECTORS_FILE), flat_vectors)
    for part in ("store.sqlite", "bm25_vi", "bm25_fold", "diacritics.json"):
        assert digest(second / part) == digest(first / part), part   # everything else copied as it was

    # Back to flat: built from the stored vectors, the same as the first generation's.
    write(tmp_path, embedder, DenseSpec(type="flat"), make_input("a.txt", 150))
    third = layout.current_generation(tmp_path)
    assert embedder.passages_embedded == embedded
    assert digest(third / DENSE_FILE) == first_dense
    assert not (third / VECTORS_FILE).exists()

    # The same setting again: nothing to do.
    assert write(tmp_path, embedder, DenseSpec(type="flat"), make_input("a.txt", 150)).generation is None


def test_a_search_parameter_change_keeps_the_built_structure(tmp_path):
    embedder = HashingEmbedder()
    write(tmp_path, embedder, DenseSpec(type="ivf", nprobe=2), make_input("a.txt", 200))
    first = layout.current_generation(tmp_path)
    write(tmp_path, embedder, DenseSpec(type="ivf", nprobe=8), make_input("a.txt", 200))
    second = layout.current_generation(tmp_path)
    assert second != first and Manifest.load(second).dense["nprobe"] == 8
    assert digest(second / DENSE_FILE) == digest(first / DENSE_FILE)


def test_new_passages_are_added_to_an_approximate_structure(tmp_path):
    embedder = HashingEmbedder()
    write(tmp_path, embedder, DenseSpec(type="hnsw"), make_input("a.txt", 100))
    write(tmp_path, embedder, DenseSpec(type="hnsw"), make_input("a.txt", 100), make_input("b.txt", 30))
    index = HybridIndex.load(tmp_path)
    assert embedder.passages_embedded == 130 and index.dense.ntotal == 130 == len(index)
    query = embedder.encode_queries([index.passages[120].text])[0]
    assert int(np.argmax(index.dense_scores(query))) == 120


def test_an_unknown_type_is_refused_clearly(tmp_path, monkeypatch):
    from retrieval.settings import Settings

    monkeypatch.setenv("TROLYAO_INDEX_TYPE", "annoy")
    with pytest.raises(ConfigError, match="TROLYAO_INDEX_TYPE='annoy'.*flat"):
        Settings.load()
    with pytest.raises(ConfigError, match="unknown index type 'annoy'"):
        DenseSpec(type="annoy")
    write(tmp_path, HashingEmbedder(), DenseSpec(type="flat"), make_input("a.txt", 10))
    generation = layout.current_generation(tmp_path)
    data = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    data["dense"] = {"type": "annoy"}
    (generation / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="annoy"):
        HybridIndex.load(tmp_path).dense_scores(np.ones(HashingEmbedder.dim, dtype=np.float32) / 8)


def test_ivfpq_on_a_small_corpus_is_refused_with_the_alternatives(tmp_path):
    with pytest.raises(ConfigError, match="IVF-PQ needs at least .* flat, ivf or hnsw"):
        write(tmp_path, HashingEmbedder(), DenseSpec(type="ivfpq", pq_m=16), make_input("a.txt", 50))
    assert not layout.has_index(tmp_path)   # nothing half-written was published


def test_ivfpq_rescored_from_the_stored_vectors_finds_the_exact_top_hits(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((200, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, 12_000)] + 0.3 * rng.standard_normal((12_000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(tmp_path / VECTORS_FILE, vectors)
    spec = DenseSpec(type="ivfpq", pq_m=16, nprobe=16).resolved(len(vectors))
    search = DenseSearch(build(vectors, spec), spec, np.load(tmp_path / VECTORS_FILE, mmap_mode="r"))
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, 64)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [search.candidates(q / np.linalg.norm(q), 10)[1] for q in queries]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.95


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_search_agrees_with_flat_on_the_sample_corpus(sample_index, tmp_path, embedder, kind):
    from retrieval.goldset.load import load_gold
    from retrieval.search.searcher import Searcher

    root = tmp_path / "index"
    shutil.copytree(sample_index, root, symlinks=True)
    write(root, embedder, DenseSpec(type=kind))     # nothing new: only the structure is rebuilt
    questions = [turn.question for item in load_gold(REPO / "eval" / "gold.yaml") for turn in item.turns][:40]
    flat, approximate = (Searcher(HybridIndex.load(r), embedder) for r in (sample_index, root))
    assert approximate.index.manifest.dense["type"] == kind
    for question in questions:
        expected = [h.passage.id for h in flat.search(question, k=3)]
        got = [h.passage.id for h in approximate.search(question, k=3)]
        assert got[:1] == expected[:1], question
        assert len(set(got) & set(expected)) >= 2, question
