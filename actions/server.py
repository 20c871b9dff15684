"""Start the action server in one process with the index and model already loaded.

``python -m actions.server --port 5055``. rasa_sdk's own runner forks Sanic workers that would each
load the index and the embedding model again (and only on their first request); serving from a
single process keeps one copy in memory, loaded before the port opens, so /health answers only
when questions can be answered fast. Actions are light CPU work around one shared index.
"""
from __future__ import annotations

import argparse
import logging
import sys

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor

from actions.assistant import warm_up
from retrieval.errors import TrolyaoError

DEFAULT_PORT = 5055


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        warm_up()
    except TrolyaoError as exc:
        sys.exit(f"action server: {exc}")
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=None)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
