"""Internal documents are for officials only. An input's access level is stated at ingest
(`--access internal`, or an access.yaml beside it) and recorded in the index; a citizen (the public
audience, the default) never gets an internal passage — not in search hits, answers, citations,
task lists or document descriptions — and is not told one exists; an official gets both. The
internal test document (tests/data/internal, written for these tests) assigns Sở Y tế a task about
rabies vaccine ("vắc xin dại") that no public document mentions."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import REPO
from fakes import HashingEmbedder

from retrieval.errors import InputError
from retrieval.pipeline import ingest
from retrieval.schema import INTERNAL, PUBLIC
from retrieval.service import Retrieval

INTERNAL_DIR = REPO / "tests" / "data" / "internal"
INTERNAL_NUMBER = "512/TB-UBND"
QUESTION = "Ai chủ trì rà soát vắc xin dại?"
QUOTE = "dự trù kinh phí mua bổ sung vắc xin dại"


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, corpus_files):
    """The sample weeks (public) and the internal notice, whose access.yaml says `internal`."""
    root = tmp_path_factory.mktemp("mixed") / "index"
    ingest([*corpus_files, INTERNAL_DIR], root, HashingEmbedder())
    return root


@pytest.fixture(scope="module")
def citizen(mixed_index):
    return Retrieval(mixed_index, embedder=HashingEmbedder())


@pytest.fixture(scope="module")
def official(citizen):
    return citizen.view("official")


def everything_a_citizen_can_read(retrieval: Retrieval) -> str:
    """Every text a citizen could receive about the internal topic, through every entry point."""
    parts = []
    for query in (QUESTION, "vắc xin dại", "giao ban phòng chống bệnh dại", INTERNAL_NUMBER):
        parts += [hit.passage.text for hit in retrieval.search(query, k=50)]
        answer = retrieval.ask(query)
        parts += [answer.answer, *(c.quote for c in answer.citations), *(c.doc_number or "" for c in answer.citations)]
    parts += [m.task.quote for m in retrieval.tasks.tasks_of("Sở Y tế")]
    parts += [m.task.quote for m in retrieval.tasks.find(query="vắc xin dại")]
    parts += [n for n in retrieval.documents.resolve(f"Thông báo {INTERNAL_NUMBER}")]
    info = retrieval.documents.get(INTERNAL_NUMBER)
    parts += [info.summary] if info else []
    return "\n".join(p for p in parts if p)


def test_the_access_level_is_recorded_per_input(citizen):
    levels = {p.access for p in citizen.index.passages if p.doc_number == INTERNAL_NUMBER}
    assert levels == {INTERNAL}
    assert {p.access for p in citizen.index.passages if p.doc_number != INTERNAL_NUMBER} == {PUBLIC}
    assert {e.access for e in citizen.index.manifest.inputs} == {PUBLIC, INTERNAL}


def test_a_citizen_never_reads_the_internal_document_anywhere(citizen):
    seen = everything_a_citizen_can_read(citizen)
    assert QUOTE not in seen and INTERNAL_NUMBER not in seen and "vắc xin dại" not in seen


def test_asked_by_number_a_citizen_is_told_what_an_unknown_number_gets(citizen):
    # Not "that document is internal": the same as for a number no document has.
    internal = citizen.ask(f"Thông báo {INTERNAL_NUMBER} nói gì?")
    unknown = citizen.ask("Thông báo 999/TB-UBND nói gì?")
    assert internal.abstained and unknown.abstained and internal.answer == unknown.answer
    with pytest.raises(InputError) as hidden:
        citizen.searcher.resolve_document(INTERNAL_NUMBER)
    with pytest.raises(InputError) as unknown_error:
        citizen.searcher.resolve_document("999/TB-UBND")
    assert str(hidden.value).replace(INTERNAL_NUMBER, "N") == str(unknown_error.value).replace("999/TB-UBND", "N")


def test_an_official_gets_the_internal_answer_marked_as_such(official):
    answer = official.ask(QUESTION)
    assert not answer.abstained and "Sở Y tế" in answer.answer
    assert answer.citations[0].doc_number == INTERNAL_NUMBER and answer.citations[0].access == INTERNAL
    leads = [t for t in official.tasks.tasks_of("Sở Y tế") if t.task.doc_number == INTERNAL_NUMBER]
    assert leads and leads[0].task.access == INTERNAL


def test_a_hidden_passage_never_displaces_a_public_one(citizen, official):
    # The citizen's top results are the public ones the official also gets, in the same order.
    public_of_official = [h.passage.id for h in official.search("phòng chống dịch bệnh", k=40)
                          if h.passage.access == PUBLIC][:10]
    assert [h.passage.id for h in citizen.search("phòng chống dịch bệnh", k=10)] == public_of_official


def test_views_share_the_loaded_index_and_model(citizen, official):
    assert official.index is citizen.index and official.view("public") is citizen
    assert official.embedder is citizen.embedder
    with pytest.raises(ValueError):
        citizen.view("admin")


def test_a_plain_re_ingest_keeps_the_level_and_a_stated_one_relabels_without_embedding(tmp_path, corpus_files):
    folder = tmp_path / "noi-bo"
    shutil.copytree(INTERNAL_DIR, folder)
    root = tmp_path / "index"
    ingest([corpus_files[0], folder], root, HashingEmbedder())
    again = ingest([folder / "thong-bao-ket-luan-giao-ban.txt"], root, HashingEmbedder())   # its sidecar still says so
    assert again.relabeled == [] and not again.added
    (folder / "access.yaml").unlink()
    plain = ingest([folder], root, HashingEmbedder())       # nothing states a level: it stays internal
    assert plain.relabeled == [] and Retrieval(root, embedder=HashingEmbedder()).view("official").tasks.find(
        query="vắc xin dại")[0].task.access == INTERNAL
    stated = ingest([folder], root, HashingEmbedder(), access=PUBLIC)
    assert stated.relabeled and stated.passages_embedded == 0
    assert "vắc xin dại" in Retrieval(root, embedder=HashingEmbedder()).ask(QUESTION).answer


def test_a_bad_access_file_or_level_is_refused_before_anything_is_written(tmp_path, corpus_files):
    folder = tmp_path / "docs"
    shutil.copytree(INTERNAL_DIR, folder)
    (folder / "access.yaml").write_text("access: secret\n", encoding="utf-8")
    with pytest.raises(InputError, match="access must be one of public, internal"):
        ingest([folder], tmp_path / "index", HashingEmbedder())
    with pytest.raises(InputError, match="--access"):
        ingest([corpus_files[0]], tmp_path / "index", HashingEmbedder(), access="confidential")
    assert not (tmp_path / "index").exists()


# -- the commands: `--as public` (the default) and `--as official` ----------------------------------------

def test_the_tasks_command_lists_internal_tasks_to_officials_only(mixed_index):
    from test_cli import invoke

    def numbers(*audience: str) -> set[str]:
        result = invoke("tasks", "--agency", "Sở Y tế", "--json", "--index", str(mixed_index), *audience)
        assert result.exit_code == 0, result.output
        return {json.loads(line)["doc_number"] for line in result.output.splitlines()}

    assert INTERNAL_NUMBER not in numbers() and numbers("--as", "public") == numbers()
    assert numbers("--as", "official") == numbers() | {INTERNAL_NUMBER}


def test_a_citizens_report_leaves_out_internal_tasks_and_an_officials_has_them(mixed_index, tmp_path):
    from docx import Document
    from test_cli import invoke

    def text_of(audience: str) -> str:
        out = tmp_path / f"{audience}.docx"
        result = invoke("report", "--agency", "Sở Y tế", "--as", audience, "--today", "2024-06-20",
                        "--index", str(mixed_index), "--out", str(out))
        assert result.exit_code == 0, result.output
        document = Document(str(out))
        return "\n".join([p.text for p in document.paragraphs]
                         + [cell.text for table in document.tables for row in table.rows for cell in row.cells])

    public, official = text_of("public"), text_of("official")
    assert QUOTE not in public and INTERNAL_NUMBER not in public and "Nội bộ" not in public
    # The official's copy marks the internal document as chat does, and says how many tasks must stay inside.
    internal_rows = [line for line in official.splitlines() if INTERNAL_NUMBER in line]
    assert internal_rows and all(line.lstrip("0123456789. ").startswith("[Nội bộ]") for line in internal_rows)
    assert "Có 1 nhiệm vụ theo văn bản nội bộ" in official


# -- the dialogue: the action server answers each user as who they are ----------------------------------

@pytest.fixture
def conversation_as(mixed_index, tmp_path):
    """A conversation with every custom action, as ``sender``; tg:1 is the only official."""
    from action_turns import ActionConversation
    from actions.assistant import Assistant, pinned_or_real_today
    from actions.officials import Officials
    from actions.server import actions_for
    from retrieval.feedback import FeedbackStore

    retrieval = Retrieval(mixed_index, embedder=HashingEmbedder())
    assistant = Assistant(lambda: retrieval, FeedbackStore(tmp_path / "feedback.sqlite3"),
                          pinned_or_real_today("2024-06-20"), Officials("tg:1"))
    actions = {action.name(): action for action in actions_for(assistant)}
    return lambda sender: ActionConversation(actions, sender=sender)


def test_an_official_in_chat_gets_the_internal_answer_marked_noi_bo(conversation_as):
    reply = conversation_as("tg:1").say(QUESTION, "ask_responsible", "action_answer_responsible")
    assert INTERNAL_NUMBER in reply.text and "[Nội bộ]" in reply.text and reply.cited == [INTERNAL_NUMBER]


def test_a_citizen_in_chat_never_gets_it_through_any_action(conversation_as):
    turns = [(QUESTION, "ask_responsible", "action_answer_responsible"),
             ("Hạn chót rà soát vắc xin dại khi nào?", "ask_deadline", "action_answer_deadline"),
             ("Sở Y tế được giao những việc gì?", "agency_tasks", "action_agency_tasks"),
             ("vắc xin dại", "ask_directive", "action_answer_directive"),
             ("Tuần này có chỉ đạo gì mới?", "latest_directives", "action_latest_directives")]
    for sender in ("tg:2", "web:someone", "zalo:1"):
        conversation = conversation_as(sender)
        for text, intent, action in turns:
            reply = conversation.say(text, intent, action)
            shown = reply.text + "".join(str(c) for c in reply.citations)
            assert INTERNAL_NUMBER not in shown and "vắc xin dại" not in shown and "Nội bộ" not in shown, (text, shown)
        # Asked by its number: the reply an unknown number gets (the user's own words echoed, nothing more).
        described = conversation.say(f"Thông báo {INTERNAL_NUMBER} nói gì?", "ask_document", "action_describe_document")
        unknown = conversation_as(sender).say("Thông báo 999/TB-UBND nói gì?", "ask_document",
                                              "action_describe_document")
        assert described.text.replace(INTERNAL_NUMBER, "N") == unknown.text.replace("999/TB-UBND", "N")
        assert not described.citations


def test_the_officials_file_is_re_read_when_it_changes(tmp_path):
    from actions.officials import Officials

    listing = tmp_path / "officials.txt"
    listing.write_text("# Văn phòng UBND tỉnh\ntg:1\n", encoding="utf-8")
    officials = Officials(str(listing))
    assert officials.audience("tg:1") == "official" and officials.audience("tg:2") == "public"
    listing.write_text("tg:2  # chuyên viên\n", encoding="utf-8")
    os.utime(listing, (1, 1))     # a new modification time, as any edit gives
    assert officials.audience("tg:1") == "public" and officials.audience("tg:2") == "official"
    listing.unlink()
    assert officials.audience("tg:2") == "public"
    assert Officials(None).audience("tg:1") == "public" and Officials("tg:1, zalo:9").audience("zalo:9") == "official"
