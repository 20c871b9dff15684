"""Index building: idempotent, incremental (no re-embedding), atomic, consistent on disk."""
from __future__ import annotations

import pytest

from fakes import HashingEmbedder
from retrieval.errors import IndexCorruptError, IndexNotFoundError, InputError, ModelMismatchError
from retrieval.index import layout
from retrieval.index.hybrid import HybridIndex
from retrieval.index.writer import IndexInput, IndexWriter
from retrieval.schema import DocumentRef, Passage


def make_input(name: str, texts: list[str], sha: str | None = None, number: str | None = None) -> IndexInput:
    document = DocumentRef(number, issued_date="2024-05-27") if number else None
    passages = [Passage(id=f"{name}:{i:02d}", text=t, source=name, heading=f"Mục {i}", document=document)
                for i, t in enumerate(texts)]
    return IndexInput(path=f"/data/{name}", sha256=sha or f"sha-{name}", kind="text", title=name, passages=passages)


def ingest(root, embedder, *inputs):
    with layout.writer_lock(root):
        writer = IndexWriter(root, lambda: embedder, embedder.name)
        for item in inputs:
            if not writer.already_indexed(item.sha256, item.parser, item.path):
                writer.add(item)
        return writer.commit()


A = ["Sở Y tế chủ trì phòng, chống sốt xuất huyết.", "Diệt lăng quăng, bọ gậy tại các hộ gia đình."]
B = ["Tháng hành động phòng, chống ma túy năm 2024.", "Lực lượng Công an mở đợt cao điểm."]


def test_first_ingest_builds_every_part(tmp_path):
    embedder = HashingEmbedder()
    report = ingest(tmp_path, embedder, make_input("a.txt", A, number="704/UBND-KGVX"))
    index = HybridIndex.load(tmp_path)
    assert report.passages_added == 2 and len(index) == 2
    assert index.dense.ntotal == 2
    assert index.manifest.model == embedder.name and index.manifest.dimension == embedder.dim
    assert [i.sha256 for i in index.manifest.inputs] == ["sha-a.txt"]
    assert index.manifest.counts == {"inputs": 1, "passages": 2, "documents": 1, "tasks": 0}
    assert index.store.rows_for_document("704/UBND-KGVX") == ([0, 1], [])


def test_reingesting_the_same_content_adds_nothing(tmp_path):
    embedder = HashingEmbedder()
    original, copy = make_input("a.txt", A), make_input("a-copy.txt", A, sha="sha-a.txt")
    for item in (original, copy):   # both files exist: a copy, not a move
        item.path = str(tmp_path / item.title)
        (tmp_path / item.title).write_text("x")
    index_dir = tmp_path / "idx"
    ingest(index_dir, embedder, original)
    generation = layout.current_generation(index_dir)
    report = ingest(index_dir, embedder, original, copy)
    assert report.unchanged == [original.path, copy.path] and not report.added and not report.moved
    assert layout.current_generation(index_dir) == generation   # no new generation at all
    assert embedder.passages_embedded == 2


def test_adding_a_file_embeds_only_its_passages(tmp_path):
    embedder = HashingEmbedder()
    ingest(tmp_path, embedder, make_input("a.txt", A))
    before = HybridIndex.load(tmp_path).dense.reconstruct_n(0, 2)
    ingest(tmp_path, embedder, make_input("b.txt", B))
    index = HybridIndex.load(tmp_path)
    assert embedder.passages_embedded == 4          # 2 + 2, not 2 + 4
    assert len(index) == 4 and [p.id for p in index.passages][:2] == ["a.txt:00", "a.txt:01"]
    assert (index.dense.reconstruct_n(0, 2) == before).all()


def test_changed_file_replaces_its_own_passages(tmp_path):
    embedder = HashingEmbedder()
    ingest(tmp_path, embedder, make_input("a.txt", A), make_input("b.txt", B))
    report = ingest(tmp_path, embedder, make_input("a.txt", A[:1], sha="sha-a2"))
    index = HybridIndex.load(tmp_path)
    assert report.replaced == ["/data/a.txt"]
    assert sorted(p.id for p in index.passages) == ["a.txt:00", "b.txt:00", "b.txt:01"]
    assert index.dense.ntotal == 3
    # Rows stay aligned: each passage's stored vector is still its own text's vector.
    for row, passage in enumerate(index.passages):
        expected = embedder.encode_queries([f"{passage.heading}\n{passage.text}"])[0]
        assert (index.dense.reconstruct(row) == expected).all()


def test_failed_ingest_leaves_previous_index_serving(tmp_path):
    ingest(tmp_path, HashingEmbedder(), make_input("a.txt", A))
    generation = layout.current_generation(tmp_path)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(tmp_path, HashingEmbedder(fail_after=0), make_input("b.txt", B))
    assert layout.current_generation(tmp_path) == generation
    index = HybridIndex.load(tmp_path)
    assert [p.id for p in index.passages] == ["a.txt:00", "a.txt:01"]
    assert not list((tmp_path / layout.GENERATIONS).glob("tmp-*"))   # no half build left behind


def test_interrupted_build_directory_is_ignored_and_cleaned(tmp_path):
    ingest(tmp_path, HashingEmbedder(), make_input("a.txt", A))
    stale = tmp_path / layout.GENERATIONS / "tmp-deadbeef"
    stale.mkdir()
    (stale / "manifest.json").write_text("{half")
    assert len(HybridIndex.load(tmp_path)) == 2
    ingest(tmp_path, HashingEmbedder(), make_input("b.txt", B))
    assert not stale.exists()


def test_pruning_keeps_the_serving_generation_and_the_one_it_replaced(tmp_path):
    embedder = HashingEmbedder()
    served = []
    for i in range(4):   # several publishes within one second: names alone cannot order them
        ingest(tmp_path, embedder, make_input(f"f{i}.txt", [f"Văn bản số {i} về giao thông."]))
        served.append(layout.current_generation(tmp_path))
    assert set((tmp_path / layout.GENERATIONS).glob("g-*")) == {served[-1], served[-2]}


def test_dangling_current_is_an_error_not_a_fresh_start(tmp_path):
    import shutil

    ingest(tmp_path, HashingEmbedder(), make_input("a.txt", A))
    shutil.rmtree(layout.current_generation(tmp_path))
    with pytest.raises(IndexCorruptError, match="missing generation"):
        ingest(tmp_path, HashingEmbedder(), make_input("b.txt", B))


def test_moved_file_keeps_its_passages_when_a_new_file_takes_its_old_name(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    embedder = HashingEmbedder()
    original = make_input("a.txt", A, sha="sha-x")
    original.path = str(docs / "a.txt")
    ingest(tmp_path / "idx", embedder, original)
    # a.txt was moved to b.txt (its old path is gone), then a new a.txt was written.
    with layout.writer_lock(tmp_path / "idx"):
        writer = IndexWriter(tmp_path / "idx", lambda: embedder, embedder.name)
        assert writer.already_indexed("sha-x", "", str(docs / "b.txt"))
        newcomer = make_input("a.txt", B, sha="sha-y")
        newcomer.path = str(docs / "a.txt")
        writer.add(newcomer)
        report = writer.commit()
    index = HybridIndex.load(tmp_path / "idx")
    assert report.moved == [str(docs / "b.txt")] and report.replaced == []
    assert sorted(i.path for i in index.manifest.inputs) == [str(docs / "a.txt"), str(docs / "b.txt")]
    assert len(index) == 4


def test_files_with_the_same_name_in_different_folders_both_get_in(tmp_path):
    one, two = make_input("note.txt", A, sha="sha-1"), make_input("note.txt", B, sha="sha-2")
    one.path, two.path = "/x/note.txt", "/y/note.txt"
    ingest(tmp_path, HashingEmbedder(), one, two)
    ids = [p.id for p in HybridIndex.load(tmp_path).passages]
    assert len(ids) == len(set(ids)) == 4
    assert ids[:2] == ["note.txt:00", "note.txt:01"] and ids[2].endswith("~sha-2")


def test_duplicate_jsonl_passage_id_from_another_file_is_refused(tmp_path):
    embedder = HashingEmbedder()
    ingest(tmp_path, embedder, make_input("a.txt", A))
    clash = make_input("a.txt", B, sha="sha-other")
    clash.path, clash.kind = "/elsewhere/a.jsonl", "jsonl"
    with pytest.raises(InputError, match="already in the index"):
        ingest(tmp_path, embedder, clash)
    assert len(HybridIndex.load(tmp_path)) == 2


def test_other_model_cannot_extend_the_index(tmp_path):
    ingest(tmp_path, HashingEmbedder(), make_input("a.txt", A))
    other = HashingEmbedder()
    other.name = "another-model"
    with pytest.raises(ModelMismatchError, match="another-model"):
        ingest(tmp_path, other, make_input("b.txt", B))


def test_missing_and_damaged_indexes_are_named(tmp_path):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        HybridIndex.load(tmp_path / "nowhere")
    ingest(tmp_path, HashingEmbedder(), make_input("a.txt", A))
    (layout.current_generation(tmp_path) / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="damaged"):
        HybridIndex.load(tmp_path)


def test_reparsing_with_new_code_reembeds_only_changed_chunks(tmp_path):
    embedder = HashingEmbedder()
    first = make_input("a.txt", A)
    first.parser = "v1"
    ingest(tmp_path, embedder, first)
    with layout.writer_lock(tmp_path):
        writer = IndexWriter(tmp_path, lambda: embedder, embedder.name)
        assert writer.already_indexed("sha-a.txt", "v1", "/data/a.txt")
        assert not writer.already_indexed("sha-a.txt", "v2", "/data/a.txt")
    reparsed = make_input("a.txt", [A[0], "Một đoạn mới do bộ tách đoạn mới tạo ra."])
    reparsed.parser = "v2"
    report = ingest(tmp_path, embedder, reparsed)
    index = HybridIndex.load(tmp_path)
    assert report.replaced == ["/data/a.txt"] and report.passages_embedded == 1
    assert embedder.passages_embedded == 3            # 2 at first, then only the changed chunk
    assert [e.parser for e in index.manifest.inputs] == ["v2"]
    for row, passage in enumerate(index.passages):
        expected = embedder.encode_queries([f"{passage.heading}\n{passage.text}"])[0]
        assert (index.dense.reconstruct(row) == expected).all()


def test_store_written_before_parser_fingerprints_is_upgraded_on_open(tmp_path):
    import sqlite3

    from retrieval.index.store import PassageStore

    path = tmp_path / "store.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE inputs (sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL,"
                " title TEXT NOT NULL DEFAULT '', passages INTEGER NOT NULL, ingested_at TEXT NOT NULL)")
    old.execute("INSERT INTO inputs VALUES ('abc', '/data/a.txt', 'text', 'a', 0, '2026-01-01')")
    old.commit()
    old.close()
    store = PassageStore(path, writable=True)
    assert [(i.sha256, i.parser) for i in store.inputs()] == [("abc", "")]


def test_tasks_are_stored_with_their_input_and_replaced_with_it(tmp_path):
    from retrieval.schema import Task
    from retrieval.tasks.store import load_registry

    embedder = HashingEmbedder()
    first = make_input("a.txt", A, number="704/UBND-KGVX")
    first.tasks = [Task(action="tổ chức đánh giá tình hình dịch bệnh", lead="Sở Y tế",
                        partners=["Các cơ quan liên quan"], document=DocumentRef("704/UBND-KGVX"),
                        passage_id="a.txt:00")]
    ingest(tmp_path, embedder, first)
    assert [t.lead for t in load_registry(tmp_path).tasks] == ["Sở Y tế"]
    assert HybridIndex.load(tmp_path).manifest.counts["tasks"] == 1
    changed = make_input("a.txt", A, sha="sha-a2", number="704/UBND-KGVX")
    changed.tasks = [Task(action="xây dựng kế hoạch", lead="Sở Nội vụ")]
    ingest(tmp_path, embedder, changed)
    assert [(t.lead, t.partners) for t in load_registry(tmp_path).tasks] == [("Sở Nội vụ", [])]


def test_parser_fingerprint_covers_the_task_extractor_and_the_gazetteer():
    """Tasks are derived at ingest: an index built before an extractor or gazetteer change must be
    re-parsed by the next ingest, or it keeps serving stale (or no) tasks."""
    from retrieval.ingest import fingerprint_sources

    names = {(p.parent.name, p.name) for p in fingerprint_sources()}
    assert {("tasks", "extract.py"), ("tasks", "agencies.py"), ("data", "agencies_langson.yaml"),
            ("ingest", "bulletin.py"), ("ingest", "chunking.py"), ("data", "vocabulary.yaml"),
            ("loaders", "html.py"), ("loaders", "paragraphs.py")} <= names
    assert all(p.is_file() for p in fingerprint_sources())
