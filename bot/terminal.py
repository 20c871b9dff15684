"""`trolyao chat`: the assistant in a terminal, against the running stack (or one it starts).

Buttons show as numbered choices (type the number), sources as cards under each answer.
"""
from __future__ import annotations

import contextlib
import sys
import uuid

import click

from bot.rasa_client import BotMessage, RasaClient

QUIT_WORDS = {"/quit", "/exit", "thoát", "thoat"}


def render(message: BotMessage) -> str:
    lines = [message.text] if message.text else []
    for i, button in enumerate(message.buttons, 1):
        lines.append(f"  [{i}] {button['title']}")
    for citation in message.citations:
        what = " ".join(p for p in (citation.get("doc_type"), citation.get("doc_number")) if p) or citation.get("title", "")
        details = " · ".join(p for p in (citation.get("issued_date"), citation.get("issuer")) if p)
        lines.append(click.style(f"  ▸ {what}" + (f" ({details})" if details else ""), dim=True))
        if citation.get("quote"):
            lines.append(click.style(f"    “{citation['quote']}”", dim=True))
    return "\n".join(lines)


def choice_payload(text: str, buttons: list[dict]) -> str:
    """A typed number picks the matching button of the last reply; anything else is sent as typed."""
    if text.strip().isdigit() and 1 <= int(text) <= len(buttons):
        return buttons[int(text) - 1]["payload"]
    return text


def converse(client: RasaClient, sender: str) -> None:
    buttons: list[dict] = []
    click.echo("Trợ lý ảo — gõ câu hỏi, số để chọn, /quit để thoát.", err=True)
    while True:
        try:
            text = input("Bạn: " if sys.stdin.isatty() else "")
        except EOFError:
            return
        if not text.strip():
            continue
        if text.strip().lower() in QUIT_WORDS:
            return
        try:
            replies = client.send(sender, choice_payload(text, buttons))
        except Exception as exc:   # the stack went away: say so, keep the session
            click.echo(f"Không kết nối được với trợ lý ({exc.__class__.__name__}). Bạn thử lại sau.", err=True)
            continue
        buttons = [b for reply in replies for b in reply.buttons]
        for reply in replies:
            click.echo("Trợ lý: " + render(reply))


@click.command()
@click.option("--url", default=None, help="Rasa server (default: $TROLYAO_RASA_URL or http://127.0.0.1:5005).")
@click.option("--sender", default=None, help="Conversation id (default: a new one).")
@click.option("--start/--no-start", default=True, show_default=True,
              help="Start the action server and Rasa when nothing answers at the URL.")
def chat(url: str | None, sender: str | None, start: bool) -> None:
    """Chat with the assistant in the terminal (buttons as numbers, sources under each answer)."""
    from retrieval.settings import Settings

    settings = Settings.load()
    url = url or settings.rasa_url
    sender = sender or f"cli:{uuid.uuid4().hex[:12]}"
    with contextlib.ExitStack() as stack:
        client = RasaClient(url)
        stack.callback(client.close)
        if not client.ready():
            if not start:
                raise click.ClickException(f"no Rasa server answers at {url} (run `make run`, or drop --no-start)")
            from bot.processes import DialogueStack, ServiceError

            click.echo(f"No assistant at {url}: starting the action server and Rasa (about a minute)…", err=True)
            try:
                running = stack.enter_context(DialogueStack(conversations=settings.conversations_path))
            except ServiceError as exc:
                raise click.ClickException(str(exc)) from exc
            client = RasaClient(running.rasa_url)
            stack.callback(client.close)
        converse(client, sender)
