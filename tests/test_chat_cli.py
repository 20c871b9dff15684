"""`trolyao chat`: the terminal client of the assistant (numbered choices, sources under answers)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.processes import free_port


def chat(*args, input_text: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["chat", *args], input=input_text, env=env, catch_exceptions=False)


def test_chat_shows_sources_and_numbered_choices_and_a_number_picks_one(dialogue):
    result = chat("--url", dialogue.rasa_url, "--no-start",
                  input_text="Kế hoạch 146/KH-UBND về việc gì?\nHạn chót khi nào?\n2\n/quit\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Trợ lý: Kế hoạch số 146/KH-UBND" in out
    assert "▸ Kế hoạch 146/KH-UBND (2022-06-23 · UBND tỉnh)" in out        # a source card
    assert "  [1] " in out and "  [2] " in out                              # the choices
    assert "vào năm 2023" in out.split("  [2] ", 1)[1].split("Trợ lý:", 1)[1]     # "2" answered the 2nd option


def test_without_a_server_and_with_no_start_it_says_what_to_do():
    result = CliRunner().invoke(cli, ["chat", "--url", f"http://127.0.0.1:{free_port()}", "--no-start"], input="")
    assert result.exit_code == 1
    assert "no Rasa server answers" in result.output and "make run" in result.output


@pytest.mark.stack
def test_without_a_server_it_starts_the_stack_and_answers(sample_index, tmp_path):
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(tmp_path / "fb.sqlite3"),
           "TROLYAO_RASA_URL": f"http://127.0.0.1:{free_port()}"}
    result = chat(input_text="Công văn 704/UBND-KGVX nói gì?\n", env=env)
    assert result.exit_code == 0, result.output
    assert "starting the action server and Rasa" in result.output
    assert "sốt xuất huyết" in result.output and "▸ Công văn 704/UBND-KGVX" in result.output
