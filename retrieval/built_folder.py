"""Folders that set-up builds into a cache (the e5 model, its ONNX export, the Whisper model): written
whole or not at all, so a reader never sees half a folder and a failed build leaves the old one."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def building(out_dir: Path) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` to write into; when the block ends without error it
    replaces ``out_dir`` (renamed into place whole), otherwise it is removed and ``out_dir`` is
    left as it was."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        yield tmp
        relax_permissions(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def relax_permissions(folder: Path) -> None:
    # mkdtemp makes the folder 0700 (and some writers 0600 files): give the finished folder the modes
    # a plain mkdir/open would, so a shared cache stays readable.
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
