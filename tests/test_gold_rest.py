"""The REST runner against a fake assistant on localhost: both reply shapes, senders, errors."""
from __future__ import annotations

import pytest

from gold_fakes import FakeAssistant
from retrieval.goldset.evaluate import SKIP_MULTI_TURN, run_gold
from retrieval.goldset.load import loads_gold
from retrieval.goldset.model import ERROR
from retrieval.goldset.runners import (InProcessRunner, RestRunner, RunnerError, UnreachableError,
                                       parse_rest_reply)

GOLD = """\
- id: g1
  question: "Tỉnh chỉ đạo gì về sốt xuất huyết?"
  kind: document
  expected_docs: ["704/UBND-KGVX"]
  source_quote: "sốt xuất huyết"
- id: u1
  question: "Giá xăng hôm nay?"
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
- id: m2
  turns:
    - question: "Ai chủ trì?"
      must_contain: ["Sở Y tế"]
      source_quote: "Sở Y tế chủ trì"
"""


@pytest.fixture
def fake():
    with FakeAssistant() as server:
        yield server


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/api/chat"])
def test_both_shapes_are_understood(fake, path):
    runner = RestRunner(fake.base + path)
    result = run_gold(loads_gold(GOLD), runner)
    by_id = {u.unit_id: u for u in result.units}
    assert by_id["g1"].passed and by_id["g1"].citations[0]["doc_number"] == "704/UBND-KGVX"
    assert "sốt xuất huyết" in by_id["g1"].answer and by_id["g1"].latency_ms > 0
    assert by_id["u1"].passed and by_id["u1"].abstained
    # A conversation keeps its sender: the follow-up is answered from the first turn's topic.
    assert by_id["m1#1"].passed and by_id["m1#2"].passed
    # Another item starts a fresh conversation: the same follow-up has no topic there.
    assert not by_id["m2#1"].passed and by_id["m2#1"].abstained
    senders = [r["sender"] for r in fake.requests]
    assert senders[2] == senders[3]
    assert len({senders[0], senders[1], senders[2], senders[4]}) == 4
    assert fake.requests[0]["message"] == "Tỉnh chỉ đạo gì về sốt xuất huyết?"
    assert fake.requests[0]["authorization"] is None


def test_the_gateways_api_key_is_sent_as_a_bearer_token(fake):
    """The gateway keeps an integration's senders (a browser's are its own cookie): `trolyao eval`
    passes TROLYAO_API_KEY on."""
    RestRunner(fake.base + "/api/chat", api_key="k-123").ask("s1", "Ai chủ trì?")
    assert fake.requests[-1]["authorization"] == "Bearer k-123" and fake.requests[-1]["sender"] == "s1"


def test_rasa_shape_concatenates_texts_and_reads_custom_payloads():
    data = [{"text": "Dòng một", "buttons": [{"title": "👍"}]}, {"text": "Dòng hai"},
            {"custom": {"citations": [{"doc_number": "1/A-B"}], "abstained": False}},
            {"custom": {"citations": [{"doc_number": "2/A-B"}]}}]
    reply = parse_rest_reply(data)
    assert reply.text == "Dòng một\nDòng hai" and reply.cited_docs() == ["1/A-B", "2/A-B"] and not reply.abstained
    assert parse_rest_reply([{"text": "x"}, {"custom": {"abstained": True}}]).abstained


def test_gateway_shape():
    reply = parse_rest_reply({"messages": [{"text": "a", "buttons": [], "citations": [{"doc_number": "1/A-B"}],
                                            "abstained": False}, {"text": "b"}]})
    assert reply.text == "a\nb" and reply.cited_docs() == ["1/A-B"]


@pytest.mark.parametrize("data", [{"text": "x"}, "x", [1], [{"custom": "x"}], {"messages": [{"citations": "x"}]}])
def test_malformed_replies_are_runner_errors(data):
    with pytest.raises(RunnerError):
        parse_rest_reply(data)


@pytest.mark.parametrize("path,fragment", [("/broken", "HTTP 500"), ("/garbage", "not JSON")])
def test_a_failing_question_is_judged_as_an_error(fake, path, fragment):
    result = run_gold(loads_gold(GOLD), RestRunner(fake.base + path))
    assert all(u.reasons == [ERROR] and fragment in u.detail and not u.passed for u in result.units)


def test_unreachable_assistant_stops_the_run(fake):
    url = fake.base + "/api/chat"
    fake.__exit__(None, None, None)     # nothing listens there any more
    with pytest.raises(UnreachableError, match="cannot reach"):
        RestRunner(url).ask("s", "q")


class CannedService:
    """Stands in for Retrieval: an Answer-like object with to_dict()."""

    class _Answer:
        def to_dict(self):
            return {"question": "q", "answer": "Sở Y tế chủ trì", "abstained": False,
                    "citations": [{"doc_number": "704/UBND-KGVX", "quote": "Sở Y tế chủ trì"}]}

    def ask(self, question):
        return self._Answer()


def test_in_process_runner_skips_conversations_with_a_note():
    result = run_gold(loads_gold(GOLD), InProcessRunner(CannedService()))
    by_id = {u.unit_id: u for u in result.units}
    assert by_id["g1"].passed and not by_id["g1"].skipped
    assert by_id["m1#1"].skipped and by_id["m1#2"].skipped and by_id["m1#1"].detail == SKIP_MULTI_TURN
    assert not by_id["u1"].passed
