"""Options and plumbing shared by the commands: index/model options, errors, JSON lines."""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from retrieval.errors import InputError, TrolyaoError

_SURROGATE = re.compile("[\ud800-\udfff]")

index_option = click.option(
    "--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Index directory (default: $TROLYAO_INDEX or ~/.local/share/trolyao/index).")
model_option = click.option(
    "--model", default=None,
    help="sentence-transformers model id or path (default: $TROLYAO_MODEL or the embedded e5-small).")
json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
audience_option = click.option(
    "--as", "audience", type=click.Choice(["public", "official"]), default="public", show_default=True,
    help="Whose view: a citizen's (public documents only) or an official's (internal documents too).")


def resolve_index_dir(index_dir: Path | None) -> Path:
    from retrieval.index.layout import default_index_dir

    return index_dir if index_dir is not None else default_index_dir()


def user_errors(func: Callable) -> Callable:
    """Turn the core's errors into one-line messages and exit code 1, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TrolyaoError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(message)s")
    # Libraries that log per call (HTTP clients, sentence-transformers' load messages).
    for noisy in ("sentence_transformers", "httpx", "urllib3", "bm25s", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def read_jsonl_queries(path: Path) -> Iterator[dict[str, Any]]:
    """Batch input lines ``{"id", "text"}``; blank lines are skipped, bad lines are errors."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        lines = enumerate(handle, start=1)
        while True:
            try:
                number, line = next(lines)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: not UTF-8 text (byte {exc.start} of a block: {exc.reason})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise InputError(f"{path}:{number}: not valid JSON ({reason})") from None
            if not isinstance(record, dict) or "text" not in record or not isinstance(record["text"], str):
                raise InputError(f'{path}:{number}: expected an object with a "text" string')
            record.setdefault("id", str(number))
            record["text"] = readable(record["text"])
            if isinstance(record["id"], str):
                record["id"] = readable(record["id"])
            yield record


def readable(text: str) -> str:
    """Text the core can read and print back: lone surrogates (what Python makes of invalid UTF-8 in
    an argument, or of a JSON escape like "\\ud800") become U+FFFD instead of failing the output."""
    return _SURROGATE.sub("\ufffd", text)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def iso_date(ctx, param, value: str | None) -> str | None:
    """Click callback: a date typed as YYYY-MM-DD or DD/MM/YYYY, returned as ISO."""
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    raise click.BadParameter("expected YYYY-MM-DD or DD/MM/YYYY")
