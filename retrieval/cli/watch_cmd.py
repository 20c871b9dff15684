"""``trolyao watch SOURCE... [--every 6h] [--once]``: new bulletins from folders and portal listings,
captured and ingested as they appear."""
from __future__ import annotations

import functools
import logging
import signal
import threading
from pathlib import Path

import click

from retrieval.cli.common import index_option, model_option, resolve_index_dir, setup_logging, user_errors
from retrieval.watch.sources import DEFAULT_LINKS

log = logging.getLogger("trolyao.watch")

EXIT_SOME_FAILED = 3   # --once: the cycle ran, but a source or page failed (reported; retried next time)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--every", default=None,
              help="Time between two cycles, e.g. 6h, 30m, 1d (default: $TROLYAO_WATCH_EVERY, 6h).")
@click.option("--once", is_flag=True,
              help=f"One cycle, then exit: 0 when every source was read, {EXIT_SOME_FAILED} when something "
                   "failed (the rest is ingested), 1 on an error that stopped it.")
@index_option
@model_option
@click.option("--access", type=click.Choice(["public", "internal"]),
              help="Who may read what is ingested (as `trolyao ingest --access`).")
@click.option("--links", default=DEFAULT_LINKS, show_default=True,
              help="Regular expression over a listing's link paths: which links are pages to capture.")
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Seconds between two requests to one site (a robots.txt Crawl-delay wins when longer).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to wait for a response.")
@click.option("--quiet", "-q", is_flag=True, help="Only failures (to stderr).")
@click.pass_context
@user_errors
def watch(ctx: click.Context, sources: tuple[str, ...], every: str | None, once: bool, index_dir: Path | None,
          model: str | None, access: str | None, links: str, delay: float, timeout: float, quiet: bool) -> None:
    """Watch folders (new or changed files) and portal listing URLs (their bulletin links), saving each
    new page as captured under the data directory and ingesting it like `trolyao ingest`.

    A page or file seen before is not fetched or ingested again; one that fails is reported, the
    index keeps serving, and it is retried on the next cycle. The running assistant picks each new
    generation up by itself.
    """
    from retrieval.settings import Settings
    from retrieval.pipeline import ingest as run_ingest
    from retrieval.watch.fetcher import Politeness, PoliteClient
    from retrieval.watch.ledger import Ledger
    from retrieval.watch.sources import parse_every, parse_source
    from retrieval.watch.watcher import Watcher

    setup_logging(quiet)
    settings = Settings.load()
    watched = [parse_source(text, links) for text in sources]   # InputError before anything is fetched
    every_s = parse_every(every or settings.watch_every)
    injected = ctx.obj or {}   # tests hand in a hashing embedder and short pauses
    if "embedder" in injected:
        embedder = injected["embedder"]
    else:
        from retrieval.embedding.embedder import load_embedder

        embedder = load_embedder(model)    # the model itself loads on the first page to embed
    root = resolve_index_dir(index_dir)
    captured = settings.data_dir / "captured"
    politeness = injected.get("politeness") or Politeness(delay_s=delay, timeout_s=timeout)
    ingest = functools.partial(run_ingest, index_dir=root, embedder=embedder, access=access)
    ledger = Ledger(captured / "ledger.sqlite3", str(root.resolve()))
    with PoliteClient(politeness) as client:
        watcher = Watcher(watched, ledger, client, ingest, captured)
        try:
            if once:
                report = watcher.cycle()
                for line in report.lines() if not quiet else report.lines()[:-1]:
                    click.echo(line, err=True)
                ctx.exit(0 if report.ok else EXIT_SOME_FAILED)
            stop = threading.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
            log.info("watching %s every %s into %s", ", ".join(map(str, watched)), _duration(every_s), root)
            watcher.run(every_s, stop)
            log.info("stopped")
        finally:
            ledger.close()


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"

