"""What the scale-out tests share: a Redis and a PostgreSQL of the test's own (fixtures
`scale_out_servers` and `shared_stores`: import them into a test module), and `make run-scaled` run
as a user runs it."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import REPO

from bot.addresses import PostgresAddress, RedisAddress, SharedStores
from bot.processes import free_port
from bot.servers import PostgresServer, RedisServer, ScaleOutServers


@pytest.fixture(scope="module")
def scale_out_servers(tmp_path_factory):
    """Installed first when missing (set-up's script), skipped only where they cannot be installed,
    and never in CI."""
    installed = subprocess.run([str(REPO / "scripts/servers.sh")], capture_output=True, text=True)
    if installed.returncode != 0:
        message = f"redis-server / PostgreSQL 15 cannot be installed here:\n{installed.stderr[-1500:]}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    # Not under pytest's tmp folder: PostgreSQL runs as the postgres user when we are root, and
    # pytest's folders are private to the user who runs the tests.
    cluster = Path(tempfile.mkdtemp(prefix="trolyao-pg-"))
    servers = ScaleOutServers(
        RedisServer(RedisAddress("127.0.0.1", free_port(), 1), tmp_path_factory.mktemp("redis")),
        PostgresServer(PostgresAddress("127.0.0.1", free_port(), "trolyao", "conversations"), cluster))
    try:
        with servers:
            assert servers.redis.owned and servers.postgres.owned   # nothing answered on the free ports: ours
            yield servers
    finally:
        shutil.rmtree(cluster, ignore_errors=True)
    assert not any(servers.health().values())


@pytest.fixture(scope="module")
def shared_stores(scale_out_servers) -> SharedStores:
    return SharedStores(scale_out_servers.redis.address, scale_out_servers.postgres.address)


class ScaledRun:
    """`make run-scaled` in a process group of its own; ``output`` grows with its lines."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(["make", "run-scaled"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        self.env = env
        self.output: list[str] = []
        self._ready = threading.Event()
        self._lines = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            with self._lines:
                self.output.append(line.rstrip("\n"))
                self._lines.notify_all()
            if "Trợ lý ảo is running" in line:
                self._ready.set()
        self._ready.set()     # ended: let the waiter see it
        with self._lines:
            self._lines.notify_all()

    def wait_running(self, timeout: float = 600) -> None:
        assert self._ready.wait(timeout) and self.proc.poll() is None, \
            "make run-scaled did not start:\n" + self.tail()

    def wait_for_line(self, fragment: str, timeout: float) -> str:
        """The first output line containing ``fragment`` (awaited as it is printed)."""
        with self._lines:
            found = self._lines.wait_for(lambda: next((l for l in self.output if fragment in l), None)
                                         or self.proc.poll() is not None, timeout)
        line = next((l for l in self.output if fragment in l), None)
        assert found and line is not None, f"no line with {fragment!r}:\n" + self.tail()
        return line

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output[-lines:])

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(120)
