"""`trolyao tasks` as officials use it: table, JSON lines, CSV for Excel, deadlines status.

Tasks come from the text alone, so the listings read the fast test index (same tasks as the one
built with the real model); the ingest that reports an unknown agency uses the real model."""
from __future__ import annotations

import csv
import io
import json
import logging

import pytest

from test_cli import invoke, run


def test_json_lines_have_the_documented_fields(hashing_index):
    result = run("tasks", "--agency", "so y te", "--json", "--index", str(hashing_index))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows
    required = {"doc_number", "doc_type", "issued_date", "issuer", "action", "lead", "partners", "assignees",
                "deadline", "deadline_date", "successor", "quote", "bulletin", "role"}
    assert all(required <= set(r) for r in rows)
    assert any(r["doc_number"] == "704/UBND-KGVX" and r["role"] == "lead" for r in rows)


def test_csv_has_a_bom_for_excel(hashing_index):
    result = run("tasks", "--doc", "723/UBND-KT", "--csv", "--index", str(hashing_index))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert rows and all(r["doc_number"] == "723/UBND-KT" for r in rows)


def test_table_marks_deadlines_against_today(hashing_index):
    result = run("tasks", "--doc", "723", "--today", "2024-06-05", "--index", str(hashing_index))
    assert result.returncode == 0, result.stderr
    assert "sắp đến hạn" in result.stdout and "trước ngày 10/6/2024" in result.stdout


@pytest.mark.model
def test_unknown_agency_is_reported_after_ingest_and_kept(tmp_path, caplog):
    page = tmp_path / "chi-dao.txt"
    page.write_text(
        "Chỉ đạo xây dựng kho dữ liệu y tế\n\n"
        "UBND tỉnh chỉ đạo (Công văn số 100/UBND-KT, ngày 02/6/2024) về xây dựng kho dữ liệu y tế.\n\n"
        "Trung tâm Dữ liệu Mặt Trăng chủ trì, phối hợp với Sở Y tế xây dựng kho dữ liệu trước ngày 30/6/2024.\n",
        encoding="utf-8")
    index = str(tmp_path / "idx")
    result = invoke("ingest", str(page), "--index", index)
    assert result.exit_code == 0, result.stderr
    # Warnings go to stderr in the installed command (setup_logging); in this process pytest holds the log.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not in the gazetteer" in w and "Trung tâm Dữ liệu Mặt Trăng" in w for w in warnings), warnings
    rows = [json.loads(line) for line in invoke("tasks", "--index", index, "--json").stdout.splitlines()]
    assert [(r["lead"], r["partners"], r["deadline_date"]) for r in rows] == [
        ("Trung tâm Dữ liệu Mặt Trăng", ["Sở Y tế"], "2024-06-30")]
