"""``trolyao officials invite|list|revoke``: who reads internal documents, besides TROLYAO_OFFICIALS.

`invite` prints a single-use link that signs a web browser in as the named official
(bot/invitations.py, under the gateway's secret key, so the gateway accepts it); `list` shows the
configured ids and the sign-ins (retrieval/officials.py); `revoke` ends a sign-in from the user's
next message.
"""
from __future__ import annotations

import click

from retrieval.cli.common import user_errors


@click.group()
@click.pass_context
@user_errors
def officials(ctx: click.Context) -> None:
    """Officials, who also read internal documents: invitation links for the web chat, list, revoke."""
    from retrieval.settings import Settings

    ctx.ensure_object(dict)
    ctx.obj.setdefault("settings", Settings.load())


@officials.command()
@click.option("--name", required=True, help="The official the link is for (shown in `list` and in the chat).")
@click.option("--expires", default="7d", show_default=True,
              help="How long the link may be opened: 30m, 12h, 7d … (at most 30d).")
@click.pass_context
@user_errors
def invite(ctx: click.Context, name: str, expires: str) -> None:
    """Print a single-use sign-in link for the web chat."""
    from bot.invitations import Invitations, lifetime
    from bot.secret_key import secret_key

    settings = ctx.obj["settings"]
    invitation, link = Invitations(secret_key(settings), settings.base_url).issue(name, lifetime(expires))
    click.echo(link)
    click.echo(f"for {invitation.name}; single use; expires {invitation.expires_at:%Y-%m-%d %H:%M} UTC "
               f"(invitation {invitation.invite})", err=True)


@officials.command("list")
@click.pass_context
@user_errors
def list_(ctx: click.Context) -> None:
    """Every official: the ids TROLYAO_OFFICIALS names, then the web sign-ins with their names."""
    from actions.officials import Officials
    from retrieval.officials import SignIns

    settings = ctx.obj["settings"]
    configured = sorted(Officials(settings.officials).configured())
    signins = SignIns(settings.officials_path).all()
    for sender in configured:
        click.echo(f"{sender}\tTROLYAO_OFFICIALS")
    for signin in signins:
        click.echo(f"{signin.sender}\t{signin.name}\tsigned in {signin.signed_in_at} (invitation {signin.invite})")
    if not configured and not signins:
        click.echo("no officials: set TROLYAO_OFFICIALS or send `trolyao officials invite` links", err=True)


@officials.command()
@click.argument("sender")
@click.pass_context
@user_errors
def revoke(ctx: click.Context, sender: str) -> None:
    """End SENDER's sign-in (web:…): a citizen again from their next message."""
    from actions.officials import Officials
    from retrieval.officials import SignIns
    from retrieval.privacy import sender_id

    settings = ctx.obj["settings"]
    sender = sender_id(sender)
    if SignIns(settings.officials_path).revoke(sender):
        click.echo(f"{sender}: signed out; a citizen from the next message")
        return
    if sender in Officials(settings.officials).configured():
        raise click.ClickException(f"{sender} is listed in TROLYAO_OFFICIALS: remove it there")
    raise click.ClickException(f"{sender} is not an official (see `trolyao officials list`)")
