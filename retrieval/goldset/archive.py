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
    """Single-turn items asked in-process, summarised per split (with each split's failures)."""
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


TASK_SETS = {   # labelled task sentences → the folder their files are read from (None: ../shared/archive)
    "archive": (REPO / "tests" / "data" / "archive_tasks_gold.yaml", None),
    "documents": (REPO / "tests" / "data" / "documents_tasks_gold.yaml", REPO / "tests" / "data" / "documents"),
}


def task_figures(shared: Path) -> dict[str, dict[str, Any]]:
    """Task-extraction accuracy of each labelled set, per split ("archive/dev", "documents/heldout" …).

    Tasks are extracted from the parsed files directly (no index, no model): the same parser and
    extractor the ingest runs."""
    from retrieval.ingest import load_path
    from retrieval.tasks.accuracy import load_gold as load_task_gold, task_accuracy
    from retrieval.tasks.extract import extract_tasks

    figures: dict[str, dict[str, Any]] = {}
    pooled: dict[str, tuple[list, list]] = {DEV: ([], []), HELDOUT: ([], [])}
    for name, (gold_path, folder) in TASK_SETS.items():
        gold = load_task_gold(gold_path)
        files = archive_pages(shared / "archive") if folder is None else sorted(folder.glob("*.txt"))
        for part in (DEV, HELDOUT):
            part_files = [f for f in files if split_of(f) == part]
            extracted = [t for f in part_files for t in extract_tasks(load_path(f))]
            part_gold = [g for g in gold if split_of(g["bulletin"]) == part]
            figures[f"{name}/{part}"] = task_accuracy(extracted, part_gold)
            pooled[part][0].extend(extracted)
            pooled[part][1].extend(part_gold)
    for part, (extracted, gold) in pooled.items():
        figures[f"both/{part}"] = task_accuracy(extracted, gold)
    return figures


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
    from retrieval.bench import ingest
    from retrieval.settings import Settings
    from retrieval.service import Retrieval

    index = args.index or Settings.load().cache_dir / "bench" / "archive-index"
    ingest(corpus_and_archive(args.shared), index)     # idempotent: unchanged files are not re-read
    report = measure(Retrieval(index), load_gold(GOLD))
    print("Archive gold set (single-turn, in-process)")
    for part in (DEV, HELDOUT):
        print(_line(part, report[part]))
        print("            per kind: " + ", ".join(f"{k} {v['passed']}/{v['judged']}"
                                                     for k, v in report[part]["per_kind"].items()))
    if args.show_dev_failures:
        print("\n".join(report[DEV]["failures"]))
    tasks = task_figures(args.shared)
    report["tasks"] = tasks
    print("Task extraction (labelled sentences; lead P/R, partners P/R, deadline exact)")
    for name, f in tasks.items():
        print(f"  {name:18s} n={f['gold_sentences']:3d}  lead {f['lead_precision']:.3f}/{f['lead_recall']:.3f}  "
              f"partners {f['partners_precision']:.3f}/{f['partners_recall']:.3f}  deadline {f['deadline_exact']:.3f}")
    report[HELDOUT].pop("failures")    # never written out: the held-out part is only measured
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
