"""``trolyao feedback export [--since DATE] [--out FILE]``: 👎 and abstained conversations → candidate gold items."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from retrieval.cli.common import iso_date, user_errors


@click.group()
def feedback() -> None:
    """The feedback users gave on answers (👍/👎), kept by the assistant."""


@feedback.command("export")
@click.option("--since", callback=iso_date, help="Only feedback on or after this date (YYYY-MM-DD or DD/MM/YYYY).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the candidates to this YAML file (default: stdout).")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path),
              help="Feedback database (default: $TROLYAO_FEEDBACK or ~/.local/share/trolyao/feedback.sqlite3).")
@user_errors
def export(since, out, db) -> None:
    """Write 👎 answers and abstained questions as candidate gold items, for a person to review."""
    from retrieval.errors import InputError
    from retrieval.feedback import FeedbackStore, default_feedback_path
    from retrieval.goldset.candidates import EXPORTED_RATINGS, candidate_items, render_candidates

    path = db or default_feedback_path()
    if not path.exists():
        raise InputError(f"no feedback database at {path}")
    records = FeedbackStore(path).records(since=since, ratings=EXPORTED_RATINGS)
    items = candidate_items(records)
    text = render_candidates(items, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(items)} candidate items from {len(records)} records written to {out}", err=True)
