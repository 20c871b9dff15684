"""Per-question lookups at a province's size (``make bench``, ``--only-lookups``): the document catalog
and the task registry over an index's passages and tasks copied to 10⁵ passages and 5·10⁴ tasks.

Each copy is its own set of documents (leading digits shifted by 1,000 a copy, in numbers and in
mentions) and its own bulletins (source suffixed), so a lookup runs against as many numbers, naming
items and bulletins as years of directives hold. What is timed is what a question costs once the
catalog and the registry are built (they are built once per audience); the build is reported beside it.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.schema import Passage

PASSAGES = 100_000
TASKS = 50_000
_LEADING_DIGITS = re.compile(r"^\d+")


def shifted(number: str, copy: int) -> str:
    """``number`` as copy ``copy``'s own document: "143/KH-UBND" → "2143/KH-UBND" for copy 2."""
    return _LEADING_DIGITS.sub(lambda m: str(int(m.group()) + 1000 * copy), number) if copy else number


def copy_of(passage: Passage, copy: int) -> Passage:
    """``passage`` as it reads in copy ``copy``: its own id, bulletin (source) and documents."""
    document = passage.document
    if document is not None and document.number:
        document = replace(document, number=shifted(document.number, copy))
    return replace(passage, id=f"{passage.id}#{copy}", source=f"{passage.source}#{copy}",
                   document=document, mentions=[shifted(m, copy) for m in passage.mentions])


def copied(passages: list[Passage], numbers: list[str], count: int) -> tuple[list[Passage], list[str]]:
    """``count`` passages: ``passages`` copied, each copy with its own documents and bulletins."""
    out, known = [], []
    for copy in range(-(-count // len(passages))):
        out += [copy_of(passage, copy) for passage in passages[:count - len(out)]]
        known += [shifted(n, copy) for n in numbers]
    return out, known


def _timed(fn, repeats: int) -> tuple[float, float, object]:
    """The first call's milliseconds (it fills what later questions reuse), the median of the next
    ``repeats``, and the result."""
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return round(times[0] * 1000, 2), round(float(np.median(times[1:])) * 1000, 2), result


def lookups(index: Path, passages: int = PASSAGES, tasks: int = TASKS, repeats: int = 5) -> dict:
    """Milliseconds (median of ``repeats``) of each lookup a question makes, and what it found."""
    from retrieval.answer.documents import DocumentCatalog
    from retrieval.index.hybrid import HybridIndex
    from retrieval.tasks.registry import TaskRegistry

    loaded = HybridIndex.load(index)
    base, numbers = list(loaded.passages), list(loaded.document_numbers)
    owned = [p.doc_number for p in base if p.doc_number]
    named_only = [n for n in numbers if n not in set(owned)] if owned else numbers
    many, known = copied(base, numbers, passages)
    t0 = time.perf_counter()
    catalog = DocumentCatalog(many, known)
    catalog_s = time.perf_counter() - t0
    own, named = owned[0], (named_only or owned)[0]
    digits = _LEADING_DIGITS.match(own).group()
    checks = {
        "resolve_short": lambda: catalog.resolve(f"văn bản số {digits} nói gì?"),
        "resolve_number": lambda: catalog.resolve(f"Văn bản {named} nói gì?"),
        "document_own": lambda: catalog.get(own),
        "document_named_only": lambda: catalog.get(named),
        "naming_citation": lambda: catalog.naming_citation(catalog.get(named)),
        "digests": catalog.digests,
    }
    all_tasks = loaded.store.tasks()
    out: dict = {"passages": len(many), "numbers": len(catalog.known), "catalog_build_s": round(catalog_s, 2),
                 "first_ms": {}, "ms": {}, "found": {}}
    if all_tasks:
        t0 = time.perf_counter()
        registry = TaskRegistry([all_tasks[i % len(all_tasks)] for i in range(tasks)])
        registry_s = time.perf_counter() - t0
        agency = next(t.lead for t in all_tasks if t.lead)
        day = next((t.deadline_date for t in all_tasks if t.deadline_date), "2024-06-01")
        checks.update({
            "tasks_of": lambda: registry.tasks_of(agency, today=day),
            "shared_tasks_of": lambda: registry.shared_tasks_of(agency, today=day),
            "who_leads": lambda: registry.who_leads(all_tasks[0].action),
            "due_soon": lambda: registry.due_soon(day),
        })
        out.update(tasks=tasks, registry_build_s=round(registry_s, 2))
    for name, fn in checks.items():
        first, ms, result = _timed(fn, repeats)
        out["first_ms"][name], out["ms"][name] = first, ms
        out["found"][name] = (len(result) if isinstance(result, list) else int(result is not None))
    return out


def print_lookups(result: dict) -> None:
    print(f"\nPer-question lookups at {result['passages']:,} passages, {result['numbers']:,} document numbers"
          + (f", {result['tasks']:,} tasks" if "tasks" in result else "")
          + f" (catalog built in {result['catalog_build_s']} s"
          + (f", registry in {result['registry_build_s']} s" if "registry_build_s" in result else "") + "):")
    for name, ms in result["ms"].items():
        print(f"  {name:<22}{ms:>9} ms  (first {result['first_ms'][name]} ms)   found {result['found'][name]}")
