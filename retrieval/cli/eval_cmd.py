"""``trolyao eval GOLD.yaml [--rest URL] [--json OUT] [--report FILE] [--baseline PREV] [--min RATE]``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from retrieval.cli.common import index_option, model_option, resolve_index_dir, setup_logging, user_errors

ANSWER_CHARS = 300


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _short(text: str, limit: int = ANSWER_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _print_summary(summary: dict, echo) -> None:
    echo(f"Pass rate: {_pct(summary['pass_rate'])} ({summary['passed']}/{summary['judged']} questions"
         + (f", {summary['skipped']} skipped" if summary["skipped"] else "") + ")")
    echo("Per kind:")
    width = max((len(k) for k in summary["per_kind"]), default=4)
    for kind, entry in summary["per_kind"].items():
        skipped = f"  ({entry['skipped']} skipped)" if entry["skipped"] else ""
        echo(f"  {kind:<{width}}  {_pct(entry['pass_rate']):>6}  {entry['passed']}/{entry['judged']}{skipped}")
    echo(f"Citation hit@1: {_pct(summary['citation_hit_at_1'])}   hit@3: {_pct(summary['citation_hit_at_3'])}"
         f"   ({summary['with_expected_docs']} questions with expected_docs)")
    echo(f"Must-contain recall: {_pct(summary['must_contain_recall'])} ({summary['must_contain_strings']} strings)")
    echo(f"Abstention precision: {_pct(summary['abstention_precision'])} ({summary['abstained']} abstained)"
         f"   recall: {_pct(summary['abstention_recall'])} ({summary['should_abstain']} should abstain)")
    if summary["conversations"]:
        echo(f"Conversations fully passed: {summary['conversations_passed']}/{summary['conversations']}")
    p50, p95 = summary["latency_ms_p50"], summary["latency_ms_p95"]
    echo(f"Latency p50: {'n/a' if p50 is None else f'{p50:.0f} ms'}   p95: {'n/a' if p95 is None else f'{p95:.0f} ms'}")


def _print_failures(units, echo) -> None:
    failures = [u for u in units if not u.skipped and not u.passed]
    if not failures:
        return
    echo(f"\nFailures ({len(failures)}):")
    for unit in failures:
        why = ", ".join(unit.reasons)
        if unit.missing:
            why += " (missing: " + "; ".join(unit.missing) + ")"
        echo(f"✗ {unit.unit_id} [{unit.kind}] {why}")
        echo(f"    Q: {unit.question}")
        if unit.detail:
            echo(f"    error: {unit.detail}")
        else:
            echo(f"    A: {'(abstained) ' if unit.abstained else ''}{_short(unit.answer)}")
            cited = ", ".join(c.get("doc_number") or "?" for c in unit.citations) or "none"
            expected = "abstain" if unit.expect_abstain else ", ".join(unit.expected_docs) or "-"
            echo(f"    cited: {cited}   expected: {expected}")


@click.command("eval")
@click.argument("gold", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rest", "rest_url", metavar="URL",
              help="Ask a running assistant over HTTP (Rasa's /webhooks/rest/webhook or the gateway's "
                   "/api/chat) instead of in-process; needed for multi-turn items.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT",
              help="Write the machine-readable result to OUT ('-' for stdout; the text summary then goes to stderr).")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write a self-contained HTML report.")
@click.option("--baseline", "baseline_in", type=click.Path(dir_okay=False, path_type=Path), metavar="PREV",
              help="An earlier --json result: list the questions that regressed and improved.")
@click.option("--min", "min_rate", type=click.FloatRange(0.0, 1.0), metavar="RATE",
              help="Exit 1 when the pass rate is below RATE (0..1).")
@index_option
@model_option
@user_errors
def eval_(gold, rest_url, json_out, report_out, baseline_in, min_rate, index_dir, model) -> None:
    """Evaluate the assistant against a gold set of questions (see README, "Gold set and evaluation").

    In-process runs single-turn items through the retrieval core and skips multi-turn items;
    --rest runs every item through a running assistant, one fresh sender id per item.
    """
    from tqdm import tqdm

    from retrieval.goldset.evaluate import run_gold, unit_count
    from retrieval.goldset.load import load_gold
    from retrieval.goldset.metrics import compare, load_result, summarize
    from retrieval.goldset.runners import InProcessRunner, RestRunner

    if rest_url is not None and not rest_url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http:// or https:// URL", param_hint="--rest")
    setup_logging(quiet=True)
    items = load_gold(gold)
    baseline = load_result(baseline_in) if baseline_in is not None else None   # fail before the long run
    runner = RestRunner(rest_url, api_key=_api_key()) if rest_url else \
        InProcessRunner.from_index(resolve_index_dir(index_dir), model)
    try:
        with tqdm(total=unit_count(items), desc="eval", unit="q", file=sys.stderr, disable=None,
                  leave=False) as bar:
            result = run_gold(items, runner, gold_name=str(gold), progress=bar.update)
    finally:
        if isinstance(runner, RestRunner):
            runner.close()
    summary = summarize(result.units)
    diff = compare(baseline, result.units) if baseline is not None else None
    data = result.to_dict(summary, diff)

    to_stdout = json_out is not None and str(json_out) == "-"
    echo = (lambda line="": click.echo(line, err=True)) if to_stdout else click.echo
    skipped_items = {u.item_id for u in result.units if u.skipped}
    if skipped_items:
        echo(f"Skipped {len(skipped_items)} multi-turn items ({summary['skipped']} questions): "
             "in-process runs single questions only; use --rest URL for conversations.")
    _print_summary(summary, echo)
    if diff is not None:
        echo(f"\nAgainst {baseline_in}: {len(diff['regressed'])} regressed, {len(diff['improved'])} improved")
        for label in ("regressed", "improved", "new", "gone"):
            if diff[label]:
                echo(f"  {label}: {', '.join(diff[label])}")
    _print_failures(result.units, echo)

    if json_out is not None:
        text = json.dumps(data, ensure_ascii=False, indent=1)
        if to_stdout:
            click.echo(text)
        else:
            json_out.write_text(text + "\n", encoding="utf-8")
    if report_out is not None:
        from retrieval.goldset.report import write_report

        write_report(report_out, data, result.units)
    if min_rate is not None and (summary["pass_rate"] or 0.0) < min_rate:
        raise click.ClickException(f"pass rate {_pct(summary['pass_rate'])} is below --min {_pct(min_rate)}")


def _api_key() -> str | None:
    """TROLYAO_API_KEY: the gateway's /api/chat keeps a conversation per sender only for an integration."""
    from retrieval.settings import Settings

    key = Settings.load().api_key
    return key.get_secret_value() if key else None
