"""`make run` from a clean shell: everything starts, /healthz turns 200, a question comes back with a
citation, and SIGINT stops every process (no orphans); when one process dies, it says which and
stops the others."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bot.processes import free_port
from conftest import REPO

pytestmark = pytest.mark.stack


@dataclass
class Running:
    proc: subprocess.Popen
    ports: dict[str, int]
    output: list[str] = field(default_factory=list)

    def tail(self) -> str:
        return "".join(self.output[-60:])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def make_run(sample_index, tmp_path) -> Iterator[Running]:
    """`make run` on free ports over the sample index, yielded once /healthz is 200."""
    ports = {"gateway": free_port(), "rasa": free_port(), "actions": free_port()}
    env = {**os.environ, "TROLYAO_PORT": str(ports["gateway"]), "TROLYAO_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
           "TROLYAO_ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}", "TROLYAO_INDEX": str(sample_index),
           "TROLYAO_FEEDBACK": str(tmp_path / "feedback.sqlite3"), "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(["make", "run"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    running = Running(proc, ports)
    threading.Thread(target=lambda: running.output.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert proc.poll() is None, "make run exited early:\n" + running.tail()
            # Ready when make run says so (it has seen every health check), not merely when /healthz answers.
            if any("Trợ lý ảo is running" in line for line in running.output):
                break
            time.sleep(0.5)   # polling its output
        else:
            pytest.fail("make run never said it was running:\n" + running.tail())
        assert httpx.get(f"http://127.0.0.1:{ports['gateway']}/healthz", timeout=5).status_code == 200
        yield running
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(90)


def assert_nothing_left(ports: dict[str, int]) -> None:
    assert not any(listening(p) for p in ports.values())
    # Anchored: port 4123 must not match another stack's "--port 41234".
    pattern = "|".join(f"--port {p}( |$)" for p in ports.values())
    left = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"orphans: {left.stdout}"


def test_make_run_starts_the_stack_answers_and_stops_cleanly_on_sigint(sample_index, tmp_path):
    with make_run(sample_index, tmp_path) as running:
        gateway = running.ports["gateway"]
        reply = httpx.post(f"http://127.0.0.1:{gateway}/api/chat", timeout=60,
                           json={"sender": "smoke", "message": "UBND tỉnh chỉ đạo gì về phòng, chống sốt xuất huyết?"})
        assert reply.json()["messages"][0]["citations"][0]["doc_number"] == "704/UBND-KGVX"
        assert any(f"open http://127.0.0.1:{gateway}/" in line for line in running.output)
        assert any(line.startswith("[rasa] ") for line in running.output)
        assert any(line.startswith("[actions] ") for line in running.output)
        os.killpg(running.proc.pid, signal.SIGINT)
        running.proc.wait(90)
    # make dies of the SIGINT itself (-2) or reports the interrupted recipe (2); bot.run exits 0.
    assert running.proc.returncode in (0, 2, 130, -signal.SIGINT), running.tail()
    assert any("Stopping" in line for line in running.output)
    assert_nothing_left(running.ports)


def test_when_one_process_dies_make_run_says_which_and_stops_the_others(sample_index, tmp_path):
    with make_run(sample_index, tmp_path) as running:
        found = subprocess.run(["pgrep", "-f", f"actions.server --port {running.ports['actions']}( |$)"],
                               capture_output=True, text=True)
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
        running.proc.wait(120)
    assert running.proc.returncode not in (0, None)
    assert any("actions stopped unexpectedly" in line for line in running.output), running.tail()
    assert_nothing_left(running.ports)
