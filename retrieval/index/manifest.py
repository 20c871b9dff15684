"""The manifest of an index generation: what built it, from what, and how big it is."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from retrieval.errors import ConfigError, IndexCorruptError
from retrieval.index.dense import DenseSpec

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class InputEntry:
    path: str
    sha256: str
    kind: str
    passages: int
    ingested_at: str
    parser: str = ""
    access: str = "public"     # PUBLIC or INTERNAL (retrieval.schema)


@dataclass
class Manifest:
    model: str
    dimension: int
    inputs: list[InputEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    build_time: str = ""
    build_seconds: float = 0.0
    format_version: int = FORMAT_VERSION
    # The dense structure as built (retrieval/index/dense.py DenseSpec, resolved); a manifest written
    # before the setting existed describes the flat index every generation then had.
    dense: dict = field(default_factory=lambda: {"type": "flat"})
    # What turned passages into vectors (Embedder.passage_encoder): "" is the model itself (torch),
    # as every manifest written before the field; "onnx-<variant>-<key>" an ONNX export. Vectors of
    # two encoders never share an index: the writer re-embeds every passage when it changes.
    passage_encoder: str = ""

    @property
    def dense_spec(self) -> DenseSpec:
        try:
            return DenseSpec.from_dict(self.dense)
        except ConfigError as exc:   # a manifest naming a structure this trolyao does not know
            raise IndexCorruptError(f"index manifest: {exc}") from exc

    def save(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Manifest":
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise IndexCorruptError(
                    f"index at {directory} has format version {data.get('format_version')!r}, "
                    f"this trolyao reads {FORMAT_VERSION}: re-ingest into a new --index")
            data["inputs"] = [InputEntry(**entry) for entry in data.get("inputs", [])]
            return cls(**data)
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"index at {directory} has no {MANIFEST}") from exc
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise IndexCorruptError(f"index manifest {path} is unreadable: {exc}") from exc
