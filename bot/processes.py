"""The assistant's processes (action server, Rasa, gateway): start, await health, log, stop.

Used by `make run` and by the tests that talk to the real stack. Each process runs in its own
process group so that stopping it also stops whatever it spawned (Rasa's workers).
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

import httpx

from bot.addresses import SharedStores
from bot.state import private_file

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A process died or never became healthy; the message names it and ends with its last log lines."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    log_to: IO[str] | None = None          # where prefixed lines go (None: kept in the tail only)
    import_first: Path | None = None       # put on the front of the process's PYTHONPATH
    scratch: Path | None = None            # a folder of its own (generated files), removed on stop
    inherit_env: bool = True               # False: ``env`` is the whole environment (nothing of ours leaks in)
    on_line: Callable[[str], None] | None = None   # sees every output line (e.g. to parse what it prints)
    process: subprocess.Popen | None = None
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LOG_TAIL_LINES))

    def start(self) -> "Service":
        env = {**os.environ, **self.env} if self.inherit_env else dict(self.env)
        if self.import_first is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.import_first), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        threading.Thread(target=self._pump, name=f"log-{self.name}", daemon=True).start()
        return self

    def _pump(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            if self.on_line is not None:
                self.on_line(line)
            if self.log_to is not None:
                print(f"[{self.name}] {line}", file=self.log_to, flush=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float) -> None:
        """Poll the health check until it answers 200; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServiceError(f"{self.name} exited with code {self.process.returncode} before it was "
                                   f"ready:\n" + "\n".join(self.tail))
            if self.healthy():
                return
            time.sleep(0.25)   # polling interval of the health check, not a wait for an event
        raise ServiceError(f"{self.name} was not healthy at {self.health_url} after {timeout:.0f} s:\n"
                           + "\n".join(self.tail))

    def stop(self, grace: float = 10.0) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def action_server(port: int, env: dict[str, str] | None = None, log_to: IO[str] | None = None,
                  own_port: int | None = None) -> Service:
    """The action server on ``port``; with ``own_port``, one of several sharing ``port`` (scale-out),
    whose health is asked on its own port."""
    argv = [str(ROOT / ".venv/bin/python"), "-m", "actions.server", "--port", str(port)]
    if own_port is not None:
        argv += ["--reuse-port", "--own-port", str(own_port)]
    return Service("actions", argv, f"http://127.0.0.1:{own_port or port}/health", env or {}, log_to)


def rasa_server(port: int, model: str, action_port: int, env: dict[str, str] | None = None,
                log_to: IO[str] | None = None, conversations: Path | None = None,
                shared: SharedStores | None = None) -> Service:
    """Rasa on ``port`` talking to the action server on ``action_port``, keeping its conversations in
    the SQLite file ``conversations`` (none: in memory), or, as one worker of several, its locks and
    conversations in the ``shared`` Redis and PostgreSQL. Rasa 3.6 does not expand environment
    variables in endpoints.yml, so the endpoints go in a generated file (owner-only: it may hold
    passwords)."""
    endpoints = Path(tempfile.mkdtemp(prefix="trolyao-rasa-")) / "endpoints.yml"
    if conversations is not None:
        private_file(conversations)
    endpoints.write_text(endpoints_yaml(action_port, conversations, shared))
    argv = [str(ROOT / ".venv-rasa/bin/rasa"), "run", "--enable-api", "--model", model,
            "--port", str(port), "--interface", "127.0.0.1", "--endpoints", str(endpoints),
            "--credentials", "credentials.yml"]
    # This checkout's nlu/ (components, lock store) first, whatever checkout .venv-rasa's .pth names.
    return Service("rasa", argv, f"http://127.0.0.1:{port}/status", env or {}, log_to, import_first=ROOT,
                   scratch=endpoints.parent)


def endpoints_yaml(action_port: int, conversations: Path | None = None, shared: SharedStores | None = None) -> str:
    """Rasa's endpoints.yml. The keys are those Rasa 3.6 passes on: RedisLockStore(host=url, port, db,
    password) (here its atomic subclass, nlu.locks) and SQLTrackerStore(host=url, dialect, port, db,
    username, password) (on PostgreSQL, its subclass that reconnects after a restart, nlu.trackers)."""
    entries: dict[str, dict] = {"action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"}}
    if shared is not None:
        redis, database = shared.redis, shared.database
        entries["lock_store"] = {"type": "nlu.locks.AtomicRedisLockStore", "url": redis.host,
                                 "port": redis.port, "db": redis.db, "password": redis.password}
        entries["tracker_store"] = {"type": "nlu.trackers.ReconnectingSQLTrackerStore", "dialect": "postgresql",
                                    "url": database.host,
                                    "port": database.port, "db": database.database,
                                    "username": database.user, "password": database.password}
    elif conversations is not None:
        entries["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(conversations)}
    lines = []
    for section, keys in entries.items():    # JSON scalars are YAML scalars: no quoting rules to get wrong
        lines.append(f"{section}:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in keys.items() if value is not None]
    return "\n".join(lines) + "\n"


def trained_model() -> str:
    """Path of the trained Rasa model (trains it when its inputs changed; normally set-up did)."""
    result = subprocess.run([str(ROOT / "scripts/rasa-model.sh")], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"training the Rasa model failed:\n{result.stderr[-4000:]}")
    return result.stdout.strip()




class DialogueStack:
    """The action server and Rasa on free local ports, healthy on enter, stopped on exit.

    ``with DialogueStack(env) as stack: stack.rasa_url`` — used by `trolyao chat` when nothing is
    running yet, and by the tests that talk to the real dialogue.
    """

    def __init__(self, env: dict[str, str] | None = None, log_to: IO[str] | None = None,
                 action_port: int | None = None, rasa_port: int | None = None,
                 conversations: Path | None = None):
        self.env = env or {}
        self.log_to = log_to
        self.conversations = conversations
        self.action_port = action_port or free_port()
        self.rasa_port = rasa_port or free_port()
        self.services: list[Service] = []

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def __enter__(self) -> "DialogueStack":
        model = trained_model()
        actions = action_server(self.action_port, self.env, self.log_to).start()
        self.services.append(actions)
        rasa = rasa_server(self.rasa_port, model, self.action_port, self.env, self.log_to,
                           self.conversations).start()
        self.services.append(rasa)
        try:
            actions.wait_healthy(timeout=180)   # both start in parallel; Rasa takes longer
            rasa.wait_healthy(timeout=300)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
