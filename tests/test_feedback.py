"""Feedback store (SQLite, concurrent writers) and `trolyao feedback export` into candidate gold items."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from retrieval.cli import cli
from retrieval.errors import InputError
from retrieval.feedback import FeedbackRecord, FeedbackStore, default_feedback_path
from retrieval.goldset.load import load_gold, loads_gold


def rec(rating="down", question="Ai chủ trì?", created_at="", conversation_id="c1", answer="Sở Nội vụ chủ trì."):
    return FeedbackRecord(conversation_id=conversation_id, rating=rating, question=question, answer=answer,
                          citations=[{"doc_number": "146/KH-UBND", "quote": "…"}], created_at=created_at)


def test_default_path_follows_env_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TROLYAO_FEEDBACK", raising=False)
    assert default_feedback_path() == tmp_path / "xdg" / "trolyao" / "feedback.sqlite3"
    monkeypatch.setenv("TROLYAO_FEEDBACK", str(tmp_path / "fb.db"))
    assert default_feedback_path() == tmp_path / "fb.db"
    monkeypatch.delenv("TROLYAO_FEEDBACK")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_feedback_path() == tmp_path / "home" / ".local" / "share" / "trolyao" / "feedback.sqlite3"


def test_store_creates_parent_dirs_and_round_trips(tmp_path):
    store = FeedbackStore(tmp_path / "a" / "b" / "fb.sqlite3")
    record = rec()
    store.record(record)
    assert record.created_at.endswith("+00:00")                 # filled, UTC
    [back] = store.records()
    assert back == record and back.citations[0]["doc_number"] == "146/KH-UBND"


def test_default_store_lives_under_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    FeedbackStore().record(rec())
    assert (tmp_path / "trolyao" / "feedback.sqlite3").exists()


def test_filters_by_date_and_rating(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record(rec("up", created_at="2024-05-31T23:00:00+00:00"))
    store.record(rec("down", created_at="2024-06-01T08:00:00+07:00"))     # 01:00 UTC
    store.record(rec("abstained", created_at="2024-06-02T10:00:00Z"))
    assert [r.rating for r in store.records(since="2024-06-01")] == ["down", "abstained"]
    assert [r.rating for r in store.records(since="2024-06-01T12:00:00+00:00")] == ["abstained"]
    assert [r.rating for r in store.records(ratings=["up", "abstained"])] == ["up", "abstained"]
    assert store.records(ratings=[]) == []
    assert store.records()[1].created_at == "2024-06-01T01:00:00+00:00"


@pytest.mark.parametrize("bad", [rec(rating="meh"), rec(created_at="hôm qua")])
def test_bad_records_are_refused(tmp_path, bad):
    with pytest.raises(InputError):
        FeedbackStore(tmp_path / "fb.sqlite3").record(bad)


def test_bad_filters_are_refused(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with pytest.raises(InputError):
        store.records(since="01/06/2024")
    with pytest.raises(InputError):
        store.records(ratings=["meh"])


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "fb.sqlite3"
    errors = []

    def writer(n):
        try:
            store = FeedbackStore(path)       # each writer opens its own store, as separate processes do
            for i in range(25):
                store.record(rec(conversation_id=f"w{n}-{i}"))
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ids = [r.conversation_id for r in FeedbackStore(path).records()]
    assert len(ids) == 200 and len(set(ids)) == 200


def export(db, *args):
    return CliRunner().invoke(cli, ["feedback", "export", "--db", str(db), *map(str, args)], catch_exceptions=False)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "fb.sqlite3"
    store = FeedbackStore(path)
    store.record(rec("up", "Ai chủ trì Kế hoạch 146?", "2024-06-01T08:00:00+00:00", "c0"))
    store.record(rec("down", "Ai chủ trì Kế hoạch 146?", "2024-06-01T09:00:00+00:00", "c1"))
    store.record(rec("down", "ai chủ trì  kế hoạch 146?", "2024-06-01T10:00:00+00:00", "c2", "Sai rồi"))
    store.record(rec("abstained", "Giá xăng hôm nay?", "2024-06-01T11:00:00+00:00", "c3", "Xin lỗi …"))
    store.record(rec("abstained", "Lịch cắt điện tuần này?", "2024-06-03T11:00:00+00:00", "c4", "Xin lỗi …"))
    return path


def test_export_writes_down_and_abstained_as_candidates(db, tmp_path):
    out = tmp_path / "candidates.yaml"
    result = export(db, "--out", out)
    assert result.exit_code == 0 and "3 candidate items from 4 records" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert "- id: c-2024-06-01-1\n" in text and "- id: c-2024-06-01-2\n" in text and "- id: c-2024-06-03-1\n" in text
    assert 'conversation_ids: ["c1", "c2"]' in text and 'answer_given: "Sai rồi"' in text
    assert "kind: feedback" in text and "kind: abstained" in text
    assert "c0" not in text                                     # a 👍 is not a candidate
    # Unreviewed candidates do not load: the loader asks for their expectations.
    with pytest.raises(InputError, match=r"candidates.yaml:\d+: item c-2024-06-01-1: .*expects an answer"):
        load_gold(out)


def test_a_reviewer_only_edits_values_for_candidates_to_load(db, tmp_path):
    header, *blocks = export(db).stdout.split("\n- id: ")
    # The first candidate is answerable: expectations and the quote filled in.
    blocks[0] = blocks[0].replace("expected_docs: []", 'expected_docs: ["146/KH-UBND"]')
    blocks[0] = blocks[0].replace('source_quote: ""', 'source_quote: "Sở Nội vụ (Ban Thi đua - Khen thưởng) chủ trì"')
    # The others are not answered by any bulletin: the reviewer sets abstain: true.
    blocks[1:] = [block.replace("abstain: false", "abstain: true") for block in blocks[1:]]
    items = loads_gold("\n- id: ".join([header, *blocks]), "candidates.yaml")
    assert [i.id for i in items] == ["c-2024-06-01-1", "c-2024-06-01-2", "c-2024-06-03-1"]
    first = items[0]
    assert first.turns[0].expected_docs == ("146/KH-UBND",) and first.feedback["conversation_ids"] == ["c1", "c2"]
    assert items[1].turns[0].abstain and items[1].kind == "abstained"


def test_export_since(db):
    text = export(db, "--since", "02/06/2024").stdout
    assert "c-2024-06-03-1" in text and "c-2024-06-01" not in text


def test_export_without_database_is_a_user_error(tmp_path):
    result = export(tmp_path / "none.sqlite3")
    assert result.exit_code == 1 and "no feedback database" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_export_with_bad_date_is_a_usage_error(db):
    assert export(db, "--since", "hôm qua").exit_code == 2
