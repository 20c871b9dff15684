"""``trolyao privacy list|export|forget|purge``: the users' data held by this deployment.

The stores are the ones the settings point to (bot/privacy.py): the data directory's SQLite files,
or with TROLYAO_SCALED=1 / ``--scaled`` PostgreSQL and Redis. Counts and listings go to stdout,
the export as JSON.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Callable

import click

from retrieval.cli.common import user_errors

def _stores(ctx: click.Context):
    """The stores the settings (or --scaled / --embedded) point to."""
    from bot.privacy import privacy_stores

    return privacy_stores(ctx.obj["settings"], ctx.obj["scaled"])


def store_errors(func: Callable) -> Callable:
    """A store that is down or unreadable: a one-line message naming it, exit code 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bot.conversations import ConversationsUnavailable
        from bot.state import StateUnavailable
        from retrieval.follow.store import FollowsUnavailable

        try:
            return func(*args, **kwargs)
        except (ConversationsUnavailable, StateUnavailable, FollowsUnavailable) as exc:
            raise click.ClickException(f"a store cannot be reached: {exc}") from exc

    return user_errors(wrapper)


@click.group()
@click.option("--scaled/--embedded", default=None,
              help="The scale-out mode's stores (PostgreSQL, Redis) or the data directory's SQLite files "
                   "(default: TROLYAO_SCALED).")
@click.pass_context
@user_errors
def privacy(ctx: click.Context, scaled: bool | None) -> None:
    """Users' data (conversations, feedback, rate-limit hits): list, export, forget, purge."""
    from retrieval.settings import Settings

    ctx.ensure_object(dict)
    ctx.obj.setdefault("settings", Settings.load())
    ctx.obj.setdefault("now", lambda: dt.datetime.now(dt.timezone.utc))
    ctx.obj["scaled"] = scaled


@privacy.command("list")
@click.pass_context
@store_errors
def list_(ctx: click.Context) -> None:
    """The sender ids held (channel:id), newest activity first, and the stores holding them."""
    for activity, stores in _stores(ctx).senders():
        click.echo(f"{activity.sender}\t{activity.last_seen.isoformat(timespec='seconds')}\t{', '.join(stores)}")


@privacy.command("export")
@click.option("--sender", required=True, help="CHANNEL:ID, e.g. tg:123456789, zalo:8412345, web:abc.")
@click.pass_context
@store_errors
def export(ctx: click.Context, sender: str) -> None:
    """Print everything held about one user, as JSON (nothing is deleted)."""
    click.echo(json.dumps(_stores(ctx).export(sender), ensure_ascii=False, indent=2))


@privacy.command("forget")
@click.option("--sender", required=True, help="CHANNEL:ID, e.g. tg:123456789, zalo:8412345, web:abc.")
@click.pass_context
@store_errors
def forget(ctx: click.Context, sender: str) -> None:
    """Delete everything held about one user; print what each store removed."""
    for removed in _stores(ctx).forget(sender):
        click.echo(str(removed))


@privacy.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep this many days (default: TROLYAO_RETENTION_DAYS).")
@click.pass_context
@store_errors
def purge(ctx: click.Context, days: int | None) -> None:
    """Delete conversations, feedback and hits older than the retention, now."""
    from retrieval.privacy import retention_cutoff

    days = days or ctx.obj["settings"].retention_days
    cutoff = retention_cutoff(ctx.obj["now"](), days)
    click.echo(f"older than {cutoff.isoformat(timespec='seconds')} ({days} days):", err=True)
    for removed in _stores(ctx).purge(cutoff):
        click.echo(str(removed))
