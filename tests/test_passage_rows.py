"""A loaded index reads its passages from the store by row instead of holding them all: the same
passages, in the same order, by index, slice and iteration; a bounded number kept; safe from several
threads; and each row's access, source and date as compact per-row codes that filters compare."""
from __future__ import annotations

import random
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from conftest import REPO
from fakes import HashingEmbedder

from retrieval.answer.documents import DocumentCatalog
from retrieval.errors import IndexCorruptError
from retrieval.index.hybrid import STORE_FILE, HybridIndex
from retrieval.index.layout import current_generation
from retrieval.index.rows import PassageRows, RowValues
from retrieval.index.store import _PASSAGE_COLUMNS, PassageStore
from retrieval.pipeline import ingest
from retrieval.schema import INTERNAL, PUBLIC, Passage


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, corpus_files):
    """The sample weeks (public) and an internal notice: rows of both access levels."""
    root = tmp_path_factory.mktemp("rows") / "index"
    ingest([*corpus_files, REPO / "tests" / "data" / "internal"], root, HashingEmbedder())
    return root


@pytest.fixture(scope="module")
def held(mixed_index):
    """Every passage as the store lists them: what the rows must give."""
    store = PassageStore(current_generation(mixed_index) / STORE_FILE)
    yield store.passages()
    store.close()


def rows_of(index_root, **kw) -> PassageRows:
    store = PassageStore(current_generation(index_root) / STORE_FILE)
    return PassageRows(store, store.count(), **kw)


def test_a_loaded_index_gives_every_passage_by_row(mixed_index, held):
    rows = HybridIndex.load(mixed_index).passages
    assert isinstance(rows, PassageRows) and len(rows) == len(held) > 10
    assert [rows[r] for r in range(len(held))] == held
    assert rows[-1] == held[-1] and rows[3:9:2] == held[3:9:2]
    with pytest.raises(IndexError):
        rows[len(held)]


def test_iteration_reads_batches_in_row_order(mixed_index, held):
    assert list(rows_of(mixed_index, batch=7)) == held   # batches that do not divide the count


def test_outlines_are_the_passages_without_their_text(mixed_index, held):
    outlines = list(rows_of(mixed_index, batch=7).outlines())
    assert outlines == [replace(p, text="", extra={}) for p in held]
    assert all(p.text for p in held) and any(p.document for p in outlines)


def test_many_rows_come_in_the_order_asked_and_are_not_kept(mixed_index, held):
    rows = rows_of(mixed_index)
    asked = [9, 2, 9, len(held) - 1, 0]
    assert [p.id for p in rows.many(asked)] == [held[r].id for r in asked]
    assert rows.many([]) == [] and rows._read.cache_info().currsize == 0
    with pytest.raises(IndexError):
        rows.many([1, len(held)])


@pytest.mark.parametrize("document", [
    dict.fromkeys(["doc_number", "doc_type", "issued_date", "issuer", "signer"]),           # none
    {"doc_number": "", "doc_type": "", "issued_date": None, "issuer": "", "signer": None},  # empty
    {"doc_number": None, "doc_type": None, "issued_date": None, "issuer": "UBND tỉnh", "signer": None},
    {"doc_number": "143/KH-UBND", "doc_type": "Kế hoạch", "issued_date": "2022-06-20", "issuer": "UBND tỉnh",
     "signer": "Hồ Tiến Thiệu"}])
@pytest.mark.parametrize("lists", [("[]", "{}"), ("", ""), ('["704/UBND-KGVX"]', '{"lang": "vi"}')])
def test_a_record_decodes_as_the_generic_path_does(document, lists):
    """The store decodes a row by position; it must give what ``Passage.from_dict`` gives."""
    data = {"id": "a:01", "text": "Nội dung", "source": None, "title": "T", "heading": "",
            "bulletin_date": "2024-06-03", **document, "mentions": lists[0], "extra": lists[1]}
    record = (5, *(data[c] for c in _PASSAGE_COLUMNS), INTERNAL)
    generic = Passage.from_dict({**data, "access": INTERNAL, "mentions": eval_json(lists[0], []),
                                 "extra": eval_json(lists[1], {})})
    assert PassageStore.decode(record) == (5, generic)


def eval_json(raw: str, empty):
    import json

    return json.loads(raw) if raw else empty


def test_a_store_missing_rows_is_refused_at_load_and_at_read(mixed_index, held, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(mixed_index, copy, symlinks=True)
    rows = rows_of(copy)
    rows._count += 1   # an index that counts one row more than the store holds
    with pytest.raises(IndexCorruptError):
        rows[len(held)]
    with pytest.raises(IndexCorruptError):
        list(rows)
    with pytest.raises(IndexCorruptError):
        rows.access
    db = sqlite3.connect(current_generation(copy) / STORE_FILE)   # a passage whose input record is gone
    db.execute("DELETE FROM inputs WHERE sha256 = (SELECT input_sha256 FROM passages WHERE row = 0)")
    db.commit()
    db.close()
    with pytest.raises(IndexCorruptError, match="inconsistent"):
        HybridIndex.load(copy)


def test_only_the_recent_rows_are_kept(mixed_index, held):
    rows = rows_of(mixed_index, recent=5)
    for row in range(len(held)):
        assert rows[row].id == held[row].id
    assert rows._read.cache_info().currsize == 5


def test_threads_reading_at_once_each_get_their_row(mixed_index, held):
    rows = rows_of(mixed_index, recent=3)   # most reads go to the store
    asked = [random.Random(seed).randrange(len(held)) for seed in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda r: rows[r].id, asked))
    assert got == [held[r].id for r in asked]


def test_each_rows_access_source_and_date_match_its_passage(mixed_index, held):
    rows = rows_of(mixed_index)
    access = [p.access for p in held]
    assert len(set(access)) == 2   # the fixture has both levels
    assert (rows.access.equal(PUBLIC) == np.array([a == PUBLIC for a in access])).all()
    for source in {p.source for p in held}:
        assert (rows.sources.equal(source) == np.array([p.source == source for p in held])).all()
    row_dates = [p.issued_date or p.bulletin_date or "" for p in held]
    dates = sorted(set(row_dates) - {""})
    assert len(dates) > 2
    for low, high in [(dates[0], dates[-1]), (dates[1], dates[1]), ("0000-00-00", dates[1]), (dates[-1], "9999")]:
        expected = [bool(d) and low <= d <= high for d in row_dates]
        assert (rows.dates.between(low, high) == np.array(expected)).all(), (low, high)


@pytest.mark.parametrize("column", [["b", "", "a", "b", "c", ""], ["", ""], ["x"], []])
def test_row_values_compare_like_the_strings_they_code(column):
    values = RowValues.of(column)
    assert len(values) == len(column)
    for value in ["", "a", "b", "bb", "c", "x", "z"]:
        assert values.equal(value).tolist() == [v == value for v in column]
        for high in ["a", "b", "c", "z"]:
            assert values.between(value, high).tolist() == [bool(v) and value <= v <= high for v in column]


def test_a_catalog_over_the_visible_rows_is_the_catalog_of_those_passages(mixed_index, held):
    """The public audience's catalog (rows read from the store, internal ones masked) says what a
    catalog built from the public passages alone says."""
    index = HybridIndex.load(mixed_index)
    visible = index.passages.access.equal(PUBLIC)
    assert not visible.all()
    numbers = index.document_numbers
    by_rows = DocumentCatalog(index.passages, numbers, visible, outlines=index.passages.outlines())
    by_list = DocumentCatalog([p for p in held if p.access == PUBLIC], numbers)
    assert by_rows.digests() == by_list.digests() and by_rows.digests()
    own = {p.doc_number for p in held if p.doc_number}
    named = {m for p in held for m in p.mentions} - own
    assert own and named
    for number in sorted(own | named):
        info = by_rows.get(number)
        assert info == by_list.get(number), number
        if info is not None:
            assert by_rows.naming_citation(info) == by_list.naming_citation(info), number
