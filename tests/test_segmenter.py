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
def segmenter():
    return seg.load_segmenter()


@pytest.fixture(scope="module")
def sklearn_crf():
    """pyvi's CRF as pyvi itself loads it: unpickled with scikit-learn."""
    with (seg.pyvi_folder() / "models" / "pyvi3.pkl").open("rb") as handle:
        return pickle.load(handle)


def test_the_tags_are_sklearn_crfsuites_on_real_text(corpus_files, segmenter, sklearn_crf):
    assert isinstance(segmenter.model, seg.TaggerModel)
    texts = real_texts(corpus_files)
    assert len(texts) > 500
    # As written (capitals weigh in pyvi's features) and as the lexical field feeds it (NFC, lower case).
    sequences = [segmenter.sent2features(segmenter.sylabelize(form)[1], False)
                 for t in texts for form in (t, nfc(t).lower())]
    sequences = [s for s in sequences if s]
    assert segmenter.model.predict(sequences) == [list(sklearn_crf.predict_single(s)) for s in sequences]


def test_words_are_joined_by_the_model_not_by_the_word_list(segmenter):
    assert segmenter.tokenize("sở y tế chủ trì phòng chống sốt xuất huyết").split() == \
        ["sở", "y_tế", "chủ_trì", "phòng_chống", "sốt_xuất_huyết"]
    assert segmenter.tokenize("") == "" and segmenter.tokenize("   ") == "   "   # pyvi returns text without syllables


def test_segmenting_does_not_import_scikit_learn():
    code = ("import sys; from retrieval.index.lexical import vi_tokens; "
            "assert 'sốt_xuất_huyết' in vi_tokens('Phòng chống sốt xuất huyết'); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'sklearn_crfsuite') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_a_pickle_without_a_crfsuite_model_is_refused():
    with pytest.raises(seg.SegmenterFormatError):
        seg.model_bytes(object())
    with pytest.raises(seg.SegmenterFormatError):
        seg.TaggerModel(b"not a CRFsuite file")


@pytest.mark.parametrize("case", ["another release", "stand-ins fail"])
def test_where_the_stand_ins_cannot_be_used_pyvi_loads_as_it_is(case, tmp_path):
    """In a fresh process: pyvi imported as it is (with scikit-learn), and it still segments."""
    patch = {"another release": "seg.PYVI_VERSIONS = ('0.0.0',)",
             "stand-ins fail": "seg._MODEL_DATA = 'nothing'"}[case]
    code = (f"import sys; from retrieval.index import segmenter as seg; {patch}; s = seg.load_segmenter(); "
            "assert 'sốt_xuất_huyết' in s.tokenize('phòng chống sốt xuất huyết'); "
            "print(type(s.model).__name__, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["CRF", "True"]
