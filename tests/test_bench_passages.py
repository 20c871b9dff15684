"""The passages bench (``make bench``, ``--only-lookups``) writes a store of copied passages and loads
it both ways in fresh processes; both must load the same thing. No timing or memory asserted here."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

from retrieval.bench_passages import INTERNAL_EVERY, measure, passages_cost, write_store
from retrieval.index.store import PassageStore
from retrieval.schema import PUBLIC


@pytest.fixture(scope="module")
def copied_store(hashing_index, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench-passages") / "store.sqlite"
    assert write_store(hashing_index, path, 2_500) == 2_500
    return path


def test_the_copied_store_has_distinct_passages_and_some_internal_inputs(copied_store):
    store = PassageStore(copied_store)
    passages = store.passages()
    assert len(passages) == 2_500 == len({p.id for p in passages})
    inputs = store.inputs()
    internal = [i for i in inputs if i.access != PUBLIC]
    assert len(inputs) >= INTERNAL_EVERY and len(internal) == len(inputs) // INTERNAL_EVERY
    assert len(store.document_numbers()) > 1
    assert all(tokens for tokens in store.tokens("vi"))   # rows as long as real ones


def test_both_ways_load_as_many_rows_public_rows_and_bulletins(copied_store):
    held, rows = measure(copied_store, "held", reads=50), measure(copied_store, "rows", reads=50)
    for key in ("passages", "visible", "digests"):
        assert held[key] == rows[key], key
    assert 0 < rows["visible"] < rows["passages"] and rows["digests"] > 1
    with pytest.raises(ValueError):
        measure(copied_store, "all")


def test_the_bench_runs_each_way_in_its_own_process(hashing_index, tmp_path):
    result = passages_cost(hashing_index, tmp_path, count=600)
    assert set(result) == {"held", "rows"} and result["held"]["passages"] == result["rows"]["passages"] == 600


def test_the_command_refuses_a_missing_store(tmp_path):
    run = subprocess.run([sys.executable, "-m", "retrieval.bench_passages", "--measure", "rows",
                          str(tmp_path / "none.sqlite")], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and "existing store" in run.stderr
