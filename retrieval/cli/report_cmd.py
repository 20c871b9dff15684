"""``trolyao report``: an agency's tasks as a Word report in the administrative format."""
from __future__ import annotations

from pathlib import Path

import click

from retrieval.cli.common import audience_option, index_option, iso_date, resolve_index_dir, setup_logging, user_errors


@click.command()
@click.option("--agency", required=True, help="Any spelling or abbreviation, with or without diacritics (Sở Y tế, so y te).")
@click.option("--from", "date_from", callback=iso_date, help="Only documents issued on or after this date.")
@click.option("--to", "date_to", callback=iso_date, help="Only documents issued on or before this date.")
@click.option("--today", callback=iso_date,
              help="Mark tasks overdue / due within 7 days / open as of this day (default: $TROLYAO_TODAY or today).")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your own .docx template using the fields README documents (default: the built-in one).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .docx to write.")
@click.option("--with-shared", is_flag=True,
              help="Also the tasks given to a collective that includes the agency (\"các sở, ban, ngành\").")
@index_option
@audience_option
@user_errors
def report(agency, audience, date_from, date_to, today, template, out, with_shared, index_dir) -> None:
    """Write a Word report of an agency's tasks, grouped by the document that assigns them."""
    from retrieval.report.content import build_report, today_iso
    from retrieval.report.default_template import build_default_template
    from retrieval.report.rendering import read_template, render_report, write_atomically
    from retrieval.settings import Settings
    from retrieval.tasks.store import load_registry

    if out.suffix.lower() != ".docx":
        raise click.BadParameter("the report is a Word file: give a name ending in .docx", param_hint="--out")
    setup_logging(quiet=True)
    day = today or today_iso(Settings.load().today)
    registry = load_registry(resolve_index_dir(index_dir), audience)   # a citizen's report: public tasks only
    content = build_report(registry, agency, today=day, date_from=date_from, date_to=date_to, audience=audience,
                           include_shared=with_shared)
    layout = read_template(template) if template else build_default_template()
    write_atomically(out, render_report(content, layout))
    click.echo(f"{out}: {content.total} tasks of {content.agency} in {len(content.groups)} documents", err=True)
