"""`make run-scaled` as a user runs it, on a Redis and a PostgreSQL of the test's own (already
running, so the launcher uses them and leaves them running): two Rasa workers, two action workers,
the gateway. What a province's operator relies on: /healthz names every process and both servers; a
worker killed with SIGKILL is restarted while the others carry its users' conversations on; Redis or
PostgreSQL down, or the action servers frozen, give the Vietnamese apology within the timeout, and
the service comes back by itself; Ctrl-C stops what the command started and nothing else, and a
conversation goes on after the command is started again."""
from __future__ import annotations

import os
import signal
import time
import uuid

import httpx
import psutil
import pytest
from conftest import DIALOGUE_TODAY
from scale_out_stack import ScaledRun, scale_out_servers, shared_stores  # noqa: F401  (fixtures)

from bot.gateway import APOLOGY, rasa_worker
from bot.processes import free_port
from retrieval.settings import Settings

pytestmark = [pytest.mark.model, pytest.mark.stack]

TIMEOUT_S = Settings.model_fields["rasa_timeout_s"].default
API_KEY = f"scale-out-{uuid.uuid4().hex}"    # the test names its users' conversations, as an integration
EVERYTHING = {"rasa-1", "rasa-2", "actions-1", "actions-2", "redis", "postgres"}


class Gateway:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    def ask(self, sender: str, text: str) -> str:
        response = httpx.post(f"{self.url}/api/chat", json={"sender": sender, "message": text}, timeout=60,
                              headers={"Authorization": f"Bearer {API_KEY}"})
        response.raise_for_status()
        return "\n".join(message["text"] for message in response.json()["messages"])

    def health(self) -> tuple[int, dict[str, bool]]:
        response = httpx.get(f"{self.url}/healthz", timeout=10)
        return response.status_code, response.json()

    def await_health(self, timeout: float = 300) -> dict[str, bool]:
        """Poll /healthz (a health check, not a sleep) until everything is up again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code, status = self.health()
            if code == 200:
                return status
            time.sleep(1)
        raise AssertionError(f"not healthy after {timeout} s: {status}")


@pytest.fixture(scope="module")
def scaled(shared_stores, sample_index, tmp_path_factory):
    port = free_port()
    home = tmp_path_factory.mktemp("run-scaled")
    env = {**os.environ, "TROLYAO_PORT": str(port), "TROLYAO_INDEX": str(sample_index),
           "TROLYAO_REDIS_URL": shared_stores.redis.url, "TROLYAO_DATABASE_URL": shared_stores.database.url,
           "TROLYAO_FEEDBACK": str(home / "feedback.sqlite3"), "TROLYAO_DATA": str(home / "data"),
           "TROLYAO_RASA_WORKERS": "2", "TROLYAO_ACTION_WORKERS": "2", "TROLYAO_TODAY": DIALOGUE_TODAY,
           "HF_HUB_OFFLINE": "1", "TROLYAO_API_KEY": API_KEY}
    run = ScaledRun(env)
    try:
        run.wait_running()
        yield run, Gateway(port)
    finally:
        run.stop()


def new_sender(purpose: str) -> str:
    return f"{purpose}-{uuid.uuid4().hex[:8]}"


def urls_in(text: str) -> list[str]:
    return [word.rstrip(";()") for word in text.split() if word.startswith("http://")]


def worker_urls(run: ScaledRun) -> tuple[list[str], list[str]]:
    """The Rasa workers and each action worker's own address, as the launcher printed them:
    `run: Rasa workers A B; action servers at S (each: X Y)`."""
    line = run.wait_for_line("run: Rasa workers", timeout=1)
    rasa, actions = line.split("; action servers at ")
    return urls_in(rasa), urls_in(actions.split("(each:")[1])


def listener(url: str) -> psutil.Process:
    """The process listening on ``url``'s port (only one: each worker's own port)."""
    port = int(url.rsplit(":", 1)[1])
    pids = {c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    assert len(pids) == 1, (url, pids)
    return psutil.Process(pids.pop())


def kill(process: psutil.Process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def test_every_worker_serves_and_healthz_names_each_process_and_both_servers(scaled):
    run, gateway = scaled
    sender = new_sender("smoke")
    assert "704/UBND-KGVX" in gateway.ask(sender, "Công văn 704/UBND-KGVX nói gì?")
    assert "không ghi người ký" in gateway.ask(sender, "Văn bản đó do ai ký?")
    assert gateway.health() == (200, dict.fromkeys(EVERYTHING, True))
    assert sum("already running, used as is" in line for line in run.output) == 2


def test_a_killed_rasa_worker_is_restarted_and_its_users_go_on_with_another(scaled):
    run, gateway = scaled
    workers, _ = worker_urls(run)
    sender = new_sender("rasa-killed")
    assert "704/UBND-KGVX" in gateway.ask(sender, "Công văn 704/UBND-KGVX nói gì?")
    theirs = rasa_worker(f"web:{sender}", workers)
    kill(listener(theirs))
    follow_up = gateway.ask(sender, "Văn bản đó do ai ký?")     # the other worker, same conversation
    assert "704/UBND-KGVX" in follow_up and "không ghi người ký" in follow_up, follow_up
    number = workers.index(theirs) + 1
    run.wait_for_line(f"rasa-{number} died (exit code -9); restarting it", timeout=10)
    assert gateway.await_health() == dict.fromkeys(EVERYTHING, True)
    assert "704/UBND-KGVX" in gateway.ask(sender, "Văn bản đó ban hành ngày nào?")   # back on their worker


def test_a_killed_action_worker_is_restarted_and_the_other_answers_meanwhile(scaled):
    run, gateway = scaled
    kill(listener(worker_urls(run)[1][0]))
    for _ in range(6):     # new connections: the kernel hands each to the live action worker
        assert "704/UBND-KGVX" in gateway.ask(new_sender("actions-killed"), "Công văn 704/UBND-KGVX nói gì?")
    run.wait_for_line("actions-1 died (exit code -9); restarting it", timeout=10)
    assert gateway.await_health() == dict.fromkeys(EVERYTHING, True)


def apology_in_time(gateway: Gateway, sender: str) -> float:
    started = time.monotonic()
    assert gateway.ask(sender, "Công văn 704/UBND-KGVX nói gì?") == APOLOGY
    return time.monotonic() - started


@pytest.mark.parametrize("server", ["redis", "postgres"])
def test_a_server_down_gets_the_apology_and_the_service_comes_back_with_it(scaled, scale_out_servers, server):
    run, gateway = scaled
    before = new_sender(f"{server}-before")     # a conversation begun before the outage
    assert "704/UBND-KGVX" in gateway.ask(before, "Công văn 704/UBND-KGVX nói gì?")
    down = getattr(scale_out_servers, server)
    down.stop()
    try:
        assert apology_in_time(gateway, new_sender(f"{server}-down")) < TIMEOUT_S + 2
        code, status = gateway.health()
        assert code == 503 and status[server] is False
    finally:
        down.start()
    # Back by itself, the conversation where it was: the first turn after the return reads it whole.
    assert "không ghi người ký" in gateway.ask(before, "Văn bản đó do ai ký?")
    assert "704/UBND-KGVX" in gateway.ask(new_sender(f"{server}-after"), "Công văn 704/UBND-KGVX nói gì?")
    assert gateway.health() == (200, dict.fromkeys(EVERYTHING, True))


def test_frozen_action_servers_get_the_apology_never_silence(scaled):
    run, gateway = scaled
    frozen = [listener(url) for url in worker_urls(run)[1]]
    for process in frozen:
        process.suspend()
    try:
        assert apology_in_time(gateway, new_sender("frozen")) < TIMEOUT_S + 2
    finally:
        for process in frozen:
            process.resume()
    assert "704/UBND-KGVX" in gateway.ask(new_sender("thawed"), "Công văn 704/UBND-KGVX nói gì?")


def test_ctrl_c_stops_what_it_started_and_leaves_the_servers_running(scaled, scale_out_servers):
    run, gateway = scaled
    rasa, actions = worker_urls(run)
    urls = [*rasa, *actions, gateway.url]
    before = new_sender("restarted")
    assert "704/UBND-KGVX" in gateway.ask(before, "Công văn 704/UBND-KGVX nói gì?")
    run.stop()      # (make's own exit status after Ctrl-C is the signal's, not the launcher's)
    assert any("Stopping" in line for line in run.output), run.tail()
    assert not any(answers(url) for url in urls)
    assert scale_out_servers.health() == {"redis": True, "postgres": True}
    # Started again (an update, a reboot): the conversation goes on where it was.
    again = ScaledRun(run.env)
    try:
        again.wait_running()
        assert "không ghi người ký" in gateway.ask(before, "Văn bản đó do ai ký?")
    finally:
        again.stop()


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False
