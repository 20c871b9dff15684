"""What a serving process pays for an index's passages at a province's and a nation's size (``make
bench``, ``--only-lookups``; ``--passages N`` for other sizes).

A store of the sample index's passages copied to N rows (``bench_lookups.copy_of``: each copy its own
documents and bulletins; one copy in ten internal, so the public audience masks rows) is loaded in a
fresh process two ways, each with what a server builds for the public audience at start (its visible
rows, each row's source and date, its document catalog):
- ``held``: every passage an object in a list (how the index loaded them before ``PassageRows``);
- ``rows``: read from the store by row (``HybridIndex.passages`` today).
Reported: seconds, the process's RSS growth, a passage read's microseconds (what a hit costs) and a
document's description with its citation (``DocumentCatalog.get``, its own and naming items read).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from retrieval.schema import INTERNAL, PUBLIC

PASSAGES = 100_000
INTERNAL_EVERY = 10   # one copy in ten is an internal input
READS = 2_000         # random rows read after loading
ROOT = Path(__file__).resolve().parent.parent


def write_store(index: Path, out: Path, count: int) -> int:
    """A passage store at ``out`` with ``index``'s passages copied to ``count`` rows (tokens too: they
    make the rows as long as real ones). Returns the rows written."""
    from retrieval.bench_lookups import copy_of
    from retrieval.index.hybrid import HybridIndex
    from retrieval.index.store import InputRecord, PassageStore

    loaded = HybridIndex.load(index)
    base = list(loaded.passages)
    tokens = {field: list(loaded.store.tokens(field)) for field in ("vi", "fold")}
    store = PassageStore(out, writable=True)
    written = 0
    for copy in range(-(-count // len(base))):
        chunk = [copy_of(p, copy) for p in base[:count - written]]
        sha = f"copy-{copy:07d}"
        store.add_input(InputRecord(sha, f"{sha}.html", "bulletin", "", len(chunk), "2026-01-01T00:00:00",
                                    access=INTERNAL if copy % INTERNAL_EVERY == INTERNAL_EVERY - 1 else PUBLIC))
        store.add_passages(sha, chunk, tokens["vi"][:len(chunk)], tokens["fold"][:len(chunk)])
        written += len(chunk)
    store.commit()
    store.close()
    return written


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(store_path: Path, mode: str, reads: int = READS) -> dict:
    """Load ``store_path``'s passages the ``mode`` way (``held`` or ``rows``) with the public audience's
    start-up builds; then read ``reads`` random passages. Run it in a fresh process (RSS)."""
    from retrieval.answer.documents import DocumentCatalog
    from retrieval.index.store import PassageStore

    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    store = PassageStore(store_path)
    numbers = store.document_numbers()
    if mode == "held":
        passages = store.passages()
        visible = np.array([p.access == PUBLIC for p in passages], dtype=bool)
        filters = (np.array([p.source for p in passages], dtype=object),
                   np.array([p.issued_date or p.bulletin_date or "" for p in passages], dtype=str))
        catalog = DocumentCatalog([p for p, seen in zip(passages, visible) if seen], numbers)
    elif mode == "rows":
        from retrieval.index.rows import PassageRows

        passages = PassageRows(store, store.count())
        visible = passages.access.equal(PUBLIC)
        filters = (passages.sources, passages.dates)
        catalog = DocumentCatalog(passages, numbers, visible, outlines=passages.outlines())
    else:
        raise ValueError(f"unknown mode {mode!r} (held, rows)")
    digests = catalog.digests()
    seconds = time.perf_counter() - started
    gc.collect()
    grown = _rss_mb() - before
    picks = random.Random(0).sample(range(len(passages)), min(reads, len(passages)))
    times = []
    for row in picks:
        t0 = time.perf_counter()
        _ = passages[row].text
        times.append(time.perf_counter() - t0)
    # A question about a document: its description and citation (own items and naming items read).
    looked = []
    for number in random.Random(1).sample(numbers, min(reads // 10, len(numbers))):
        t0 = time.perf_counter()
        info = catalog.get(number)
        if info is not None:
            catalog.naming_citation(info)
        looked.append(time.perf_counter() - t0)
    assert len(filters) == 2   # kept alive until RSS is read
    return {"mode": mode, "passages": len(passages), "visible": int(visible.sum()), "digests": len(digests),
            "load_s": round(seconds, 2), "rss_mb": round(grown, 1),
            "read_us_p50": round(float(np.median(times)) * 1e6, 1),
            "read_us_p95": round(float(np.percentile(times, 95)) * 1e6, 1),
            "document_ms_p50": round(float(np.median(looked)) * 1e3, 2),
            "document_ms_p95": round(float(np.percentile(looked, 95)) * 1e3, 2)}


def passages_cost(index: Path, scratch: Path, count: int = PASSAGES) -> dict:
    """Both ways of loading a store of ``count`` copied passages, each in its own fresh process."""
    from retrieval.index.layout import current_generation

    # Named by what it copies (a generation never changes) and written under another name first:
    # a store left by an interrupted run or copied from another index is never taken for this one.
    store = scratch / f"store-{current_generation(index).name}-{count}.sqlite"
    if not store.exists():
        partial = store.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        write_store(index, partial, count)
        partial.rename(store)
    out = {}
    for mode in ("held", "rows"):
        run = subprocess.run([sys.executable, "-m", "retrieval.bench_passages", "--measure", mode, str(store)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        out[mode] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def print_passages_cost(result: dict) -> None:
    held, rows = result["held"], result["rows"]
    print(f"\nPassages a server holds at {held['passages']:,} passages ({held['visible']:,} public, "
          f"{held['digests']:,} bulletins), public audience's start-up builds included:")
    for r in (held, rows):
        print(f"  {r['mode']:<6} load {r['load_s']:>6} s   RSS +{r['rss_mb']:>7} MB   "
              f"a passage read p50/p95 {r['read_us_p50']}/{r['read_us_p95']} µs   "
              f"a document's description p50/p95 {r['document_ms_p50']}/{r['document_ms_p95']} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="What holding an index's passages costs a process")
    parser.add_argument("--measure", choices=("held", "rows"), help="(child process) load one way, print JSON")
    parser.add_argument("store", type=Path, nargs="?", help="with --measure: the store to load")
    parser.add_argument("--index", type=Path, help="the index whose passages are copied")
    parser.add_argument("--passages", type=int, default=PASSAGES)
    parser.add_argument("--scratch", type=Path, default=Path("bench-results/passages"))
    args = parser.parse_args(argv)
    if args.measure:
        if args.store is None or not args.store.is_file():
            parser.error("--measure needs an existing store file")
        print(json.dumps(measure(args.store, args.measure)))
        return 0
    if args.index is None:
        parser.error("--index is required (an index directory, e.g. one `python -m retrieval ingest` built)")
    args.scratch.mkdir(parents=True, exist_ok=True)
    print_passages_cost(passages_cost(args.index, args.scratch, args.passages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
