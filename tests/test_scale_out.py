"""The scale-out mode on real servers: two Rasa workers sharing a Redis lock store and a PostgreSQL
tracker store (each started here on free ports, on throw-away data directories), one action server
over the sample index. Any worker continues any conversation; one user's messages sent at once to
both workers are both answered, one turn after the other."""
from __future__ import annotations

import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import DIALOGUE_TODAY, REPO
from dialogue import Dialogue
from scale_out_stack import scale_out_servers, shared_stores  # noqa: F401  (fixtures)

from bot.scaled import ScaledDialogue
from bot.servers import PostgresServer, RedisServer, tool

pytestmark = [pytest.mark.model, pytest.mark.stack]


@pytest.fixture(scope="module")
def workers(shared_stores, sample_index, tmp_path_factory) -> list[Dialogue]:
    home = tmp_path_factory.mktemp("scaled")
    feedback = home / "feedback.sqlite3"
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(feedback),
           "TROLYAO_TODAY": DIALOGUE_TODAY, "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with ScaledDialogue(shared_stores, rasa_workers=2, action_workers=1, env=env) as scaled:
        yield [Dialogue(url, feedback, scaled.action_url) for url in scaled.rasa_urls]


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
