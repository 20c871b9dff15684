"""The trolyao command as a user meets it: JSON contracts, and clear one-line errors without tracebacks.

What only a real process shows (exit codes, stderr for messages and stdout for answers, no traceback,
the installed console script) is checked by running the command; the commands' output contracts run
in this process with click's runner, the same command group, sharing the session's loaded model.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli


TROLYAO = Path(sys.executable).with_name("trolyao")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script for real, as a user would."""
    return subprocess.run([str(TROLYAO), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


# `trolyao ingest` finds its model before it reads its inputs, so even its input errors need the folder.
needs_model_folder = pytest.mark.model


def invoke(*args: str, env: dict | None = None) -> Result:
    """Run the command in this process (stdout and stderr kept apart, as in a terminal)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def page(tmp_path) -> Path:
    """A short page of one directive: a few passages, so that ingesting it takes the model a moment."""
    path = tmp_path / "chi-dao.txt"
    path.write_text(
        "Chỉ đạo phòng, chống dịch sốt xuất huyết\n\n"
        "UBND tỉnh chỉ đạo (Công văn số 704/UBND-KGVX, ngày 23/6/2022) về phòng, chống dịch sốt xuất huyết.\n\n"
        "Sở Y tế chủ trì, phối hợp với các cơ quan liên quan đánh giá tình hình dịch sốt xuất huyết.\n",
        encoding="utf-8")
    return path


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message


@needs_model_folder
def test_ingest_missing_file(tmp_path):
    result = run("ingest", str(tmp_path / "nope.txt"), "--index", str(tmp_path / "idx"))
    assert_clean_error(result, "nope.txt")
    assert not (tmp_path / "idx" / "current").exists()


@needs_model_folder
def test_ingest_unsupported_format(tmp_path):
    sheet = tmp_path / "bang.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    assert_clean_error(run("ingest", str(sheet), "--index", str(tmp_path / "idx")), "bang.xlsx")


@needs_model_folder
def test_ingest_empty_file(tmp_path):
    empty = tmp_path / "rong.txt"
    empty.write_text("  \n", encoding="utf-8")
    assert_clean_error(run("ingest", str(empty), "--index", str(tmp_path / "idx")), "rong.txt")


def test_search_unknown_index_dir(tmp_path):
    assert_clean_error(run("search", "sốt xuất huyết", "--index", str(tmp_path / "khong-co")), "no index at")


def test_ask_corrupt_index(tmp_path, sample_index):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(sample_index, broken, symlinks=True)
    generation = (broken / "current").resolve()
    (generation / "store.sqlite").write_bytes(b"this is not a database")
    assert_clean_error(run("ask", "Ai chủ trì?", "--index", str(broken)), "broken")


def test_search_requires_exactly_one_query_source(sample_index):
    result = run("search", "--index", str(sample_index))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_search_batch_writes_one_json_line_per_query(tmp_path, sample_index):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a1", "text": "phòng chống sốt xuất huyết"}\n'
                       '{"id": "a2", "text": "thang hanh dong phong chong ma tuy"}\n', encoding="utf-8")
    result = invoke("search", "--queries", str(queries), "-k", "3", "--index", str(sample_index), "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a1", "a2"]
    assert all(len(line["hits"]) == 3 for line in lines)
    assert {"id", "score", "text", "doc_number"} <= set(lines[0]["hits"][0])
    assert lines[1]["hits"][0]["doc_number"] == "124/KH-UBND"


def test_search_batch_bad_line_names_the_line(tmp_path, sample_index):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a1", "text": "ok"}\n{oops\n', encoding="utf-8")
    assert_clean_error(run("search", "--queries", str(queries), "--index", str(sample_index)), "q.jsonl:2")


def test_ask_json_and_batch(tmp_path, sample_index):
    result = invoke("ask", "Ai chủ trì xây dựng kế hoạch tiêm mũi 3 cho trẻ em?", "--index", str(sample_index), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is False and data["citations"][0]["doc_number"] == "2792/VP-KGVX"

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "x", "text": "Giá vàng hôm nay?"}\n', encoding="utf-8")
    result = invoke("ask", "--questions", str(questions), "--index", str(sample_index))
    line = json.loads(result.stdout)
    assert line["id"] == "x" and line["abstained"] is True and line["citations"] == []


def test_plain_ask_prints_readable_citation(sample_index):
    result = invoke("ask", "Kế hoạch 146/KH-UBND nói gì?", "--index", str(sample_index))
    assert result.exit_code == 0, result.stderr
    assert "Kế hoạch số 146/KH-UBND ngày 23/6/2022 của UBND tỉnh" in result.stdout


@pytest.mark.model
def test_ingest_is_idempotent_through_the_cli(tmp_path, page):
    index = str(tmp_path / "idx")
    first = invoke("ingest", str(page), "--index", index)
    assert first.exit_code == 0, first.stderr
    generation = os.readlink(Path(index) / "current")
    again = invoke("ingest", str(page), "--index", index)
    assert again.exit_code == 0 and "0 passages added" in again.stderr
    assert os.readlink(Path(index) / "current") == generation


@pytest.mark.model
def test_default_index_comes_from_the_environment(tmp_path, page):
    env = {"TROLYAO_INDEX": str(tmp_path / "env-index")}
    assert invoke("ingest", str(page), "--quiet", env=env).exit_code == 0
    result = invoke("search", "sốt xuất huyết", "--json", env=env)
    assert result.exit_code == 0 and json.loads(result.stdout)["hits"]


def test_empty_query_is_a_usage_error(sample_index):
    result = run("search", "  ", "--index", str(sample_index))
    assert result.returncode == 2 and "QUERY is empty" in result.stderr and "Traceback" not in result.stderr


def test_interactive_ask_keeps_stdout_for_answers(sample_index):
    """In a real process: whatever loading the model prints, stdout carries only the answers."""
    result = subprocess.run([str(TROLYAO), "ask", "--json", "--index", str(sample_index)],
                            input="Giá vàng hôm nay?\n\n", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["abstained"] is True    # stdout is pure JSON, the prompt went to stderr


@needs_model_folder
def test_index_path_under_a_file_is_a_clean_error(tmp_path, corpus_files):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert_clean_error(run("ingest", str(corpus_files[0]), "--index", str(blocker / "sub")), "afile")
