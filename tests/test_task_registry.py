"""The task registry over the sample bulletins: lookups by agency, document, deadline, and words.

Tasks are extracted from the text and matched by words, never by embeddings: the fast test index
holds the same registry as one built with the real model."""
from __future__ import annotations

import pytest

from retrieval.tasks.registry import TaskRegistry, status
from retrieval.schema import Task


@pytest.fixture(scope="module")
def registry(hashing_index):
    from retrieval.tasks.store import load_registry

    return load_registry(hashing_index)


def test_who_leads_dengue_prevention(registry):
    best = registry.who_leads("Ai chủ trì đánh giá tình hình dịch bệnh sốt xuất huyết?")[0].task
    assert (best.lead, best.doc_number) == ("Sở Y tế", "704/UBND-KGVX")
    assert "Các cơ quan liên quan" in best.partners


@pytest.mark.parametrize("spelling", ["Sở Y tế", "so y te", "SỞ Y TẾ"])
def test_agency_lookup_accepts_any_spelling_and_reports_roles(registry, spelling):
    matches = registry.tasks_of(spelling)
    assert {m.task.doc_number for m in matches} >= {"704/UBND-KGVX", "2792/VP-KGVX", "117/KH-UBND"}
    assert all(m.role in ("lead", "partner", "assignee") for m in matches)
    assert any(m.role == "lead" for m in matches)


def test_abbreviation_and_successor_lookup(registry):
    by_abbreviation = registry.tasks_of("Sở TT&TT")
    assert {m.task.doc_number for m in by_abbreviation} >= {"706/UBND-KGVX"}
    # Asking for today's body finds the tasks of the one it took over, and says so.
    via = registry.tasks_of("Sở Khoa học và Công nghệ")
    assert any(m.task.doc_number == "706/UBND-KGVX" and m.via_successor for m in via)
    assert by_abbreviation[0].task.successor == "Sở Khoa học và Công nghệ"


def test_document_and_deadline_filters(registry):
    tasks = [m.task for m in registry.find(doc="723")]
    assert tasks and all(t.doc_number == "723/UBND-KT" for t in tasks)
    assert any(t.deadline_date == "2024-06-10" for t in tasks)
    due = registry.find(due_after="2024-06-01", due_before="2024-06-10")
    assert due and all("2024-06-01" <= m.task.deadline_date <= "2024-06-10" for m in due)


def test_due_soon_and_status(registry):
    soon = registry.due_soon("2024-06-05")
    assert soon and all(m.status == "due_soon" for m in soon)
    assert {m.task.deadline_date for m in soon} <= {f"2024-06-{d:02d}" for d in range(5, 13)}


@pytest.mark.parametrize("deadline,expected", [
    ("2024-06-01", "overdue"), ("2024-06-07", "due_soon"), ("2024-07-30", "open"), (None, "no_deadline")])
def test_status_relative_to_today(deadline, expected):
    assert status(Task(action="x", lead="Sở Y tế", deadline_date=deadline), "2024-06-05") == expected


def test_unknown_agency_stays_as_written():
    registry = TaskRegistry([Task(action="x", lead="Trung tâm Dữ liệu tỉnh", unknown_agencies=["Trung tâm Dữ liệu tỉnh"])])
    assert [m.role for m in registry.tasks_of("Trung tâm Dữ liệu tỉnh")] == ["lead"]
    assert registry.unknown_agencies() == ["Trung tâm Dữ liệu tỉnh"]


def test_service_exposes_the_same_registry(hashing_retrieval, registry):
    assert len(hashing_retrieval.tasks.tasks) == len(registry.tasks) > 0
    assert hashing_retrieval.tasks.who_leads("tiêm vắc xin liều nhắc lại cho trẻ em")[0].task.lead == "Sở Y tế"


def test_tasks_given_to_every_department_are_shared_by_each_and_kept_apart(registry):
    """"Các sở, ban, ngành" includes each department and board by its kind; districts have their own
    collective; a body gone before a document was issued was not among those it addressed."""
    to_all = {id(m.task) for m in registry.tasks_of("Các sở, ban, ngành")}
    assert to_all
    health = registry.shared_tasks_of("so y te")
    assert health and {m.via_collective for m in health} == {"Các sở, ban, ngành"}
    # Listed apart: never one the agency also has by name.
    assert not {id(m.task) for m in health} & {id(m.task) for m in registry.tasks_of("Sở Y tế")}
    assert {id(m.task) for m in health} <= to_all
    assert registry.shared_tasks_of("Công an tỉnh") == []          # armed forces: no collective names them
    assert registry.shared_tasks_of("an agency nobody knows") == []
    gone = registry.gazetteer.entry("Sở Bưu chính, Viễn thông")   # merged long before the sample weeks
    assert gone.kind == "department" and gone.successor_from < "2022" and registry.shared_tasks_of(gone.name) == []
    topical = registry.shared_tasks_of("Sở Y tế", query="thi đua")
    assert topical and all("thi đua" in m.task.action.lower() or "thi đua" in m.task.quote.lower() for m in topical)
