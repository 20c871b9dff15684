"""`trolyao eval` as operators use it: summary, failures, --json, --baseline, --min, --report, errors."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from gold_fakes import FakeAssistant
from retrieval.cli import cli

GOLD = """\
- id: g1
  question: "Tỉnh chỉ đạo gì về sốt xuất huyết?"
  kind: document
  expected_docs: ["704/UBND-KGVX"]
  source_quote: "sốt xuất huyết"
- id: g2
  question: "Ai chủ trì đôn đốc Kế hoạch 146/KH-UBND?"
  kind: responsible
  expected_docs: ["146/KH-UBND"]
  must_contain: ["Sở Nội vụ"]
  source_quote: "Sở Nội vụ"
- id: u1
  question: "<script>"
  kind: unanswerable
  abstain: true
- id: m1
  turns:
    - question: "Có chỉ đạo gì về sốt xuất huyết không?"
      expected_docs: ["704/UBND-KGVX"]
      source_quote: "sốt xuất huyết"
    - question: "Ai chủ trì?"
      must_contain: ["Sở Y tế"]
      source_quote: "Sở Y tế chủ trì"
"""


@pytest.fixture
def fake():
    with FakeAssistant() as server:
        yield server


@pytest.fixture
def gold(tmp_path):
    path = tmp_path / "gold.yaml"
    path.write_text(GOLD, encoding="utf-8")
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_summary_and_failures(fake, gold, tmp_path):
    out = tmp_path / "result.json"
    result = invoke("eval", gold, "--rest", fake.base + "/webhooks/rest/webhook", "--json", out)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Pass rate: 60.0% (3/5 questions)" in text
    assert re.search(r"responsible\s+0\.0%\s+0/1", text)
    assert "Citation hit@1: 66.7%   hit@3: 66.7%" in text
    assert "Must-contain recall: 50.0%" in text
    assert "Abstention precision: 0.0% (1 abstained)   recall: 0.0% (1 should abstain)" in text
    assert "Conversations fully passed: 1/1" in text and "Latency p50:" in text
    assert "✗ g2 [responsible] abstained wrongly, wrong citation, missing fact (missing: Sở Nội vụ)" in text
    assert "✗ u1 [unanswerable] should have abstained" in text
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["summary"]["pass_rate"] == 0.6 and data["runner"].startswith("REST ")
    assert [u["unit_id"] for u in data["units"]] == ["g1", "g2", "u1", "m1#1", "m1#2"]
    assert data["units"][1]["reasons"] == ["abstained wrongly", "wrong citation", "missing fact"]


def test_json_to_stdout_moves_the_summary_to_stderr(fake, gold):
    result = invoke("eval", gold, "--rest", fake.base + "/api/chat", "--json", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["judged"] == 5
    assert "Pass rate:" in result.stderr


def test_min_rate_sets_the_exit_code(fake, gold):
    url = fake.base + "/api/chat"
    assert invoke("eval", gold, "--rest", url, "--min", "0.6").exit_code == 0
    failing = invoke("eval", gold, "--rest", url, "--min", "0.61")
    assert failing.exit_code == 1
    assert "pass rate 60.0% is below --min 61.0%" in failing.stderr
    assert invoke("eval", gold, "--rest", url, "--min", "1.5").exit_code == 2


def test_baseline_lists_regressed_and_improved(fake, gold, tmp_path):
    previous = {"units": [{"unit_id": "g1", "passed": False}, {"unit_id": "u1", "passed": True},
                          {"unit_id": "m1#1", "passed": True}, {"unit_id": "old", "passed": True}]}
    prev = tmp_path / "prev.json"
    prev.write_text(json.dumps(previous), encoding="utf-8")
    out = tmp_path / "now.json"
    result = invoke("eval", gold, "--rest", fake.base + "/api/chat", "--baseline", prev, "--json", out)
    assert result.exit_code == 0
    assert "1 regressed, 1 improved" in result.stdout
    assert "regressed: u1" in result.stdout and "improved: g1" in result.stdout and "gone: old" in result.stdout
    diff = json.loads(out.read_text(encoding="utf-8"))["baseline"]
    assert diff["regressed"] == ["u1"] and diff["improved"] == ["g1"] and diff["new"] == ["g2", "m1#2"]


def test_html_report_is_self_contained_and_escaped(fake, gold, tmp_path):
    report = tmp_path / "report.html"
    result = invoke("eval", gold, "--rest", fake.base + "/api/chat", "--report", report)
    assert result.exit_code == 0
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'charset="utf-8"' in html
    assert "data:image/png;base64,iVBORw0KGgo" in html          # the chart, embedded
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)   # nothing fetched from elsewhere
    assert "&lt;script&gt;" in html and "&lt;b&gt;không&lt;/b&gt; &amp;" in html
    assert html.count("<script>") == 1                            # only the report's own filter
    assert html.count('data-verdict="fail"') == 2 and 'id="f-text"' in html
    assert "Tỷ lệ đạt" in html and "lẽ ra phải từ chối" in html


def test_gold_errors_are_one_line_user_errors(tmp_path):
    bad = tmp_path / "gold.yaml"
    bad.write_text('- id: g1\n  question: "x"\n  abstian: true\n', encoding="utf-8")
    result = invoke("eval", bad, "--rest", "http://127.0.0.1:9/")
    assert result.exit_code == 1
    expected = (f"Error: {bad}:3: item g1: unknown key 'abstian' in an item (allowed: abstain, expected_docs, "
                "feedback, id, kind, must_contain, note, question, source, source_quote)")
    assert result.stderr.strip().splitlines() == [expected]
    missing = invoke("eval", tmp_path / "nope.yaml")
    assert missing.exit_code == 1 and "cannot read" in missing.stderr


def test_bad_rest_url_is_a_usage_error(gold):
    result = invoke("eval", gold, "--rest", "localhost:5005")
    assert result.exit_code == 2 and "http://" in result.stderr


def test_unreachable_assistant_is_a_user_error(gold):
    with FakeAssistant() as server:
        url = server.base + "/api/chat"
    result = invoke("eval", gold, "--rest", url)
    assert result.exit_code == 1 and "cannot reach" in result.stderr
