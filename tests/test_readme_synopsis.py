"""README's synopsis of `trolyao` lists every option of every command (the CLI is the source)."""
from __future__ import annotations

import re

import click
from conftest import REPO

from bot.cli import cli


def commands(group: click.Group, prefix: str = "trolyao") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, f"{prefix} {name}"))
        else:
            found[f"{prefix} {name}"] = command
    return found


def synopsis() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("## The `trolyao` command", 1)[1].split("```bash", 1)[1].split("```", 1)[0]


def test_every_command_and_option_is_in_the_synopsis():
    lines = synopsis()
    missing = []
    for name, command in commands(cli).items():
        block = re.search(rf"^{re.escape(name)}\b.*(?:\n[ \t]+\[.*)*", lines, flags=re.M)
        if block is None:
            missing.append(name)
            continue
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                names = [*param.opts, *param.secondary_opts]
                if not any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", block.group()) for n in names):
                    missing.append(f"{name} {'/'.join(names)}")
    assert missing == []
