"""Vietnamese word segmentation: pyvi's ``ViTokenizer``, its CRF run without scikit-learn.

pyvi unpickles a ``sklearn_crfsuite.CRF`` when its module is imported, which imports scikit-learn
and scipy: ~0.85 s of an ingest or of a server's start. The CRF is only a CRFsuite model file
inside the pickle, tagged by python-crfsuite (``CRF.predict`` is ``Tagger.tag`` per sequence). So
pyvi is imported with stand-ins for sklearn_crfsuite's two pickled classes (they keep the state;
nothing of sklearn runs), and its ``model`` answers ``predict`` through a Tagger over those bytes.
Everything else (syllables, features, the joining rule) stays pyvi's own code.

The stand-ins fit pyvi's release ``PYVI_VERSIONS``; another release, or a pickle without a CRFsuite
model, gets pyvi imported as it is.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import sys
import threading
import types
from typing import Protocol

log = logging.getLogger(__name__)

PYVI_VERSIONS = ("0.1.1",)           # the releases whose pickle these stand-ins were checked on
_PICKLED_MODULES = {"sklearn_crfsuite.estimator": "CRF", "sklearn_crfsuite._fileresource": "FileResource"}
_MODEL_DATA = "__FILE_RESOURCE_DATA__"   # where sklearn_crfsuite's FileResource pickles the file's bytes


class SegmenterFormatError(Exception):
    """pyvi's pickle is not the layout the stand-ins know."""


class Segmenter(Protocol):
    def tokenize(self, text: str) -> str: ...


class _Pickled:
    """Stands for a pickled sklearn_crfsuite object: keeps its state, runs none of its code."""

    def __setstate__(self, state) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class TaggerModel:
    """What pyvi calls on its model, ``predict(sequences)``, answered by python-crfsuite."""

    def __init__(self, model: bytes):
        import pycrfsuite

        if not model.startswith(b"lCRF"):   # CRFsuite's file magic
            raise SegmenterFormatError("pyvi's pickle holds no CRFsuite model")
        self._model = model               # open_inmemory reads the buffer in place: keep it alive
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(model)
        self._lock = threading.Lock()     # a Tagger keeps the sequence it tags: one at a time (servers' threads)

    def predict(self, sequences: list[list[dict]]) -> list[list[str]]:
        with self._lock:
            return [self._tagger.tag(features) for features in sequences]


def model_bytes(crf: object) -> bytes:
    """The CRFsuite file inside a pickled ``sklearn_crfsuite.CRF`` read with the stand-ins."""
    data = getattr(getattr(crf, "modelfile", None), "__dict__", {}).get(_MODEL_DATA)
    if not isinstance(data, bytes):
        raise SegmenterFormatError("pyvi's pickled CRF has no model file")
    return data


@contextlib.contextmanager
def _stand_ins():
    """sklearn_crfsuite's pickled classes as stand-ins while pyvi imports, removed afterwards so a
    later real import of sklearn_crfsuite is untouched."""
    added = {"sklearn_crfsuite": types.ModuleType("sklearn_crfsuite")}
    for name, cls in _PICKLED_MODULES.items():
        module = added[name] = types.ModuleType(name)
        setattr(module, cls, _Pickled)
    sys.modules.update(added)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def load_segmenter() -> Segmenter:
    """pyvi's ViTokenizer with its CRF run by python-crfsuite, or pyvi as it is where that cannot be."""
    if "pyvi.ViTokenizer" in sys.modules or "sklearn_crfsuite" in sys.modules:
        from pyvi.ViTokenizer import ViTokenizer   # already imported (or sklearn is loaded anyway)

        return ViTokenizer
    try:
        version = importlib.metadata.version("pyvi")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    if version not in PYVI_VERSIONS:
        log.info("pyvi %s is not a release the CRF stand-ins know; importing pyvi as it is", version or "?")
        from pyvi.ViTokenizer import ViTokenizer

        return ViTokenizer
    try:
        with _stand_ins():
            from pyvi.ViTokenizer import ViTokenizer
        ViTokenizer.model = TaggerModel(model_bytes(ViTokenizer.model))
        return ViTokenizer
    except Exception as exc:   # any surprise in pyvi's pickle: pyvi as it is, never a broken segmenter
        log.warning("pyvi's CRF could not be read without scikit-learn (%s); importing pyvi as it is", exc)
        sys.modules.pop("pyvi.ViTokenizer", None)
        from pyvi.ViTokenizer import ViTokenizer

        return ViTokenizer


def pyvi_folder():
    """pyvi's package directory, found without importing pyvi (its modules load models at import)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise SegmenterFormatError("pyvi is not installed")
    return Path(next(iter(spec.submodule_search_locations)))
