"""The word segmenter read without scikit-learn gives pyvi's own segmentation, on real text."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SHARED
from retrieval.index import segmenter as seg
from retrieval.text import nfc

VICOV = SHARED / "benchmarks" / "vicov19qa" / "corpus.jsonl"
VICOV_SLICE = 400   # passages: pyvi itself takes ~2 ms a text


def real_texts(corpus_files: list[Path]) -> list[str]:
    """Paragraphs of the sample bulletins and of every archive page, and a slice of ViCoV19QA answers."""
    files = corpus_files + sorted((SHARED / "archive").rglob("*.txt"))
    texts = [p for f in files for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    if VICOV.is_file():
        with VICOV.open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line, _ in zip(handle, range(VICOV_SLICE))]
    return texts


@pytest.fixture(scope="module")
def pyvi_tokenizer():
    from pyvi import ViTokenizer

    return ViTokenizer


def test_the_segmentation_is_pyvis_on_real_text(corpus_files, pyvi_tokenizer):
    ours = seg.CrfSegmenter.from_pyvi()
    texts = real_texts(corpus_files)
    assert len(texts) > 500
    # As written (capitals weigh in pyvi's features) and as the lexical field feeds it (NFC, lower case).
    differ = [t[:80] for t in texts for form in (t, nfc(t).lower())
              if ours.tokenize(form) != pyvi_tokenizer.tokenize(form)]
    assert differ == []


def test_words_are_joined_by_the_model_not_by_the_word_list():
    ours = seg.CrfSegmenter.from_pyvi()
    assert ours.tokenize("sở y tế chủ trì phòng chống sốt xuất huyết").split() == \
        ["sở", "y_tế", "chủ_trì", "phòng_chống", "sốt_xuất_huyết"]
    assert ours.tokenize("") == "" and ours.tokenize("   ") == "   "   # pyvi returns text without syllables


def test_segmenting_does_not_import_scikit_learn():
    code = ("import sys; from retrieval.index.lexical import vi_tokens; "
            "assert 'sốt_xuất_huyết' in vi_tokens('Phòng chống sốt xuất huyết'); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'pyvi.ViTokenizer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_an_unknown_pickle_is_refused_and_pyvi_itself_answers(tmp_path, monkeypatch, pyvi_tokenizer):
    odd = tmp_path / "models" / "pyvi3.pkl"
    odd.parent.mkdir()
    odd.write_bytes(pickle.dumps(Path("x")))    # a global the reader does not know: never imported
    with pytest.raises(seg.SegmenterFormatError):
        seg.read_crfsuite_model(odd)
    monkeypatch.setattr(seg, "pyvi_folder", lambda: tmp_path)
    assert seg.load_segmenter() is pyvi_tokenizer


def test_another_pyvi_release_loads_pyvi_itself(monkeypatch, pyvi_tokenizer):
    monkeypatch.setattr(seg, "PYVI_VERSIONS", ("0.0.0",))
    assert seg.load_segmenter() is pyvi_tokenizer
