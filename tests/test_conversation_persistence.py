"""Conversations survive a restart: Rasa keeps them in a SQLite tracker store in the data directory,
so a follow-up after the stack was stopped and started again still knows what it follows."""
from __future__ import annotations

import stat

import pytest
from conftest import DIALOGUE_TODAY
from dialogue import Dialogue

from bot.processes import DialogueStack

pytestmark = [pytest.mark.model, pytest.mark.stack]


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
