"""Queries and passages are encoded by the e5 graph exported to ONNX at set-up (passages past 512 tokens in
windows); the index records which encoder wrote its vectors.

The export is built once into the model cache (keyed by the model's build, the exporter's version and
the exporting libraries), agrees with the fp32 model closely enough that searches find the same
documents, and a damaged or missing export leaves the assistant answering through torch, logged.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding import onnx_export
from retrieval.embedding.build_model import ensure_model
from retrieval.embedding.embedder import (
    E5_PROMPTS,
    SentenceTransformerEmbedder,
    passage_export_for,
    query_export_for,
)
from retrieval.embedding.onnx_encoder import QUERY_MAX_TOKENS, OnnxEncoder
from retrieval.errors import ModelError
from retrieval.goldset.load import load_gold

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return ensure_model()


@pytest.fixture(scope="module")
def export(model_dir) -> Path:
    return onnx_export.ensure_exports(model_dir)[onnx_export.QUERY_VARIANT]


@pytest.fixture(scope="module")
def passage_export(model_dir) -> Path:
    return onnx_export.ensure_exports(model_dir)[onnx_export.PASSAGE_VARIANT]


@pytest.fixture(scope="module")
def gold_questions() -> list:
    """The sample gold's single questions that name the document answering them."""
    return [turn for item in load_gold(REPO / "eval" / "gold.yaml") if not item.multi_turn
            for turn in item.turns if turn.expected_docs]


def test_the_export_is_built_once_and_keyed_by_its_inputs(model_dir, export, caplog):
    onnx_file = export / onnx_export.ONNX_FILE
    before = onnx_file.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="retrieval.embedding.onnx_export"):
        again = onnx_export.ensure_exports(model_dir)[onnx_export.QUERY_VARIANT]
    assert again == export and onnx_file.stat().st_mtime_ns == before
    assert "up to date" in caplog.text
    assert onnx_export.is_current(export, model_dir, onnx_export.QUERY_VARIANT)
    # Another exporter version or variant is another folder: an old export is never taken for a new one.
    assert onnx_export.export_dir(model_dir, "fp32") != export
    stamp = onnx_export.expected_stamp(model_dir, onnx_export.QUERY_VARIANT)
    assert stamp["model_build"] and stamp["exporter_version"] == onnx_export.EXPORTER_VERSION


def test_the_default_model_encodes_queries_and_passages_through_their_exports(model_dir, export, passage_export):
    assert query_export_for(str(model_dir)) == export
    assert passage_export_for(str(model_dir)) == passage_export
    assert query_export_for("some/other-model") is None and passage_export_for("some/other-model") is None


def test_onnx_vectors_agree_with_the_fp32_model(model_dir, export, gold_questions):
    texts = [turn.question for turn in gold_questions]
    torch_vectors = SentenceTransformerEmbedder(str(model_dir)).encode_queries(texts)
    onnx_vectors = OnnxEncoder(export, E5_PROMPTS[0], threads=2).encode(texts)
    assert onnx_vectors.shape == torch_vectors.shape and onnx_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    cosine = (onnx_vectors * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.97, cosine.min()


def test_searches_find_the_same_documents_with_either_query_encoder(sample_index, model_dir, export,
                                                                   gold_questions):
    from retrieval.service import Retrieval

    torch_only = Retrieval(sample_index, embedder=SentenceTransformerEmbedder(str(model_dir)))
    onnx = Retrieval(sample_index, embedder=SentenceTransformerEmbedder(str(model_dir), export))
    texts = [turn.question for turn in gold_questions]
    for method in (("dense",), ("dense", "bm25", "bm25_fold")):
        a = torch_only.searcher.search_many(texts, k=5, methods=method)
        b = onnx.searcher.search_many(texts, k=5, methods=method)
        top_same = sum(x[0].passage.doc_number == y[0].passage.doc_number for x, y in zip(a, b) if x and y)
        assert top_same >= 0.95 * len(texts), (method, top_same, len(texts))


def test_a_query_is_encoded_the_same_alone_or_in_a_batch(export):
    encoder = OnnxEncoder(export, E5_PROMPTS[0], threads=2)
    texts = ["Sở Y tế chủ trì việc gì?", "ke hoach 143 ve logistics la gi", "Ai ký Quyết định 924/QĐ-UBND?"]
    np.testing.assert_array_equal(encoder.encode(texts)[1], encoder.encode(texts[1:2])[0])


def test_a_question_longer_than_the_cap_is_cut_not_refused(export):
    encoder = OnnxEncoder(export, E5_PROMPTS[0], threads=1)
    question = "Sở Y tế chủ trì phối hợp với các đơn vị liên quan " * 60
    assert len(encoder.tokens.encode_batch([E5_PROMPTS[0] + question], QUERY_MAX_TOKENS)[0].ids) == QUERY_MAX_TOKENS
    vector = encoder.encode([question])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


def test_a_damaged_export_is_a_clear_error(export, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(export, broken)
    (broken / onnx_export.ONNX_FILE).write_bytes(b"not an onnx graph")
    with pytest.raises(ModelError, match="cannot load the ONNX query encoder"):
        OnnxEncoder(broken, E5_PROMPTS[0], threads=1)
    (broken / onnx_export.ONNX_FILE).unlink()
    with pytest.raises(ModelError, match="cannot load the ONNX query encoder"):
        OnnxEncoder(broken, E5_PROMPTS[0], threads=1)


def test_a_damaged_export_falls_back_to_torch_logged(model_dir, export, tmp_path, caplog):
    broken = tmp_path / "broken"
    shutil.copytree(export, broken)
    (broken / onnx_export.ONNX_FILE).write_bytes(b"\x08\x07garbage")
    embedder = SentenceTransformerEmbedder(str(model_dir), broken)
    with caplog.at_level(logging.ERROR, logger="retrieval.embedding.embedder"):
        vectors = embedder.encode_queries(["Sở Y tế chủ trì việc gì?"])
    assert "queries are encoded by torch instead" in caplog.text
    reference = SentenceTransformerEmbedder(str(model_dir)).encode_queries(["Sở Y tế chủ trì việc gì?"])
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_a_missing_export_is_logged_and_torch_answers(model_dir, monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(onnx_export, "export_dir", lambda folder, variant=None: tmp_path / "never-built")
    with caplog.at_level(logging.WARNING, logger="retrieval.embedding.embedder"):
        assert query_export_for(str(model_dir)) is None
    assert "not built" in caplog.text and "make setup" in caplog.text


def test_passages_go_through_their_export_close_to_the_fp32_model(model_dir, export, passage_export, gold_questions):
    embedder = SentenceTransformerEmbedder(str(model_dir), export, passage_export)
    assert embedder.passage_encoder.startswith("onnx-" + passage_export.name.split(".onnx-", 1)[1] + "-")
    assert SentenceTransformerEmbedder(str(model_dir), export).passage_encoder == ""   # no passage export
    assert SentenceTransformerEmbedder(str(model_dir)).passage_encoder == ""   # torch: the model itself
    texts = [turn.question for turn in gold_questions][:20]
    onnx_vectors = embedder.encode_passages(texts)
    torch_vectors = SentenceTransformerEmbedder(str(model_dir)).encode_passages(texts)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() > 0.97
    # Alone or with others, a passage has one vector.
    np.testing.assert_array_equal(embedder.encode_passages(texts[3:4])[0], onnx_vectors[3])


def test_a_long_passage_can_be_read_whole_in_windows(model_dir, passage_export):
    encoder = OnnxEncoder(passage_export, E5_PROMPTS[0], threads=2)
    head = "Sở Y tế chủ trì phối hợp với các đơn vị liên quan. " * 60          # ~700 tokens
    tail = "Công an tỉnh bảo đảm an ninh trật tự trong dịp Tết Nguyên đán. " * 20
    whole, head_only = encoder.encode_passages([head + tail, head], E5_PROMPTS[1], windowed=True)
    cut, _ = encoder.encode_passages([head + tail, head], E5_PROMPTS[1], windowed=False)
    # Cut at 512 tokens, the tail is lost: the long text's vector is the head's.
    tail_vector = encoder.encode_passages([tail], E5_PROMPTS[1])[0]
    assert float(whole @ tail_vector) > float(head_only @ tail_vector) + 0.01
    assert float(whole @ tail_vector) > float(cut @ tail_vector) + 0.01
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-5


def test_passages_run_in_parallel_give_each_its_own_vector_in_order(passage_export, corpus_files):
    """Passages go one run per core at a time (longest first): the vectors are the one-at-a-time vectors,
    bit for bit, each in its passage's place, also when long passages are read in windows."""
    paragraphs = [p for f in corpus_files for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()][:24]
    texts = paragraphs + ["Sở Y tế chủ trì phối hợp với các đơn vị liên quan. " * 60 + paragraphs[0]]
    alone = OnnxEncoder(passage_export, E5_PROMPTS[0], threads=1)
    together = OnnxEncoder(passage_export, E5_PROMPTS[0], threads=1, workers=3)
    for windowed in (False, True):
        expected = np.stack([alone.encode_passages([t], E5_PROMPTS[1], windowed=windowed)[0] for t in texts])
        np.testing.assert_array_equal(together.encode_passages(texts, E5_PROMPTS[1], windowed=windowed), expected)


def test_a_damaged_export_refuses_passages_rather_than_mixing_encoders(model_dir, export, passage_export,
                                                                      tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(passage_export, broken)
    (broken / onnx_export.ONNX_FILE).write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelError, match="passages cannot be encoded"):
        SentenceTransformerEmbedder(str(model_dir), export, broken).encode_passages(["Sở Y tế chủ trì."])
