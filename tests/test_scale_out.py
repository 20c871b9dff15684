"""The scale-out mode on real servers: two Rasa workers sharing a Redis lock store and a PostgreSQL
tracker store (each started here on free ports, on throw-away data directories), one action server
over the sample index. Any worker continues any conversation; one user's messages sent at once to
both workers are both answered, one turn after the other."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import DIALOGUE_TODAY, REPO
from dialogue import Dialogue

from bot.addresses import PostgresAddress, RedisAddress, SharedStores
from bot.processes import free_port
from bot.scaled import ScaledDialogue
from bot.servers import PostgresServer, RedisServer, tool

pytestmark = [pytest.mark.model, pytest.mark.stack]


@pytest.fixture(scope="module")
def shared_stores(tmp_path_factory):
    """A Redis and a PostgreSQL cluster of the test's own; installed first when missing (set-up's
    script), skipped only where they cannot be installed, and never in CI."""
    installed = subprocess.run([str(REPO / "scripts/servers.sh")], capture_output=True, text=True)
    if installed.returncode != 0:
        message = f"redis-server / PostgreSQL 15 cannot be installed here:\n{installed.stderr[-1500:]}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    # Not under pytest's tmp folder: PostgreSQL runs as the postgres user when we are root, and
    # pytest's folders are private to the user who runs the tests.
    cluster = Path(tempfile.mkdtemp(prefix="trolyao-pg-"))
    redis = RedisServer(RedisAddress("127.0.0.1", free_port(), 1), tmp_path_factory.mktemp("redis"))
    postgres = PostgresServer(PostgresAddress("127.0.0.1", free_port(), "trolyao", "conversations"), cluster)
    try:
        redis.start()
        postgres.start()
        assert redis.owned and postgres.owned     # nothing answered on the free ports: ours
        yield SharedStores(redis.address, postgres.address)
    finally:
        postgres.stop()
        redis.stop()
        shutil.rmtree(cluster, ignore_errors=True)
    assert not redis.healthy() and not postgres.healthy()


@pytest.fixture(scope="module")
def workers(shared_stores, sample_index, tmp_path_factory) -> list[Dialogue]:
    home = tmp_path_factory.mktemp("scaled")
    feedback = home / "feedback.sqlite3"
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(feedback),
           "TROLYAO_TODAY": DIALOGUE_TODAY, "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with ScaledDialogue(shared_stores, rasa_workers=2, action_workers=1, env=env) as scaled:
        yield [Dialogue(url, feedback, scaled.action_urls[0]) for url in scaled.rasa_urls]


def contenders(port: int, store: str, conversations: int) -> list[int]:
    """Two Rasa-side processes taking the same conversations' locks at once (tests/lock_race.py):
    how often each found the other inside."""
    argv = [str(REPO / ".venv-rasa/bin/python"), str(REPO / "tests/lock_race.py"), str(port), store,
            str(conversations)]
    processes = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    redis_cli = [tool("redis-cli"), "-p", str(port), "-n", "3"]
    for _ in processes:                 # both ready, then both released together
        assert subprocess.run([*redis_cli, "blpop", "ready", "60"], capture_output=True, text=True,
                              timeout=70).stdout.strip(), "a contender did not start"
    subprocess.run([*redis_cli, "rpush", "go", "1", "1"], check=True, capture_output=True)
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err[-2000:] for _, err in outputs]
    return [int(out.strip()) for out, _ in outputs]


def test_the_lock_admits_one_worker_at_a_time(shared_stores):
    assert contenders(shared_stores.redis.port, "nlu.locks.AtomicRedisLockStore", 400) == [0, 0]


def new_sender() -> str:
    return f"web:scaled-{uuid.uuid4().hex[:10]}"


def events(worker: Dialogue, sender: str) -> list[dict]:
    response = httpx.get(f"{worker.rasa_url}/conversations/{sender}/tracker?include_events=ALL", timeout=30)
    response.raise_for_status()
    return response.json()["events"]


def test_another_worker_continues_the_conversation(workers):
    first, second = workers
    sender = new_sender()
    asked = first.say(sender, "Công văn 704/UBND-KGVX nói gì?")
    assert "704/UBND-KGVX" in asked.text
    follow_up = second.say(sender, "Văn bản đó do ai ký?")
    assert "704/UBND-KGVX" in follow_up.text and "không ghi người ký" in follow_up.text
    stranger = second.say(new_sender(), "Văn bản đó do ai ký?")
    assert "không ghi người ký" not in stranger.text   # the context is the sender's, not the worker's


def test_one_users_messages_sent_at_once_to_both_workers_are_answered_in_turn(workers):
    questions = ["Công văn 704/UBND-KGVX nói gì?", "xin chào"]
    for _ in range(3):    # a new user each time: the race is widest when no lock exists yet
        sender = new_sender()
        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = list(pool.map(lambda pair: pair[0].say(sender, pair[1]), zip(workers, questions)))
        assert "704/UBND-KGVX" in replies[0].text and replies[1].text
        # Both turns are kept, whole: the Redis lock let one worker finish its turn before the other
        # read the conversation (one session, no turn lost or interleaved with the other).
        kinds = [(e["event"], e.get("text")) for e in events(workers[1], sender)
                 if e["event"] in ("user", "bot", "session_started")
                 or (e["event"] == "action" and e.get("name") == "action_listen")]
        users = [text for kind, text in kinds if kind == "user"]
        assert sorted(users) == sorted(questions), kinds
        assert [kind for kind, _ in kinds].count("session_started") == 1, kinds
        between = kinds[kinds.index(("user", users[0])) + 1:kinds.index(("user", users[1]))]
        assert any(kind == "bot" for kind, _ in between) and between[-1] == ("action", None), kinds


def test_a_server_already_answering_is_used_and_never_stopped(shared_stores, tmp_path):
    redis = RedisServer(shared_stores.redis, tmp_path / "unused-redis").start()
    postgres = PostgresServer(shared_stores.database, tmp_path / "unused-postgres").start()
    assert not redis.owned and not postgres.owned
    redis.stop()
    postgres.stop()
    assert redis.healthy() and postgres.healthy()
    assert not (tmp_path / "unused-redis").exists() and not (tmp_path / "unused-postgres").exists()


def test_make_run_scaled_serves_on_running_servers_and_leaves_them_running(shared_stores, sample_index, tmp_path):
    gateway = free_port()
    env = {**os.environ, "TROLYAO_PORT": str(gateway), "TROLYAO_INDEX": str(sample_index),
           "TROLYAO_REDIS_URL": shared_stores.redis.url, "TROLYAO_FEEDBACK": str(tmp_path / "feedback.sqlite3"),
           "TROLYAO_DATABASE_URL": f"postgresql://{shared_stores.database.user}@127.0.0.1:"
                                   f"{shared_stores.database.port}/{shared_stores.database.database}",
           "TROLYAO_DATA": str(tmp_path / "data"), "TROLYAO_TODAY": DIALOGUE_TODAY, "HF_HUB_OFFLINE": "1"}
    def ask(text: str) -> str:
        return httpx.post(f"http://127.0.0.1:{gateway}/api/chat", timeout=60,
                          json={"sender": "scaled-smoke", "message": text}).json()["messages"][0]["text"]

    with make_run_scaled(env) as output:
        assert "704/UBND-KGVX" in ask("Công văn 704/UBND-KGVX nói gì?")
        assert "không ghi người ký" in ask("Văn bản đó do ai ký?")
        health = httpx.get(f"http://127.0.0.1:{gateway}/healthz", timeout=10).json()
        assert health == {"rasa-1": True, "rasa-2": True, "actions": True}
        workers = next(line for line in output if line.startswith("run: Rasa workers")).split()
    assert any("already running, used as is" in line for line in output)
    urls = [word.rstrip(";") for word in workers if word.startswith("http://")]
    assert len(urls) == 4 and not any(_answers(url) for url in [*urls, f"http://127.0.0.1:{gateway}"])
    server = PostgresServer(shared_stores.database, tmp_path)
    assert RedisServer(shared_stores.redis, tmp_path).healthy() and server.healthy()   # not ours: still up


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def make_run_scaled(env: dict[str, str]):
    """`make run-scaled`, yielded (its output lines so far) once it says it is running; Ctrl-C after."""
    proc = subprocess.Popen(["make", "run-scaled"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if "Trợ lý ảo is running" in line:
                ready.set()
        ready.set()     # ended: let the waiter see it

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert ready.wait(600) and proc.poll() is None, "make run-scaled did not start:\n" + "\n".join(output[-60:])
        yield output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(120)
    assert any("Stopping" in line for line in output), "\n".join(output[-60:])
