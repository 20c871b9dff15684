"""The subset tokenizer (e5's pieces in Vietnamese/Latin script only) gives the whole tokenizer's ids and
offsets, on real text and on odd text, and hands any text outside its script to the whole one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHARED
from retrieval.embedding import onnx_export
from retrieval.embedding.build_model import ensure_model
from retrieval.embedding.subset_tokenizer import SubsetTokenizer, WholeTokenizer, ensure_subset

pytestmark = pytest.mark.model

VICOV = SHARED / "benchmarks" / "vicov19qa" / "corpus.jsonl"
ODD = [
    "<s> </s> <mask> <pad> <unk> written as text", "https://langson.gov.vn/a?b=1&c=2 – “trích” … 1.234,5 ₫",
    "QUYẾT ĐỊNH Số 924/QĐ-UBND\u00a0ngày 20/6/2022", "Hoà hoã hòa",   # NBSP; decomposed marks
    "x" * 3000, "", "   ", "\n\t", "tiếng Việt ĐẶC BIỆT ưu tiên ơ",
]
OUTSIDE = ["Covid-19 😷 khẩu trang", "α-coronavirus", "中文 và tiếng Việt", "µg/0.3mL"]


@pytest.fixture(scope="module")
def tokenizer_file() -> Path:
    return onnx_export.ensure_exports(ensure_model())[onnx_export.PASSAGE_VARIANT] / "tokenizer.json"


@pytest.fixture(scope="module")
def whole(tokenizer_file) -> WholeTokenizer:
    return WholeTokenizer(tokenizer_file)


def real_texts(corpus_files: list[Path]) -> list[str]:
    files = corpus_files + sorted((SHARED / "archive").rglob("*.txt"))
    texts = [p for f in files for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    if VICOV.is_file():
        with VICOV.open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line, _ in zip(handle, range(1000))]
    return texts


def test_real_and_odd_text_get_the_whole_tokenizers_ids(tokenizer_file, whole, corpus_files, tmp_path):
    subset = SubsetTokenizer.load(tokenizer_file, tmp_path)
    texts = [prompt + t for t in real_texts(corpus_files) + ODD + OUTSIDE for prompt in ("passage: ", "query: ")]
    # Nearly all real text goes through the subset (else this would compare the whole tokenizer with itself).
    assert sum(map(subset.covers, texts)) > 0.95 * len(texts)
    for cap in (None, 256):
        assert subset.encode_batch(texts, cap) == whole.encode_batch(texts, cap)


def test_text_outside_the_script_loads_the_whole_tokenizer_only_then(tokenizer_file, whole, tmp_path):
    subset = SubsetTokenizer.load(tokenizer_file, tmp_path)
    subset.encode_batch(["passage: Sở Y tế chủ trì"], None)
    assert subset._whole is None
    assert not any(map(subset.covers, OUTSIDE))
    assert subset.encode_batch(OUTSIDE, None) == whole.encode_batch(OUTSIDE, None)
    assert subset._whole is not None


def test_the_subset_is_built_once_per_tokenizer_file(tokenizer_file, tmp_path):
    built, ids = ensure_subset(tokenizer_file, tmp_path)
    stamp = built.stat().st_mtime_ns
    assert ensure_subset(tokenizer_file, tmp_path) == (built, ids) and built.stat().st_mtime_ns == stamp
    other = tmp_path / "other" / "tokenizer.json"
    other.parent.mkdir()
    other.write_text(tokenizer_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert ensure_subset(other, tmp_path)[0] != built     # keyed by the file's content


def test_a_cache_that_cannot_be_written_costs_time_not_the_ingest(tokenizer_file, tmp_path, caplog):
    from retrieval.embedding.onnx_encoder import _subset_or_whole

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    tokens = _subset_or_whole(tokenizer_file, blocked)
    assert isinstance(tokens, WholeTokenizer) and "whole tokenizer" in caplog.text
    assert isinstance(_subset_or_whole(tokenizer_file, tmp_path / "cache"), SubsetTokenizer)
