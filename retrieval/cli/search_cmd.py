"""``trolyao search (QUERY | --queries FILE.jsonl) [-k N] [--index DIR] [--json]``."""
from __future__ import annotations

from pathlib import Path

import click

from retrieval.cli.common import (audience_option, echo_json, index_option, iso_date, json_option, model_option,
                                  read_jsonl_queries, resolve_index_dir, setup_logging, user_errors)


def hit_json(hit) -> dict:
    p = hit.passage
    return {"id": p.id, "score": round(hit.score, 6), "text": p.text, "doc_number": p.doc_number,
            "doc_type": p.doc_type, "issued_date": p.issued_date, "issuer": p.issuer, "signer": p.signer,
            "title": p.title, "heading": p.heading, "source": p.source, "ranks": hit.ranks}


@click.command()
@click.argument("query", required=False)
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, path_type=Path),
              help='JSONL file of {"id", "text"} lines; writes one JSON line per query.')
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--doc", "doc_number", help="Only passages of (or naming) this document number.")
@click.option("--from", "date_from", callback=iso_date, help="Only documents issued on/after this date.")
@click.option("--to", "date_to", callback=iso_date, help="Only documents issued on/before this date.")
@index_option
@model_option
@audience_option
@json_option
@user_errors
def search(query, queries_file, k, doc_number, date_from, date_to, index_dir, model, audience, as_json) -> None:
    """Hybrid search (dense + BM25 + folded BM25) over the index."""
    from retrieval.search.searcher import SearchFilters
    from retrieval.service import Retrieval

    if (query is None) == (queries_file is None):
        raise click.UsageError("give either QUERY or --queries FILE.jsonl")
    if query is not None and not query.strip():
        raise click.UsageError("QUERY is empty")
    if date_from and date_to and date_from > date_to:
        raise click.UsageError("--from is later than --to")
    setup_logging(quiet=True)
    service = Retrieval(resolve_index_dir(index_dir), model, audience=audience)
    filters = SearchFilters(doc_number, date_from, date_to)
    if queries_file is not None:
        records = list(read_jsonl_queries(queries_file))
        results = service.searcher.search_many([r["text"] for r in records], k, filters)
        for record, hits in zip(records, results):
            echo_json({"id": record["id"], "hits": [hit_json(h) for h in hits]})
        return
    hits = service.search(query, k, filters)
    if as_json:
        echo_json({"query": query, "hits": [hit_json(h) for h in hits]})
        return
    if not hits:
        click.echo("No passage matches.")
    for rank, hit in enumerate(hits, start=1):
        p = hit.passage
        where = " · ".join(x for x in (p.doc_type and p.doc_number and f"{p.doc_type} {p.doc_number}",
                                       p.issued_date, p.source) if x)
        click.echo(f"{rank:>2}. [{hit.score:.4f}] {p.id}  {where}")
        click.echo(f"    {p.text[:200]}{'…' if len(p.text) > 200 else ''}")
