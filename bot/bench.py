"""``make bench`` (dialogue part): NLU cross-validation and REST round-trip latency of the real stack.

- NLU (`nlu.evaluation`, run in .venv-rasa): seeded stratified 5-fold cross-validation on data/nlu.yml
  (the same folds every run, so runs compare): intent F1 and entity F1 (weighted averages), per-intent
  F1 and the weakest five; and the held-out set eval/nlu_heldout.yml (never trained or tuned on):
  accuracy and weighted F1, overall and on the messages typed without diacritics or with chat
  shorthand. Targets: CV intent F1 ≥ 0.95, entity F1 ≥ 0.90. `--nlu-only` runs just this part.
- Latency of Rasa's REST webhook with the action server behind it, over the set-up index:
  p50/p95 with 1 conversation and with 20 concurrent conversations. Target: p95 ≤ 250 ms at 20.
  Concurrent conversations are people typing: each waits 1–3 s (seeded) between its messages.
  The same 20 conversations with no pause at all are reported too, as the saturation point of
  2 cores (every request queued behind the others), not as the target's measure.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bot.processes import ROOT, DialogueStack
from retrieval.goldset.metrics import percentile

# A realistic mix: answers from the documents, tasks, documents, follow-ups, small talk.
CONVERSATION = [
    "xin chào", "UBND tỉnh chỉ đạo gì về phòng, chống sốt xuất huyết?", "Ai chủ trì?",
    "Còn phối hợp với ai?", "Công văn 704/UBND-KGVX nói gì?", "Văn bản đó do ai ký?",
    "Sở Y tế được giao những việc gì?", "tuần này có chỉ đạo gì mới?", "hạn chót khi nào?", "cảm ơn",
]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples_ms, 50), 1), "p95_ms": round(percentile(samples_ms, 95), 1),
            "n": len(samples_ms)}


def nlu_figures(folds: int, seed: int) -> dict:
    """``nlu.evaluation`` in .venv-rasa (it trains with Rasa): CV (unless folds is 0) and held-out figures."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([str(ROOT / ".venv-rasa/bin/python"), "-m", "nlu.evaluation", "--folds", str(folds),
                        "--seed", str(seed), "--json", str(Path(out) / "nlu.json")],
                       cwd=ROOT, check=True, capture_output=True)
        return json.loads((Path(out) / "nlu.json").read_text(encoding="utf-8"))


def print_nlu(nlu: dict) -> None:
    cv = nlu.get("cross_validation")
    if cv:
        print(f"\nDialogue NLU, seeded {cv['folds']}-fold cross-validation on data/nlu.yml (seed {cv['seed']}; "
              f"targets: intent F1 ≥ 0.95, entity F1 ≥ 0.90; in-sample: the data is tuned on)")
        print(f"  intent F1 {cv['intents']['intent_f1']}   entity F1 {cv['entity_f1']}   "
              f"weakest: {cv['weakest_intents']}")
    held = nlu["heldout"]
    print(f"Held-out messages ({held['path']}, never trained or tuned on)")
    parts = (("overall", "all"), ("chat_typed", "no diacritics / shorthand"), ("accented", "with diacritics"))
    for part, label in parts:
        figures = held[part]
        print(f"  {label:<26} n={figures['n']:<4} accuracy {figures['accuracy']}   intent F1 {figures['intent_f1']}")


def conversation(url: str, turns: int, think: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> list[float]:
    sender, took = f"bench-{uuid.uuid4().hex[:8]}", []
    pause = random.Random(seed)
    with httpx.Client(timeout=60) as http:
        for i in range(turns):
            if i and think[1]:
                time.sleep(pause.uniform(*think))   # the user reading and typing
            start = time.perf_counter()
            http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": CONVERSATION[i % len(CONVERSATION)]}
                      ).raise_for_status()
            took.append((time.perf_counter() - start) * 1000)
    return took


def latency(url: str, concurrent: int, turns: int, think: tuple[float, float] = (0.0, 0.0)) -> dict:
    conversation(url, 3)   # warm-up: first requests load lazily held structures
    with ThreadPoolExecutor(concurrent) as pool:
        runs = list(pool.map(lambda i: conversation(url, turns, think, seed=i), range(concurrent)))
    return percentiles([t for run in runs for t in run])


def write(out: Path, results: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: skip it)")
    parser.add_argument("--seed", type=int, default=19, help="the cross-validation folds' seed")
    parser.add_argument("--nlu-only", action="store_true", help="only the NLU figures (no REST latency)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/dialogue.json"))
    args = parser.parse_args()
    results = {"nlu": nlu_figures(args.folds, args.seed)}
    if args.nlu_only:   # keeps the latency figures of the last full run
        previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        write(args.out, {**previous, **results})
        print_nlu(results["nlu"])
        print(f"(written to {args.out})")
        return
    with DialogueStack() as stack:
        results["rest_latency"] = {"1 conversation": latency(stack.rasa_url, 1, 30),
                                   "20 concurrent": latency(stack.rasa_url, 20, 10, think=(1.0, 3.0)),
                                   "20 no pause": latency(stack.rasa_url, 20, 10)}
    write(args.out, results)
    print_nlu(results["nlu"])
    print("REST round trip through Rasa + action server (target: p95 ≤ 250 ms at 20 concurrent)")
    for name, figures in results["rest_latency"].items():
        print(f"  {name:<16} p50 {figures['p50_ms']} ms   p95 {figures['p95_ms']} ms   ({figures['n']} requests)")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
