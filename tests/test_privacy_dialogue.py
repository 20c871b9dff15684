""""Xóa dữ liệu của tôi" through the whole stack: the web chat API, the gateway, a real Rasa keeping its
conversations in SQLite (as `make run` does) and the action server. After the user confirms, the
stores hold nothing of theirs (read straight from the files), other users are intact, and a follow-up
has no context. Then `trolyao privacy forget` removes the other user, and prints what it removed."""
from __future__ import annotations

import logging
import sqlite3
from contextlib import closing

import httpx
import pytest
from asgi_server import serve
from click.testing import CliRunner
from conftest import DIALOGUE_TODAY

from actions.privacy_actions import ASK, DONE
from bot.app import create_app
from bot.pseudonyms import Pseudonyms
from bot.secret_key import secret_key
from bot.cli import cli
from bot.processes import DialogueStack
from retrieval.settings import Settings

pytestmark = [pytest.mark.model, pytest.mark.stack]


API_KEY = "privacy-test-integration-key"   # the test names its users: an integration's senders


@pytest.fixture(scope="module")
def stack(sample_index, tmp_path_factory):
    """The gateway (channels off) in front of Rasa and the action server sharing one data directory."""
    home = tmp_path_factory.mktemp("privacy")
    settings = Settings(data=home / "trolyao", feedback=home / "feedback.sqlite3", rate_limit="100/minute",
                        api_key=API_KEY)     # the test names its users: an integration's senders
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(settings.feedback_path),
           "TROLYAO_TODAY": DIALOGUE_TODAY, "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with DialogueStack(env, conversations=settings.conversations_path) as dialogue:
        settings = settings.model_copy(update={"rasa_url": dialogue.rasa_url,
                                               "action_server_url": f"http://127.0.0.1:{dialogue.action_port}"})
        with serve(create_app(settings)) as url:
            yield settings, url


def say(url: str, sender: str, message: str) -> list[dict]:
    response = httpx.post(f"{url}/api/chat", json={"sender": sender, "message": message}, timeout=60,
                          headers={"Authorization": f"Bearer {API_KEY}"})
    response.raise_for_status()
    return response.json()["messages"]


def held(settings: Settings, sender: str) -> dict[str, int]:
    def count(path, query, key: str = sender):
        with closing(sqlite3.connect(path)) as db:
            return db.execute(query, (key,)).fetchone()[0]

    return {"conversations": count(settings.conversations_path, "SELECT COUNT(*) FROM events WHERE sender_id = ?"),
            "feedback": count(settings.feedback_path, "SELECT COUNT(*) FROM feedback WHERE conversation_id = ?"),
            "gateway": count(settings.gateway_state_path, "SELECT COUNT(*) FROM hits WHERE key = ?",
                             Pseudonyms(secret_key(settings)).of(sender)),
            "follows": count(settings.follows_path, "SELECT COUNT(*) FROM follows WHERE sender = ?")}


def test_after_confirming_nothing_of_the_user_remains_and_a_follow_up_has_no_context(stack, caplog):
    settings, url = stack
    caplog.set_level(logging.INFO, logger="trolyao.gateway")
    for user in ("alice", "bob"):
        assert "Đã đăng ký theo dõi Sở Y tế" in say(url, user, "theo dõi Sở Y tế")[0]["text"]   # a subscription
        answer = say(url, user, "Công văn 704/UBND-KGVX nói gì?")
        assert answer[0]["citations"][0]["doc_number"] == "704/UBND-KGVX"
        say(url, user, "/feedback_negative")              # the web chat's 👎
    alice, bob = "web:alice", "web:bob"
    assert all(held(settings, alice).values()) and held(settings, bob) == held(settings, alice)

    asked = say(url, "alice", "xoa du lieu cua toi")       # typed without diacritics
    assert asked[0]["text"] == ASK
    assert [b["title"] for b in asked[0]["buttons"]] == ["Xóa", "Không"]
    kept = say(url, "alice", asked[0]["buttons"][1]["payload"])
    assert "chưa xóa" in kept[0]["text"] and all(held(settings, alice).values())

    asked = say(url, "alice", "Xóa dữ liệu của tôi")
    done = say(url, "alice", asked[0]["buttons"][0]["payload"])
    assert [m["text"] for m in done] == [DONE]
    assert held(settings, alice) == {"conversations": 0, "feedback": 0, "gateway": 0, "follows": 0}
    forgotten = [r.getMessage() for r in caplog.records if "forgotten:" in r.getMessage()]
    print(f"\ngateway, after Alice's confirmation: {forgotten}")
    assert len(forgotten) == 1 and "conversations: 0 events" not in forgotten[0]
    assert "web:alice" not in forgotten[0]          # the log names a hash, never the sender
    bob_before = held(settings, bob)
    assert all(bob_before.values())

    # with Công văn 704 in focus the answer is that it names no signer; Alice has no focus any more
    follow_up = say(url, "alice", "Văn bản đó do ai ký?")
    assert "không ghi người ký" not in follow_up[0]["text"] and not follow_up[0]["citations"]
    with_context = say(url, "bob", "Văn bản đó do ai ký?")
    assert "không ghi người ký" in with_context[0]["text"] and "704/UBND-KGVX" in with_context[0]["text"]

    # the operator's command, for Bob (the figures go to the report)
    bob_now = held(settings, bob)
    result = CliRunner().invoke(cli, ["privacy", "forget", "--sender", bob], obj={"settings": settings})
    print(f"\ntrolyao privacy forget --sender {bob}:\n{result.output}")
    assert result.exit_code == 0, result.output
    removed = {store: int(text.split()[0]) for store, text in (line.split(": ", 1) for line in result.output.splitlines())}
    assert removed == {**bob_now, "officials": 0}     # Bob never signed in as an official
    assert held(settings, bob) == {"conversations": 0, "feedback": 0, "gateway": 0, "follows": 0}
