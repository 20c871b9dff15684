"""The trolyao command as a user meets it: JSON contracts, and clear one-line errors without tracebacks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


TROLYAO = Path(sys.executable).with_name("trolyao")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script for real, as a user would."""
    return subprocess.run([str(TROLYAO), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message


def test_ingest_missing_file(tmp_path):
    result = run("ingest", str(tmp_path / "nope.txt"), "--index", str(tmp_path / "idx"))
    assert_clean_error(result, "nope.txt")
    assert not (tmp_path / "idx" / "current").exists()


def test_ingest_unsupported_format(tmp_path):
    sheet = tmp_path / "bang.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    assert_clean_error(run("ingest", str(sheet), "--index", str(tmp_path / "idx")), "bang.xlsx")


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
    result = run("search", "--queries", str(queries), "-k", "3", "--index", str(sample_index), "--json")
    assert result.returncode == 0, result.stderr
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
    result = run("ask", "Ai chủ trì xây dựng kế hoạch tiêm mũi 3 cho trẻ em?", "--index", str(sample_index), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is False and data["citations"][0]["doc_number"] == "2792/VP-KGVX"

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "x", "text": "Giá vàng hôm nay?"}\n', encoding="utf-8")
    result = run("ask", "--questions", str(questions), "--index", str(sample_index))
    line = json.loads(result.stdout)
    assert line["id"] == "x" and line["abstained"] is True and line["citations"] == []


def test_plain_ask_prints_readable_citation(sample_index):
    result = run("ask", "Kế hoạch 146/KH-UBND nói gì?", "--index", str(sample_index))
    assert result.returncode == 0, result.stderr
    assert "Kế hoạch số 146/KH-UBND ngày 23/6/2022 của UBND tỉnh" in result.stdout


def test_ingest_is_idempotent_through_the_cli(tmp_path, corpus_files):
    index = str(tmp_path / "idx")
    first = run("ingest", str(corpus_files[0]), "--index", index)
    assert first.returncode == 0, first.stderr
    generation = os.readlink(Path(index) / "current")
    again = run("ingest", str(corpus_files[0]), "--index", index)
    assert again.returncode == 0 and "0 passages added" in again.stderr
    assert os.readlink(Path(index) / "current") == generation


def test_default_index_comes_from_the_environment(tmp_path, corpus_files):
    env = {"TROLYAO_INDEX": str(tmp_path / "env-index")}
    assert run("ingest", str(corpus_files[0]), "--quiet", env=env).returncode == 0
    result = run("search", "sốt xuất huyết", "--json", env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["hits"]


def test_empty_query_is_a_usage_error(sample_index):
    result = run("search", "  ", "--index", str(sample_index))
    assert result.returncode == 2 and "QUERY is empty" in result.stderr and "Traceback" not in result.stderr


def test_interactive_ask_keeps_stdout_for_answers(sample_index):
    result = subprocess.run([str(TROLYAO), "ask", "--json", "--index", str(sample_index)],
                            input="Giá vàng hôm nay?\n\n", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["abstained"] is True    # stdout is pure JSON, the prompt went to stderr


def test_index_path_under_a_file_is_a_clean_error(tmp_path, corpus_files):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert_clean_error(run("ingest", str(corpus_files[0]), "--index", str(blocker / "sub")), "afile")
