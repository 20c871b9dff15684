"""Vietnamese word segmentation: pyvi's own CRF model and features, read without scikit-learn.

``pyvi.ViTokenizer`` unpickles a ``sklearn_crfsuite.CRF`` at import, which imports scikit-learn
(and scipy): ~0.85 s of an ingest or of a server's start, for a model that is a CRFsuite file
inside the pickle and is run by python-crfsuite's ``Tagger``. Here the pickle is read with stand-in
classes (nothing of sklearn is imported or executed), the CRFsuite bytes are opened in memory, and
``tokenize`` is pyvi 0.1.1's ``ViTokenizer.tokenize``: the same syllables, features and joining
rule, so the same output (tests/test_segmenter.py checks it against pyvi on real text).

The pickle's layout belongs to pyvi's release: one this reader does not know (another pyvi, another
pickle) raises ``SegmenterFormatError`` and ``load_segmenter`` falls back to pyvi's own class.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import pickle
import re
import string
import threading
import unicodedata
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

PYVI_VERSIONS = ("0.1.1",)     # the releases whose tokenize() this module reproduces
MODEL_FILE = "models/pyvi3.pkl"
WORDS_FILE = "models/words.txt"


class SegmenterFormatError(Exception):
    """pyvi's files are not the layout this reader knows."""


class Segmenter(Protocol):
    def tokenize(self, text: str) -> str: ...


# pyvi's syllable pattern, in its order (abbreviations, specials, web, email, digits, non-word, word).
_SYLLABLE = re.compile("(" + "|".join([
    r"[A-ZĐ]+\.", r"Tp\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"ThS\.",
    "==>", "->", r"\.\.\.", ">>", "\n",
    r"\w+://[^\s]+", r"([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)",
    r"\d+([\.,_]\d+)+", r"[^\w\s]", r"\w+",
]) + ")", re.UNICODE)


class CrfSegmenter:
    """pyvi's ``ViTokenizer.tokenize`` over a python-crfsuite tagger."""

    def __init__(self, tagger, bi_grams: set[str], tri_grams: set[str], model_bytes: bytes = b""):
        self._tagger = tagger
        self._bi_grams = bi_grams
        self._tri_grams = tri_grams
        self._model_bytes = model_bytes   # open_inmemory reads the buffer in place: keep it alive
        self._lock = threading.Lock()     # a Tagger keeps the sequence it tags: one at a time (servers' threads)

    @classmethod
    def from_pyvi(cls, folder: Path | None = None) -> "CrfSegmenter":
        """The segmenter of the installed pyvi package (``folder``: its directory)."""
        import pycrfsuite

        folder = folder or pyvi_folder()
        model = read_crfsuite_model(folder / MODEL_FILE)
        tagger = pycrfsuite.Tagger()
        try:
            tagger.open_inmemory(model)
        except Exception as exc:   # pycrfsuite raises ValueError/OSError on a damaged model
            raise SegmenterFormatError(f"pyvi's CRF model does not open: {exc}") from exc
        bi_grams, tri_grams = read_word_lists(folder / WORDS_FILE)
        return cls(tagger, bi_grams, tri_grams, model)

    def _features(self, sent: list[str], i: int) -> dict:
        # pyvi's word2features, key for key (the model's weights are keyed by these strings).
        word = sent[i]
        features = {
            "bias": 1.0,
            "word.lower()": word.lower(),
            "word.isupper()": word.isupper(),
            "word.istitle()": word.istitle(),
            "word.isdigit()": word.isdigit(),
        }
        if i > 0:
            word1 = sent[i - 1]
            features.update({
                "-1:word.lower()": word1.lower(),
                "-1:word.istitle()": word1.istitle(),
                "-1:word.isupper()": word1.isupper(),
                "-1:word.bi_gram()": " ".join([word1, word]).lower() in self._bi_grams,
            })
            if i > 1:
                features["-2:word.tri_gram()"] = " ".join([sent[i - 2], word1, word]).lower() in self._tri_grams
        if i < len(sent) - 1:
            word1 = sent[i + 1]
            features.update({
                "+1:word.lower()": word1.lower(),
                "+1:word.istitle()": word1.istitle(),
                "+1:word.isupper()": word1.isupper(),
                "+1:word.bi_gram()": " ".join([word, word1]).lower() in self._bi_grams,
            })
            if i < len(sent) - 2:
                features["+2:word.tri_gram()"] = " ".join([word, word1, sent[i + 2]]).lower() in self._tri_grams
        return features

    def tokenize(self, text: str) -> str:
        """Syllables joined by "_" within a word and " " between words (pyvi's output, as it is)."""
        tmp = [m[0] for m in _SYLLABLE.findall(unicodedata.normalize("NFC", text))]
        if not tmp:
            return text
        features = [self._features(tmp, i) for i in range(len(tmp))]
        with self._lock:
            labels = self._tagger.tag(features)
        output = tmp[0]
        for i in range(1, len(labels)):
            if labels[i] == "I_W" and tmp[i] not in string.punctuation and \
                    tmp[i - 1] not in string.punctuation and \
                    not tmp[i][0].isdigit() and not tmp[i - 1][0].isdigit() \
                    and not (tmp[i][0].istitle() and not tmp[i - 1][0].istitle()):
                output = output + "_" + tmp[i]
            else:
                output = output + " " + tmp[i]
        return output


def pyvi_folder() -> Path:
    """pyvi's package directory, found without importing pyvi (its modules load models at import)."""
    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise SegmenterFormatError("pyvi is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def read_word_lists(path: Path) -> tuple[set[str], set[str]]:
    """pyvi's two- and three-syllable words (lines split on "\\n" only, as pyvi's codecs.open reads them)."""
    bi_grams, tri_grams = set(), set()
    with path.open(encoding="utf-8", newline="") as handle:
        for token in handle.read().split("\n"):
            size = len(token.split(" "))
            if size == 2:
                bi_grams.add(token)
            elif size == 3:
                tri_grams.add(token)
    return bi_grams, tri_grams


class _Stub:
    """Stands for sklearn_crfsuite's CRF and FileResource and pycrfsuite's log parser: keeps the state."""

    def __init__(self, *args) -> None:
        self.args = args

    def __setstate__(self, state) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class _ModelUnpickler(pickle.Unpickler):
    # Every global the pickle names is one of these; anything else is a layout we do not know, and is
    # refused rather than imported (unpickling may otherwise run any callable).
    _STUBS = {("sklearn_crfsuite.estimator", "CRF"), ("sklearn_crfsuite._fileresource", "FileResource"),
              ("pycrfsuite._logparser", "TrainLogParser"),
              ("numpy.core.multiarray", "scalar"), ("numpy", "dtype")}   # CRF's c1/c2 hyper-parameters

    def find_class(self, module: str, name: str):
        if (module, name) in self._STUBS:
            return _Stub
        if (module, name) == ("_codecs", "encode"):   # protocol 2's bytes
            import codecs

            return codecs.encode
        raise SegmenterFormatError(f"pyvi's model pickle names {module}.{name}")


def read_crfsuite_model(path: Path) -> bytes:
    """The CRFsuite model file inside pyvi's pickled ``sklearn_crfsuite.CRF``."""
    try:
        with path.open("rb") as handle:
            crf = _ModelUnpickler(handle).load()
        data = crf.modelfile.__dict__["__FILE_RESOURCE_DATA__"]
    except SegmenterFormatError:
        raise
    except (OSError, pickle.UnpicklingError, AttributeError, KeyError, EOFError, TypeError, ValueError) as exc:
        raise SegmenterFormatError(f"cannot read pyvi's CRF model at {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, bytes) or not data.startswith(b"lCRF"):   # CRFsuite's file magic
        raise SegmenterFormatError(f"pyvi's pickle at {path} holds no CRFsuite model")
    return data


def load_segmenter() -> Segmenter:
    """The sklearn-free segmenter for the pyvi release it reproduces, else pyvi's own ViTokenizer."""
    try:
        version = importlib.metadata.version("pyvi")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    if version in PYVI_VERSIONS:
        try:
            return CrfSegmenter.from_pyvi()
        except (SegmenterFormatError, ImportError) as exc:
            log.warning("pyvi's model read without scikit-learn failed (%s); loading pyvi itself", exc)
    else:
        log.info("pyvi %s is not a release this reader knows; loading pyvi itself", version or "?")
    from pyvi import ViTokenizer

    return ViTokenizer
