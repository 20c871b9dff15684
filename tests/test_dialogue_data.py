"""Rasa's own checks on the dialogue: training data valid, and the test stories predicted right."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RASA = REPO / ".venv-rasa" / "bin" / "rasa"
INTENTS_WITH_ONE_ANSWER = {"greet", "goodbye", "thanks", "help", "ask_directive", "ask_responsible",
                           "agency_tasks", "ask_deadline", "ask_document", "latest_directives",
                           "feedback_positive", "feedback_negative", "out_of_scope", "chitchat",
                           "choose_option", "forget_me", "task_report", "follow", "unfollow", "list_following"}


def rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(RASA), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


@pytest.mark.stack
def test_training_data_validates_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_intent_has_thirty_examples_a_third_typed_casually():
    """≥ 30 examples per intent, no duplicates, and at least a third without diacritics or with
    chat shorthand ("ko", "dc", "j"), as people type in Zalo and Telegram."""
    import re

    from nlu.normalize import CHAT_SHORTHAND
    from retrieval.text import fold, has_diacritics

    nlu = yaml.safe_load((REPO / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    examples = {block["intent"]: [re.sub(r"\[([^\]]+)\]\(\w+\)", r"\1", line[2:])
                                  for line in block["examples"].splitlines() if line.startswith("- ")]
                for block in nlu if "intent" in block}
    assert set(examples) == INTENTS_WITH_ONE_ANSWER
    for intent, lines in examples.items():
        assert len(lines) >= 30, intent
        assert len({fold(line) for line in lines}) == len(lines), f"{intent}: duplicate examples"
        casual = [line for line in lines if not has_diacritics(line)
                  or any(fold(word) in CHAT_SHORTHAND for word in re.findall(r"\w+", line.lower()))]
        assert 3 * len(casual) >= len(lines), f"{intent}: only {len(casual)}/{len(lines)} typed casually"


@pytest.mark.stack
def test_the_test_stories_pass_rasa_test_core(tmp_path):
    from bot.processes import trained_model

    result = rasa("test", "core", "--model", trained_model(), "--stories", "tests/test_stories.yml",
                  "--out", str(tmp_path), "--fail-on-prediction-errors")
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, detail
    report = (tmp_path / "story_report.json")
    assert report.exists()
