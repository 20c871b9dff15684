"""What survives a restart of `make run`, kept in the data directory (owner-only SQLite files):
conversations (Rasa's tracker store), redelivery keys and rate-limit hits, the newest Zalo tokens."""
from __future__ import annotations

import asyncio
import stat

import pytest
from conftest import DIALOGUE_TODAY
from dialogue import Dialogue
from asgi_server import serve
from fake_zalo import FakeZalo
from stub_gateway import StubGateway, channel_app
from test_zalo import APP_ID, APP_SECRET, OA_SECRET, Zalo, new_user

from bot.gateway import RATE_LIMITED, Gateway
from bot.channels.zalo import ZaloChannel
from bot.processes import DialogueStack, free_port
from bot.state import GatewayState
from retrieval.settings import Settings


def gateway_after_restarts(path, settings: Settings, messages: list[tuple[str, str | None]]) -> list:
    """Each message handled by a new Gateway (a restarted process) over the state file ``path``."""
    replies = []
    for text, message_id in messages:
        state = GatewayState(path)
        gateway = Gateway(settings, state=state)
        replies.append(asyncio.run(gateway.handle("web", "restarted-user", text, message_id)))
        asyncio.run(gateway.aclose())
        state.close()
    return replies


def test_a_redelivered_message_is_still_answered_once_after_a_restart(tmp_path):
    settings = Settings(rasa_url=f"http://127.0.0.1:{free_port()}")     # Rasa down: the apology answers
    first, again, other = gateway_after_restarts(tmp_path / "gateway.sqlite3", settings,
                                                 [("xin chào", "m-1"), ("xin chào", "m-1"), ("chào", "m-2")])
    assert first and again is None and other
    assert stat.S_IMODE((tmp_path / "gateway.sqlite3").stat().st_mode) == 0o600


def test_a_flood_is_still_a_flood_after_a_restart(tmp_path):
    settings = Settings(rasa_url=f"http://127.0.0.1:{free_port()}", rate_limit="2/minute")
    replies = gateway_after_restarts(tmp_path / "gateway.sqlite3", settings, [("một", None), ("hai", None),
                                                                              ("ba", None)])
    assert [r[0].text == RATE_LIMITED for r in replies] == [False, False, True]


def test_zalo_uses_the_newest_refresh_token_after_a_restart(tmp_path):
    path, stub, user = tmp_path / "gateway.sqlite3", StubGateway(), new_user()
    fake = FakeZalo(APP_ID, APP_SECRET, access_token="access-1", refresh_token="refresh-1")
    with serve(fake.app) as fake_url:
        settings = Settings(zalo_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_app_secret=APP_SECRET,
                            zalo_access_token="access-1", zalo_refresh_token="refresh-1",
                            zalo_api_base=fake_url, zalo_oauth_base=fake_url)
        for sent, text in enumerate(("lần một", "lần hai"), start=1):   # each in a new process, same data
            fake.expire_access_token()
            state = GatewayState(path)
            with serve(channel_app(ZaloChannel(settings, stub, state=state))) as url:
                Zalo(fake, url).say(user, text)
                fake.wait_sent(user, sent)
            state.close()
    # refresh-1 is single-use: the restarted process spent the refresh token Zalo issued last.
    assert [r.body["refresh_token"] for r in fake.refreshes] == ["refresh-1", "refresh-2"]
    assert [c.text for c in fake.sent(user)] == ["Bạn hỏi: lần một", "Bạn hỏi: lần hai"]
    assert GatewayState(path).tokens("zalo", "access-9", "refresh-9") == ("access-9", "refresh-9")  # an operator's new one wins


@pytest.mark.model
@pytest.mark.stack
def test_a_follow_up_after_a_restart_answers_about_the_same_document(sample_index, tmp_path):
    conversations = tmp_path / "data" / "conversations.sqlite3"
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(tmp_path / "feedback.sqlite3"),
           "TROLYAO_TODAY": DIALOGUE_TODAY, "XDG_DATA_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    sender = "web:restart-test"
    with DialogueStack(env, conversations=conversations) as stack:
        first = Dialogue(stack.rasa_url, tmp_path / "feedback.sqlite3").say(sender, "Công văn 704/UBND-KGVX nói gì?")
        assert "704/UBND-KGVX" in first.text
    assert conversations.stat().st_size > 0
    assert stat.S_IMODE(conversations.stat().st_mode) == 0o600      # what users asked: owner only
    with DialogueStack(env, conversations=conversations) as stack:
        dialogue = Dialogue(stack.rasa_url, tmp_path / "feedback.sqlite3")
        follow_up = dialogue.say(sender, "Văn bản đó do ai ký?")
        stranger = dialogue.say("web:someone-else", "Văn bản đó do ai ký?")
    assert "704/UBND-KGVX" in follow_up.text and "không ghi người ký" in follow_up.text
    assert "không ghi người ký" not in stranger.text   # another user: nothing in focus, no such answer
