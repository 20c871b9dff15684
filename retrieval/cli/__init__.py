"""The ``trolyao`` command: one click group, one module per command."""
from __future__ import annotations

import click

from retrieval.cli.ask_cmd import ask
from retrieval.cli.eval_cmd import eval_
from retrieval.cli.feedback_cmd import feedback
from retrieval.cli.ingest_cmd import ingest
from retrieval.cli.report_cmd import report
from retrieval.cli.search_cmd import search
from retrieval.cli.tasks_cmd import tasks
from retrieval.cli.watch_cmd import watch


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trolyao")
def cli() -> None:
    """Trợ lý ảo: ingest, search and ask the directives of UBND tỉnh Lạng Sơn, with citations."""


cli.add_command(ingest)
cli.add_command(search)
cli.add_command(ask)
cli.add_command(tasks)
cli.add_command(report)
cli.add_command(eval_)
cli.add_command(feedback)
cli.add_command(watch)


def main() -> None:
    cli(prog_name="trolyao")
