"""``trolyao ingest PATH... [--index DIR]``: parse inputs and add them to the index."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import click

from retrieval.cli.common import index_option, model_option, resolve_index_dir, setup_logging, user_errors

log = logging.getLogger("trolyao.ingest")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@model_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary (errors still go to stderr).")
@user_errors
def ingest(paths: tuple[Path, ...], index_dir: Path | None, model: str | None, quiet: bool) -> None:
    """Ingest bulletins and documents (TXT, Markdown, HTML, DOCX, PDF, JSONL passages).

    Files already in the index with the same content are skipped; a file whose content changed
    replaces its old passages. The index is rebuilt aside and swapped in only when complete.
    """
    from retrieval.embedding.embedder import load_embedder
    from retrieval.index.layout import writer_lock
    from retrieval.index.writer import IndexInput, IndexWriter
    from retrieval.ingest import expand_paths, load_path, parser_fingerprint
    from retrieval.ingest.chunking import chunk_document
    from retrieval.tasks.extract import extract_tasks

    setup_logging(quiet)
    root = resolve_index_dir(index_dir)
    files = expand_paths(list(paths))          # raises InputError for missing/unsupported paths
    embedder = load_embedder(model)            # cheap: the model itself loads on first encode
    with writer_lock(root):
        writer = IndexWriter(root, lambda: embedder, embedder.name, progress=not quiet)
        for path in files:
            sha = file_sha256(path)
            if writer.already_indexed(sha, parser_fingerprint(), str(path.resolve())):
                continue
            parsed = load_path(path)
            if isinstance(parsed, list):   # JSONL passages carry no document structure to read tasks from
                kind, title, passages, tasks = "jsonl", path.name, parsed, []
            else:
                passages = chunk_document(parsed)
                kind, title, tasks = parsed.kind, parsed.title, extract_tasks(parsed, passages)
            writer.add(IndexInput(str(path.resolve()), sha, kind, title, passages, parser_fingerprint(), tasks))
        report = writer.commit()
    unknown = sorted({name for item in writer.added_inputs for t in item.tasks for name in t.unknown_agencies})
    if unknown:   # never dropped silently: the gazetteer (retrieval/tasks/data) should learn them
        log.warning("agency names not in the gazetteer (kept as written): %s", "; ".join(unknown))
    if not quiet:
        for path in report.unchanged:
            log.info("unchanged: %s", path)
        rate = report.passages_embedded / report.embed_seconds if report.embed_seconds else 0.0
        click.echo(
            f"{len(report.added)} file(s) indexed ({len(report.replaced)} replaced), "
            f"{len(report.unchanged)} unchanged, {len(report.moved)} moved; {report.passages_added} passages added, "
            f"{report.passages_embedded} embedded ({rate:.1f}/s); {report.passages_total} in {root}", err=True)
