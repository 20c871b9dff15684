"""The `trolyao` command as installed: the retrieval commands plus the ones of the channel stage.

Composition only: each stage keeps its own commands (retrieval/cli, bot/terminal).
"""
from __future__ import annotations

from bot.terminal import chat
from retrieval.cli import cli

cli.add_command(chat)


def main() -> None:
    cli(prog_name="trolyao")
