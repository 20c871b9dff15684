"""Ingest as a library function: what the CLI, the fixtures and the benchmarks call.

What ingest reports does not depend on the model, so these tests embed with the fast test embedder
(the CLI's and the fixtures' ingests use the real one)."""
from __future__ import annotations

import pytest
from fakes import HashingEmbedder

from retrieval.errors import InputError
from retrieval.pipeline import ingest


@pytest.fixture
def hashing_embedder():
    return HashingEmbedder()


def test_ingest_reports_what_it_did_and_skips_what_it_has(tmp_path, corpus_files, hashing_embedder):
    root = tmp_path / "index"
    first = ingest(corpus_files[:1], root, hashing_embedder)
    assert first.added and first.passages_total > 0 and first.generation
    again = ingest(corpus_files, root, hashing_embedder)
    assert len(again.unchanged) == 1 and len(again.added) == len(corpus_files) - 1
    assert again.passages_total > first.passages_total


def test_unknown_agencies_are_reported_not_dropped(tmp_path, hashing_embedder):
    page = tmp_path / "cong-van.txt"
    page.write_text("Chỉ đạo phòng, chống dịch\nUBND tỉnh ban hành Công văn chỉ đạo (Công văn số 12/UBND-KGVX, "
                    "ngày 03/3/2025).\nSở Quy hoạch Kiến trúc chủ trì, phối hợp với Sở Y tế rà soát các điểm "
                    "nguy cơ.\n", encoding="utf-8")
    report = ingest([page], tmp_path / "index", hashing_embedder)
    assert "Sở Quy hoạch Kiến trúc" in report.unknown_agencies


def test_a_bad_path_writes_nothing(tmp_path, hashing_embedder):
    root = tmp_path / "index"
    with pytest.raises(InputError):
        ingest([tmp_path / "missing.txt"], root, hashing_embedder)
    assert not (root / "current").exists()
