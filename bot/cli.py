"""The `trolyao` command as installed: the retrieval commands plus the ones of the channel stage.

Composition only: each stage keeps its own commands (retrieval/cli, bot/terminal, bot/privacy_cmd, bot/officials_cmd).
"""
from __future__ import annotations

from bot.officials_cmd import officials
from bot.privacy_cmd import privacy
from bot.terminal import chat
from retrieval.cli import cli

cli.add_command(chat)
cli.add_command(privacy)
cli.add_command(officials)


def main() -> None:
    cli(prog_name="trolyao")
