"""docs/architecture.md is the truth about the structure: every module of the four packages is named
there, and nothing it names as a module is missing."""
from __future__ import annotations

import re

from conftest import REPO

PACKAGES = ("retrieval", "actions", "bot", "nlu")
DOC = REPO / "docs" / "architecture.md"


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name not in ("__init__.py", "__main__.py"):
                found.append(str(path.relative_to(REPO)))
    return found


def test_every_module_is_listed():
    text = DOC.read_text(encoding="utf-8")
    assert [m for m in modules() if not re.search(rf"(?<![\w.]){re.escape(m.rsplit('/', 1)[1])}\b", text)] == []


def test_every_listed_module_exists():
    text = DOC.read_text(encoding="utf-8")
    names = {m.rsplit("/", 1)[1] for m in modules()} | {p.name for p in (REPO / "tests").glob("*.py")}
    listed = set(re.findall(r"(?<![\w./-])([a-z_]+\.py)\b", text))
    assert sorted(listed - names) == []
