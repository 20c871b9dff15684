"""``trolyao tasks``: who must do what, with whom, by when, under which document."""
from __future__ import annotations

import csv
import io
import sys

import click

from retrieval.cli.common import audience_option, echo_json, index_option, iso_date, resolve_index_dir, setup_logging, user_errors

ROLE_VI = {"lead": "chủ trì", "partner": "phối hợp", "assignee": "được giao"}
STATUS_VI = {"overdue": "quá hạn", "due_soon": "sắp đến hạn", "open": "còn hạn", "no_deadline": "không nêu hạn"}
CSV_FIELDS = ["doc_number", "doc_type", "issued_date", "issuer", "action", "lead", "partners", "assignees",
              "deadline", "deadline_date", "successor", "role", "status", "quote", "bulletin"]


@click.command()
@click.option("--agency", help="Any spelling or abbreviation, with or without diacritics (Sở TT&TT, so y te).")
@click.option("--doc", "doc", help="Document number (143/KH-UBND, 924 /QĐ-UBND, or just 143).")
@click.option("--due-before", callback=iso_date, help="Deadline on or before this date.")
@click.option("--due-after", callback=iso_date, help="Deadline on or after this date.")
@click.option("--query", help="Words of the task (e.g. 'sốt xuất huyết').")
@click.option("--today", callback=iso_date, help="Mark tasks overdue / due within 7 days / open as of this day.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per task line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for a spreadsheet (UTF-8 with BOM).")
@index_option
@audience_option
@user_errors
def tasks(agency, doc, due_before, due_after, query, today, as_json, as_csv, index_dir, audience) -> None:
    """List the tasks the directives assign, with their lead, partners, deadline and source."""
    from retrieval.tasks.store import load_registry

    if as_json and as_csv:
        raise click.UsageError("choose --json or --csv, not both")
    setup_logging(quiet=True)
    registry = load_registry(resolve_index_dir(index_dir), audience)
    matches = registry.find(agency=agency, doc=doc, due_before=due_before, due_after=due_after,
                            query=query, today=today)
    if as_json:
        for match in matches:
            echo_json(match.to_dict())
    elif as_csv:
        _write_csv(matches)
    else:
        _print_table(matches, show_role=agency is not None)


def _write_csv(matches) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for match in matches:
        row = match.to_dict()
        row["partners"] = "; ".join(row["partners"])
        row["assignees"] = "; ".join(row["assignees"])
        writer.writerow(row)
    # The BOM lets Excel recognise UTF-8, so Vietnamese shows correctly when the file is opened.
    sys.stdout.buffer.write(("\ufeff" + buffer.getvalue()).encode("utf-8"))


def _print_table(matches, show_role: bool) -> None:
    if not matches:
        click.echo("Không có nhiệm vụ nào khớp.")
        return
    for n, m in enumerate(matches, start=1):
        t = m.task
        head = f"{n}. {t.doc_type or 'Văn bản'} {t.doc_number or '(không số)'}"
        if t.issued_date:
            head += f" ({t.issued_date})"
        if show_role and m.role:
            head += f" — vai trò: {ROLE_VI[m.role]}" + (" (cơ quan kế nhiệm)" if m.via_successor else "")
        if m.status:
            head += f" — {STATUS_VI[m.status]}"
        click.echo(head)
        lead = t.lead or "—"
        if t.successor:
            lead += f" (nay: {t.successor})"
        click.echo(f"   Chủ trì: {lead}")
        if t.partners:
            click.echo(f"   Phối hợp: {', '.join(t.partners)}")
        if t.assignees:
            click.echo(f"   Cùng thực hiện: {', '.join(t.assignees)}")
        click.echo(f"   Việc: {t.action}")
        if t.deadline:
            click.echo(f"   Thời hạn: {t.deadline}" + (f" ({t.deadline_date})" if t.deadline_date else ""))
