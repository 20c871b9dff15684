"""``trolyao ingest PATH... [--index DIR]``: parse inputs and add them to the index."""
from __future__ import annotations

import logging
from pathlib import Path

import click

from retrieval.cli.common import index_option, model_option, resolve_index_dir, setup_logging, user_errors

log = logging.getLogger("trolyao.ingest")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@model_option
@click.option("--access", type=click.Choice(["public", "internal"]),
              help="Who may read these files (officials only: internal), unless an access.yaml beside them "
                   "says otherwise. Not given: new files are public, indexed ones keep their level.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary (errors still go to stderr).")
@user_errors
def ingest(paths: tuple[Path, ...], index_dir: Path | None, model: str | None, access: str | None,
           quiet: bool) -> None:
    """Ingest bulletins and documents (TXT, Markdown, HTML, DOCX, PDF, JSONL passages).

    Files already in the index with the same content are skipped; a file whose content changed
    replaces its old passages. The index is rebuilt aside and swapped in only when complete.
    """
    from retrieval.embedding.embedder import load_embedder
    from retrieval.pipeline import ingest as run_ingest

    setup_logging(quiet)
    root = resolve_index_dir(index_dir)
    embedder = load_embedder(model)            # cheap: the model itself loads on first encode
    report = run_ingest(paths, root, embedder, access=access, progress=not quiet)
    if report.unknown_agencies:   # never dropped silently: the gazetteer (retrieval/tasks/data) should learn them
        log.warning("agency names not in the gazetteer (kept as written): %s", "; ".join(report.unknown_agencies))
    if not quiet:
        for path in report.unchanged:
            log.info("unchanged: %s", path)
        rate = report.passages_embedded / report.embed_seconds if report.embed_seconds else 0.0
        click.echo(
            f"{len(report.added)} file(s) indexed ({len(report.replaced)} replaced), "
            f"{len(report.relabeled)} given a new access level, "
            f"{len(report.unchanged)} unchanged, {len(report.moved)} moved; {report.passages_added} passages added, "
            f"{report.passages_embedded} embedded ({rate:.1f}/s); {report.passages_total} in {root}", err=True)
