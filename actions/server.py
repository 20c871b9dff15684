"""Start the action server in one process with the index and model already loaded.

``python -m actions.server --port 5055``. rasa_sdk's own runner forks Sanic workers that would each
load the index and the embedding model again (and only on their first request); serving from a
single process keeps one copy in memory, loaded before the port opens, so /health answers only
when questions can be answered fast. Actions are light CPU work around one shared index.

In the scale-out mode several action servers share one port (``--reuse-port``: Linux's SO_REUSEPORT
spreads Rasa's connections over the live ones, so a killed worker's share goes to the others at once)
and each also answers on a port of its own (``--own-port``) where its own health can be asked.
"""
from __future__ import annotations

import argparse
import logging
import socket
import sqlite3
import sys

from rasa_sdk import Action
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions.assistant import Assistant, LiveRetrieval, pinned_or_real_today
from actions.officials import officials_for
from actions.conversation_actions import ActionFallbackRetrieval, ActionRecordFeedback, ActionResolveChoice
from actions.directive_actions import ActionAnswerDirective, ActionLatestDirectives
from actions.document_actions import ActionDescribeDocument
from actions.follow_actions import ActionFollow, ActionListFollowing, ActionUnfollow
from actions.privacy_actions import ActionForgetMe
from actions.report_actions import ActionTaskReport
from actions.task_actions import ActionAgencyTasks, ActionAnswerDeadline, ActionAnswerResponsible
from retrieval.errors import TrolyaoError
from retrieval.feedback import FeedbackStore
from retrieval.follow.store import follow_store
from retrieval.schema import AUDIENCES
from retrieval.settings import Settings

DEFAULT_PORT = 5055
ACTIONS = (ActionAnswerDirective, ActionLatestDirectives, ActionAnswerResponsible, ActionAnswerDeadline,
           ActionAgencyTasks, ActionDescribeDocument, ActionResolveChoice, ActionFallbackRetrieval,
           ActionRecordFeedback, ActionForgetMe, ActionTaskReport, ActionFollow, ActionUnfollow,
           ActionListFollowing)


def actions_for(assistant: Assistant) -> list[Action]:
    """Every custom action of domain.yml, each holding the assistant it answers from."""
    return [action(assistant) for action in ACTIONS]


def executor_for(assistant: Assistant) -> ActionExecutor:
    executor = ActionExecutor()
    for action in actions_for(assistant):
        executor.register_action(action)
    return executor


def assistant_for(settings: Settings) -> Assistant:
    """The settings' index (reloaded on a new generation), feedback store and pinned day, if any."""
    return Assistant(LiveRetrieval(settings.index_dir, settings.model, background=True, audiences=AUDIENCES),
                     FeedbackStore(settings.feedback_path),
                     pinned_or_real_today(settings.today),
                     officials_for(settings), settings.reports_dir,
                     follow_store(settings))


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening address other processes of this user may bind too (the kernel spreads connections)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve(app: Sanic, host: str, port: int, reuse_port: bool = False, own_port: int | None = None) -> None:
    options = {"single_process": True, "access_log": False, "motd": False}
    if reuse_port:
        app.prepare(sock=shared_socket(host, port), **options)
    else:
        app.prepare(host=host, port=port, **options)
    if own_port is not None:
        app.prepare(host=host, port=own_port, **options)
    Sanic.serve_single(app)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--reuse-port", action="store_true", help="share --port with other action servers")
    parser.add_argument("--own-port", type=int, help="also listen here, on a port of this process alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        assistant = assistant_for(Settings.load())
        assistant.warm_up()
    except (TrolyaoError, ValueError, OSError, sqlite3.Error) as exc:   # a bad index, date or store path
        sys.exit(f"action server: {exc}")
    app = create_app(executor_for(assistant), cors_origins=None)
    serve(app, args.host, args.port, args.reuse_port, args.own_port)


if __name__ == "__main__":
    main()
