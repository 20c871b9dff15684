"""`make loadtest`'s own logic, without servers: the conversations it builds from the index, how it
judges a reply, Rasa's tracker order, the figures, and the launcher's isolation from a running
`make run`. (The load itself is a benchmark: `python -m bot.loadtest`, not a timed test.)"""
from __future__ import annotations

import argparse
import asyncio
import json

import httpx
import pytest

from bot.gateway import APOLOGY, RATE_LIMITED
from bot.loadtest import (ISSUED, ISSUER, LEAD, SIGNER, Conversation, Document, Launcher, Script, Turn, ask,
                          index_documents, judge, kill_time, latency_figures, order_problem, rate_limit_problem,
                          ratios, scripts_for, summarize, think_range, verify_order, worker_urls)


def test_each_document_gets_a_four_turn_follow_up_conversation():
    scripts = scripts_for([Document("2625/VP-KT", "Công văn", frozenset({"Sở Xây dựng"})),
                           Document("146/KH-UBND", "Kế hoạch", frozenset({"Sở Nội vụ", "Sở Y tế"})),
                           Document("924/QĐ-UBND", "Quyết định"), Document("12/TB", None)])
    assert scripts[0] == Script("2625/VP-KT", ("Công văn 2625/VP-KT nói gì?", SIGNER, ISSUED, LEAD))
    # Several leads: the dialogue asks which task; none: nothing to say. Both ask for the issuer.
    assert [s.turns[3] for s in scripts[1:]] == [ISSUER, ISSUER, ISSUER]
    assert scripts[3].turns[0] == "Văn bản 12/TB nói gì?"
    assert all(len(set(s.turns)) == 4 for s in scripts)     # distinct: the tracker check relies on it


def test_the_scripts_come_from_the_documents_the_index_holds(hashing_index):
    documents = {d.number: d for d in index_documents(hashing_index)}
    assert documents["704/UBND-KGVX"].doc_type == "Công văn"
    assert documents["704/UBND-KGVX"].leads == {"Sở Y tế", "UBND các huyện, thành phố"}
    assert documents["2625/VP-KT"].leads == {"Sở Xây dựng"}
    assert "128/NQ-CP" not in documents       # only mentioned by a bulletin: nothing of its own to say
    assert None not in documents


def reply(*messages: dict) -> dict:
    return {"messages": [{"text": "", "buttons": [], "citations": [], "abstained": None, **m} for m in messages]}


def test_a_follow_up_keeps_its_context_when_its_reply_cites_the_document():
    cites = reply({"text": "Bản tin không ghi người ký …", "citations": [{"doc_number": "704/UBND-KGVX"}]})
    assert judge(200, cites, "704/UBND-KGVX") == (None, False)
    assert judge(200, cites, "704/ubnd-kgvx") == (None, False)        # numbers compare as the judge's keys
    assert judge(200, reply({"text": "Sở Xây dựng chủ trì", "citations": [{"doc_number": "2625/VP-KT"}]}),
                 "704/UBND-KGVX") == (None, True)
    assert judge(200, reply({"text": "Có nhiều việc khớp …", "buttons": [{"title": "1"}]}),
                 "704/UBND-KGVX") == (None, True)
    assert judge(200, reply({"text": "Xin chào"}), None) == (None, False)     # a first turn: nothing to keep


def test_failures_are_errors_not_lost_context():
    assert judge(200, reply({"text": APOLOGY}), "704/UBND-KGVX") == ("apology", False)
    assert judge(200, reply({"text": RATE_LIMITED}), "704/UBND-KGVX") == ("rate limited", False)
    assert judge(503, None, "704/UBND-KGVX") == ("HTTP 503", False)
    assert judge(200, {"messages": []}, None) == ("empty reply", False)
    assert judge(200, None, None) == ("empty reply", False)


def tracker(*user_texts: str) -> list[dict]:
    """Events as Rasa's GET /conversations/{id}/tracker?include_events=ALL gives them."""
    events = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
              {"event": "action", "name": "action_listen"}]
    for text in user_texts:
        events += [{"event": "user", "text": text, "parse_data": {"intent": {"name": "ask_document"}}},
                   {"event": "user_featurization"}, {"event": "action", "name": "action_describe_document"},
                   {"event": "bot", "text": f"re: {text}"}, {"event": "slot", "name": "focus_doc", "value": "1/X"},
                   {"event": "action", "name": "action_listen"}]
    return events


SENT = ["A nói gì?", SIGNER, ISSUED, LEAD]


def test_the_tracker_holds_each_message_once_in_the_order_sent():
    assert order_problem(SENT, tracker(*SENT)) is None
    assert order_problem(SENT, tracker(SENT[0], SENT[2], SENT[1], SENT[3])) == f"{ISSUED!r} before {SIGNER!r}"
    assert order_problem(SENT, tracker(SENT[0], SENT[1], SENT[1], SENT[2], SENT[3])) == \
        f"{SIGNER!r} twice or out of order"
    assert order_problem(SENT, tracker(*SENT[:3])) == f"{LEAD!r} missing"
    assert order_problem(SENT, tracker(*SENT, "xin chào")) == "'xin chào' never sent in this conversation"
    assert order_problem(SENT, []) == f"{SENT[0]!r} missing"      # Rasa never saw the conversation


def test_a_failed_turn_may_be_missing_from_the_tracker_but_not_misplaced():
    assert order_problem(SENT, tracker(SENT[0], SENT[2], SENT[3]), unsure={1}) is None
    assert order_problem(SENT, tracker(*SENT), unsure={1}) is None    # Rasa took it after the gateway gave up
    assert order_problem(SENT, tracker(SENT[0], SENT[2], SENT[1], SENT[3]), unsure={1}) is not None
    assert order_problem(SENT, tracker(SENT[0], SENT[3]), unsure={1}) == f"{LEAD!r} before {ISSUED!r}"


def test_percentiles_ratios_and_options():
    figures = latency_figures([float(v) for v in range(100, 0, -1)])
    assert figures == {"n": 100, "p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}
    assert latency_figures([]) == {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    single = {"p50_ms": 100.0, "p95_ms": 400.0, "p99_ms": None}
    scaled = {"p50_ms": 50.0, "p95_ms": 600.0, "p99_ms": 9.0}
    assert ratios(single, scaled) == {"p50": 0.5, "p95": 1.5, "p99": None}
    assert think_range("1-3") == (1.0, 3.0) and think_range("2") == (2.0, 2.0) and think_range("0.5–1") == (0.5, 1.0)
    with pytest.raises(argparse.ArgumentTypeError):
        think_range("3-1")
    assert (kill_time("off"), kill_time("half"), kill_time("150")) == (None, "half", 150.0)
    assert worker_urls("run: Rasa workers http://127.0.0.1:5 http://127.0.0.1:6; action servers http://127.0.0.1:7") \
        == (["http://127.0.0.1:5", "http://127.0.0.1:6"], ["http://127.0.0.1:7"])
    assert worker_urls("run: Rasa workers http://127.0.0.1:5 http://127.0.0.1:6; action servers at "
                       "http://127.0.0.1:7 (each: http://127.0.0.1:8 http://127.0.0.1:9)") \
        == (["http://127.0.0.1:5", "http://127.0.0.1:6"], ["http://127.0.0.1:8", "http://127.0.0.1:9"])
    assert worker_urls("[rasa-1] INFO root: Starting Rasa server") is None


def test_the_gateways_default_rate_limit_lets_a_conversation_through():
    assert rate_limit_problem("12/minute", 4, 1.0) is None
    assert rate_limit_problem("3/minute", 4, 1.0) == \
        "rate limit '3/minute' allows 3 messages a sender, a conversation sends 4"
    assert rate_limit_problem("1/second", 4, 2.0) is None           # never two within a second
    assert rate_limit_problem("1/second", 4, 0.5) is not None


def conversation(sender: str, *turns: Turn, order: str | None = None) -> Conversation:
    return Conversation(sender, Script("1/X", tuple(t.text for t in turns)), list(turns), True, order)


def test_a_kill_counts_the_conversations_running_from_then_on_that_met_trouble():
    done_before = conversation("a", Turn("q", 1.0, 100.0), Turn(SIGNER, 3.0, 100.0, error="apology"))
    errored = conversation("b", Turn("q", 8.0, 100.0), Turn(SIGNER, 11.0, None, error="ConnectError"))
    lost = conversation("c", Turn("q", 9.0, 100.0), Turn(SIGNER, 12.0, 300.0, lost_context=True))
    fine = conversation("d", Turn("q", 9.5, 200.0), Turn(SIGNER, 9.9, 150.0))     # ends at 10.05: after the kill
    shuffled = conversation("e", Turn("q", 12.0, 100.0), Turn(SIGNER, 14.0, 100.0), order="'q' missing")
    result = summarize([done_before, errored, lost, fine, shuffled], 20.0, {"at": 10.0, "killed": ["rasa-1 (pid 1)"]})
    assert result["errors"] == 2 and result["error_kinds"] == {"apology": 1, "ConnectError": 1}
    assert (result["lost_context"], result["follow_ups"], result["out_of_order"]) == (1, 5, 1)
    assert result["latency"]["n"] == 9                     # every round trip with an HTTP reply
    kill = result["kill"]
    assert (kill["conversations_from_kill"], kill["affected"]) == (4, 3)
    assert (kill["with_errors"], kill["with_lost_context"], kill["out_of_order"]) == (1, 1, 1)
    assert kill["latency_before"]["n"] == 5                # answered before 10 s


def test_a_round_trip_is_timed_and_judged():
    def gateway(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["message"] == "down":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=reply({"text": APOLOGY}))

    async def both() -> tuple[Turn, Turn]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as http:
            return (await ask(http, "http://gw", "s", "hỏi", "1/X", lambda: 2.5),
                    await ask(http, "http://gw", "s", "down", "1/X", lambda: 3.0))

    apology, refused = asyncio.run(both())
    assert apology.error == "apology" and apology.at == 2.5 and apology.latency_ms is not None
    assert refused.error == "ConnectError" and refused.latency_ms is None


def test_the_order_is_read_from_the_first_rasa_worker_that_answers():
    asked = []

    def rasa(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.host, request.url.path, request.url.params.get("include_events")))
        if request.url.host == "dead":
            raise httpx.ConnectError("killed")
        return httpx.Response(200, json={"sender_id": "web:u-1", "events": tracker("q", SIGNER)})

    talked = conversation("u-1", Turn("q", 0, 1), Turn(SIGNER, 1, 1))
    talked.verified = False
    shuffled = conversation("u-2", Turn(SIGNER, 0, 1), Turn("q", 1, 1))
    shuffled.verified = False

    async def check() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as http:
            await verify_order(http, ["http://dead:1", "http://alive:2"], [talked, shuffled])

    asyncio.run(check())
    assert talked.verified and talked.order is None
    assert shuffled.verified and shuffled.order == f"'q' before {SIGNER!r}"
    assert ("alive", "/conversations/web:u-1/tracker", "ALL") in asked and ("dead", "/conversations/web:u-1/tracker",
                                                                             "ALL") in asked


def test_each_mode_runs_on_its_own_ports_and_data_without_the_callers_channels(monkeypatch, tmp_path):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:real-token")
    monkeypatch.setenv("MESSENGER_PAGE_ACCESS_TOKEN", "EAAreal-page-token")
    monkeypatch.setenv("TROLYAO_RASA_WORKER_URLS", "http://127.0.0.1:5005")
    monkeypatch.setenv("TROLYAO_DATA", str(tmp_path / "users-data"))
    launcher = Launcher(scaled=True, index=tmp_path / "index")
    try:
        env = launcher.service.env
        assert "TELEGRAM_BOT_TOKEN" not in env and "MESSENGER_PAGE_ACCESS_TOKEN" not in env
        assert "TROLYAO_RASA_WORKER_URLS" not in env
        assert env["TROLYAO_ENV_FILE"] == "" and env["TROLYAO_INDEX"] == str(tmp_path / "index")
        assert env["TROLYAO_DATA"] == str(launcher.data) != str(tmp_path / "users-data")
        ports = [env["TROLYAO_PORT"], *(env[k].rsplit(":", 1)[1].split("/")[0] for k in
                                         ("TROLYAO_RASA_URL", "TROLYAO_ACTION_SERVER_URL", "TROLYAO_REDIS_URL",
                                          "TROLYAO_DATABASE_URL"))]
        assert len(set(ports)) == 5 and not {"8080", "5005", "5055", "6380", "5433"} & set(ports)
    finally:
        launcher.stop()
    assert not launcher.data.exists()
