"""The archive measurement: the two sample weeks plus every archive page in one index, the
archive gold set asked against it, and the figures reported per split (dev / held-out).

``make bench`` prints it (``python -m retrieval.goldset.archive``); the tests gate on it. Only
the dev part may be read to tune anything; the held-out part is measured, never inspected.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from retrieval.goldset.evaluate import run_gold
from retrieval.goldset.load import load_gold
from retrieval.goldset.metrics import summarize
from retrieval.goldset.model import GoldItem
from retrieval.goldset.split import DEV, HELDOUT, archive_pages, split_of

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "eval" / "archive_gold.yaml"


def corpus_and_archive(shared: Path) -> list[Path]:
    """The files the archive index holds: the sample weeks and every archive page."""
    return sorted((shared / "corpus").glob("*.txt")) + archive_pages(shared / "archive")


def items_by_split(items: list[GoldItem]) -> dict[str, list[GoldItem]]:
    parts: dict[str, list[GoldItem]] = {DEV: [], HELDOUT: []}
    for item in items:
        parts[split_of(item.source)].append(item)
    return parts


def measure(service, items: list[GoldItem]) -> dict[str, Any]:
    """Single-turn items asked in-process, summarised per split and overall."""
    from retrieval.goldset.runners import InProcessRunner

    runner = InProcessRunner(service)
    singles = [item for item in items if not item.multi_turn]
    report: dict[str, Any] = {}
    for part, part_items in items_by_split(singles).items():
        result = run_gold(part_items, runner, gold_name=str(GOLD))
        report[part] = summarize(result.units)
        report[part]["failures"] = [f"{u.unit_id} ({u.kind}): {', '.join(u.reasons)}"
                                    for u in result.units if not u.passed and not u.skipped]
    return report


def _line(name: str, s: dict[str, Any]) -> str:
    return (f"  {name:9s} pass {s['passed']:3d}/{s['judged']:3d} = {s['pass_rate']:.3f}   cite@3 "
            f"{s['citation_hit_at_3']:.3f}   abstain P {s['abstention_precision']:.3f} "
            f"R {s['abstention_recall']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Archive gold set, dev vs held-out (in-process).")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--index", type=Path, help="an index of corpus + archive (built when absent)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--show-dev-failures", action="store_true",
                        help="list the dev part's failures (the held-out part's are never listed)")
    args = parser.parse_args(argv)
    from retrieval.bench import _cache_dir, _ingest
    from retrieval.service import Retrieval

    index = args.index or _cache_dir() / "bench" / "archive-index"
    _ingest(corpus_and_archive(args.shared), index)     # idempotent: unchanged files are not re-read
    report = measure(Retrieval(index), load_gold(GOLD))
    print("Archive gold set (single-turn, in-process)")
    for part in (DEV, HELDOUT):
        print(_line(part, report[part]))
        print("            per kind: " + ", ".join(f"{k} {v['passed']}/{v['judged']}"
                                                     for k, v in report[part]["per_kind"].items()))
    if args.show_dev_failures:
        print("\n".join(report[DEV]["failures"]))
    for part in (DEV, HELDOUT):
        report[part].pop("failures") if part == HELDOUT else None
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
