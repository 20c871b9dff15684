"""Who may read an input: the access level an ingest states for each file.

`trolyao ingest --access internal PATH` states one level for the run; a folder may hold a sidecar
`access.yaml` that states it for its files and those below it, and for single files by name:

    access: internal            # this folder's files (and below, unless a deeper access.yaml says otherwise)
    files:
      thong-bao-cong-khai.md: public

The nearest sidecar between the file and the path given to ingest decides; where none states a
level, the run's --access does; where neither does, the level is not stated (None): a new file is
public, an indexed one keeps the level it has (a plain re-ingest never makes an internal file public).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from retrieval.errors import InputError
from retrieval.schema import ACCESS_LEVELS

SIDECAR = "access.yaml"


def checked(level: object, where: str) -> str:
    if level not in ACCESS_LEVELS:
        raise InputError(f"{where}: access must be one of {', '.join(ACCESS_LEVELS)}, not {level!r}")
    return str(level)


class StatedAccess:
    """The levels one ingest run states (sidecars read once per run: a later run sees edits)."""

    def __init__(self, default: str | None = None):
        self.default = checked(default, "--access") if default is not None else None
        self._sidecars: dict[Path, tuple[str | None, dict[str, str]]] = {}

    def of(self, file: Path, root: Path) -> str | None:
        """The level stated for ``file`` (found under the ingested path ``root``), else the run's."""
        file, root = file.resolve(), root.resolve()
        folder = file.parent
        level, files = self._sidecar(folder)
        if file.name in files:
            return files[file.name]
        while level is None and folder != root and root in folder.parents:
            folder = folder.parent
            level, _ = self._sidecar(folder)
        return level if level is not None else self.default

    def _sidecar(self, folder: Path) -> tuple[str | None, dict[str, str]]:
        """(the folder's level, levels by file name) of its access.yaml; (None, {}) without one."""
        if folder not in self._sidecars:
            self._sidecars[folder] = read_sidecar(folder / SIDECAR)
        return self._sidecars[folder]


def read_sidecar(path: Path) -> tuple[str | None, dict[str, str]]:
    if not path.is_file():
        return None, {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid access file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files") or {}, dict) \
            or set(data) - {"access", "files"}:
        raise InputError(f"{path}: expected `access: public|internal` and/or `files: {{name: level}}`")
    level = checked(data["access"], str(path)) if "access" in data else None
    files = {str(name): checked(value, f"{path} ({name})") for name, value in (data.get("files") or {}).items()}
    return level, files
