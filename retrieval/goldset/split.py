"""The fixed dev / held-out split of the archive of real pages (../shared/archive).

Written down before any page was labelled, so nobody tunes on the held-out part: a page is
held out when the first 8 hex digits of the SHA-256 of its *file name*, read as an integer,
modulo 100 fall below ``HELDOUT_PERCENT``. The file name alone (not its folder or content)
decides, so the split survives moving the archive and never depends on what a page says.
The two sample bulletins of ../shared/corpus are always dev: the system was built on them.

With 40 %, 10 of the 27 archive pages (37 %) are held out.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

Split = Literal["dev", "heldout"]
HELDOUT_PERCENT = 40
DEV: Split = "dev"
HELDOUT: Split = "heldout"


def split_of(path: str | Path) -> Split:
    """"dev" or "heldout" for a page, by the rule above; sample-corpus pages are always "dev"."""
    path = Path(path)
    if "corpus" in path.parts:
        return DEV
    digest = hashlib.sha256(path.name.encode("utf-8")).hexdigest()
    return HELDOUT if int(digest[:8], 16) % 100 < HELDOUT_PERCENT else DEV


def archive_pages(archive: Path) -> list[Path]:
    """Every captured page of the archive (its .txt files, SOURCES.md and README left out), sorted."""
    return sorted(p for p in archive.rglob("*.txt") if p.is_file())
