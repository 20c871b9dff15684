"""Start the action server in one process with the index and model already loaded.

``python -m actions.server --port 5055``. rasa_sdk's own runner forks Sanic workers that would each
load the index and the embedding model again (and only on their first request); serving from a
single process keeps one copy in memory, loaded before the port opens, so /health answers only
when questions can be answered fast. Actions are light CPU work around one shared index.
"""
from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from rasa_sdk import Action
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor

from actions.assistant import Assistant, LiveRetrieval, pinned_or_real_today
from actions.conversation_actions import ActionFallbackRetrieval, ActionRecordFeedback, ActionResolveChoice
from actions.directive_actions import ActionAnswerDirective, ActionLatestDirectives
from actions.document_actions import ActionDescribeDocument
from actions.task_actions import ActionAgencyTasks, ActionAnswerDeadline, ActionAnswerResponsible
from retrieval.errors import TrolyaoError
from retrieval.feedback import FeedbackStore
from retrieval.settings import Settings

DEFAULT_PORT = 5055
ACTIONS = (ActionAnswerDirective, ActionLatestDirectives, ActionAnswerResponsible, ActionAnswerDeadline,
           ActionAgencyTasks, ActionDescribeDocument, ActionResolveChoice, ActionFallbackRetrieval,
           ActionRecordFeedback)


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
    return Assistant(LiveRetrieval(settings.index_dir, settings.model), FeedbackStore(settings.feedback_path),
                     pinned_or_real_today(settings.today))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        assistant = assistant_for(Settings.load())
        assistant.warm_up()
    except (TrolyaoError, ValueError, OSError, sqlite3.Error) as exc:   # a bad index, date or store path
        sys.exit(f"action server: {exc}")
    app = create_app(executor_for(assistant), cors_origins=None)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
