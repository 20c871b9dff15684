"""The task registry: look up who must do what, with whom, by when, under which document.

The CLI (`trolyao tasks`) and the dialogue's actions ("Ai chủ trì …?", "Sở Y tế được giao những
việc gì?", "Việc nào sắp đến hạn?") call the same methods. Tasks are extracted at ingest and
stored with the index; this object holds them in memory, read-only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable

import numpy as np

from retrieval.schema import Task
from retrieval.text import fold, syllables
from retrieval.vocabulary import vocabulary

ROLES = ("lead", "partner", "assignee")
DUE_SOON_DAYS = 7
# Words of a question that say nothing about which task is meant.
_QUERY_SCAFFOLDING = frozenset(fold(w) for w in vocabulary().task_query_scaffolding)


@dataclass(frozen=True)
class TaskMatch:
    task: Task
    role: str | None = None        # the asked agency's role: lead / partner / assignee
    via_successor: bool = False    # matched because the asked agency took over the named one's work
    status: str | None = None      # overdue / due_soon / open / no_deadline (with a reference day)
    score: float = 1.0             # text relevance when a query was given
    via_collective: str | None = None  # the collective name ("Các sở, ban, ngành") that includes the agency

    def to_dict(self) -> dict:
        data = self.task.to_dict()
        data.update(role=self.role, via_successor=self.via_successor, via_collective=self.via_collective,
                    status=self.status)
        return data


class TaskRegistry:
    def __init__(self, tasks: Iterable[Task], gazetteer=None):
        self.tasks = list(tasks)
        self._gazetteer = gazetteer
        # Kept so that a question reads only what it needs (at 5·10⁴ tasks, walking every task's
        # holders and words per question took 0.1–0.4 s): each task's holders folded once, role →
        # [(folded name, folded successor or None)] in order; and the tasks holding each word.
        self._holders = [_folded_holders(t) for t in self.tasks]
        holding: dict[str, list[int]] = {}
        for i, task in enumerate(self.tasks):
            for word in _words(f"{task.action} {task.quote}"):
                holding.setdefault(word, []).append(i)
        self._holding = {word: np.asarray(rows) for word, rows in holding.items()}

    @property
    def gazetteer(self):
        if self._gazetteer is None:
            from retrieval.tasks.agencies import Gazetteer

            self._gazetteer = Gazetteer.load()
        return self._gazetteer

    # -- the lookups the dialogue needs ------------------------------------------------------
    def find(self, agency: str | None = None, doc: str | None = None, due_before: str | None = None,
             due_after: str | None = None, query: str | None = None, today: str | None = None,
             roles: tuple[str, ...] = ROLES) -> list[TaskMatch]:
        """Tasks matching every given filter, most relevant (then earliest deadline) first."""
        wanted = self._agency_names(agency) if agency else None
        doc_key = _doc_key(doc.strip()) if doc else None
        query_words = query_terms(query) if query else []
        scores, candidates = None, range(len(self.tasks))
        if query_words:   # the share of the question's words each task holds (a word once a task)
            held = np.zeros(len(self.tasks))
            for word in query_words:
                held[self._holding.get(word, _NONE)] += 1
            scores = held / len(query_words)
            candidates = np.flatnonzero(scores >= 0.5).tolist()
        matches = []
        for i in candidates:
            task, holders = self.tasks[i], self._holders[i]
            if doc_key and not _same_document(task.doc_number, doc_key):
                continue
            if due_before and not (task.deadline_date and task.deadline_date <= due_before):
                continue
            if due_after and not (task.deadline_date and task.deadline_date >= due_after):
                continue
            role, via = (None, False)
            if wanted is not None:
                role, via = _role(holders, wanted, roles)
                if role is None:
                    continue
            score = float(scores[i]) if scores is not None else 1.0
            matches.append(TaskMatch(task, role, via, status(task, today), score))
        return sorted(matches, key=lambda m: (-m.score, ROLES.index(m.role) if m.role else 0,
                                              m.task.deadline_date or "9999", m.task.issued_date or ""))

    def who_leads(self, query: str) -> list[TaskMatch]:
        """"Ai chủ trì …?": the tasks whose action matches, best first (their leads answer it)."""
        return [m for m in self.find(query=query) if m.task.lead]

    def tasks_of(self, agency: str, today: str | None = None) -> list[TaskMatch]:
        """"Sở Y tế được giao những việc gì?": every task where the agency has a role."""
        return self.find(agency=agency, today=today)

    def shared_tasks_of(self, agency: str, query: str | None = None, today: str | None = None) -> list[TaskMatch]:
        """Tasks given to a collective name that includes the agency ("Các sở, ban, ngành" for a sở) and
        not to the agency by name: its work too, listed apart because no one of them answers for it alone."""
        entry = self.gazetteer.entry(agency)
        if entry is None:
            return []
        seen = {id(m.task) for m in self.find(agency=agency, today=today)}
        shared = []
        for group in self.gazetteer.collectives_of(entry.name):
            for m in self.find(agency=group, query=query, today=today):
                # A body gone by the document's date was not among those it addressed.
                gone = entry.successor_from and m.task.issued_date and m.task.issued_date >= entry.successor_from
                if id(m.task) not in seen and not gone:
                    seen.add(id(m.task))
                    shared.append(replace(m, via_collective=group))
        return sorted(shared, key=lambda m: (-m.score, m.task.deadline_date or "9999", m.task.issued_date or ""))

    def due_soon(self, today: str, days: int = DUE_SOON_DAYS) -> list[TaskMatch]:
        """"Việc nào sắp đến hạn?": tasks whose deadline falls within ``days`` after ``today``."""
        until = (dt.date.fromisoformat(today) + dt.timedelta(days=days)).isoformat()
        return self.find(due_after=today, due_before=until, today=today)

    def unknown_agencies(self) -> list[str]:
        return sorted({name for t in self.tasks for name in t.unknown_agencies})

    # -- matching ----------------------------------------------------------------------------
    def _agency_names(self, agency: str) -> set[str]:
        """The asked agency's canonical name (or the name as typed when the gazetteer does not know
        it), folded once here so that matching a task's names costs one comparison each."""
        canonical = self.gazetteer.canonical(agency)
        return {_folded_name(canonical or agency)}


_NONE = np.zeros(0, dtype=np.int64)


def _folded_holders(task: Task) -> dict[str, list[tuple[str, str | None]]]:
    holders = {"lead": [task.lead] if task.lead else [], "partner": task.partners, "assignee": task.assignees}
    return {role: [(_folded_name(name), _folded_name(task.successors[name]) if task.successors.get(name) else None)
                   for name in names] for role, names in holders.items()}


def _role(holders: dict[str, list[tuple[str, str | None]]], wanted: set[str],
          roles: tuple[str, ...]) -> tuple[str | None, bool]:
    """The first of ``roles`` in which a task's holder is wanted, and whether through its successor."""
    for role in roles:
        for name, successor in holders[role]:
            if name in wanted:
                return role, False
            if successor and successor in wanted:   # "Sở KH&CN" asks about Sở TT&TT's tasks
                return role, True
    return None, False


def query_terms(question: str) -> list[str]:
    """The folded words of a question that say which task is meant; none for "Ai chủ trì?" or
    "Hạn chót khi nào?", which the dialogue reads as follow-ups about the task in focus."""
    return sorted(w for w in _words(question) if w not in _QUERY_SCAFFOLDING)


def status(task: Task, today: str | None) -> str | None:
    """overdue / due_soon (within 7 days) / open, relative to ``today``; None without a reference day."""
    if today is None:
        return None
    if not task.deadline_date:
        return "no_deadline"
    if task.deadline_date < today:
        return "overdue"
    soon = (dt.date.fromisoformat(today) + dt.timedelta(days=DUE_SOON_DAYS)).isoformat()
    return "due_soon" if task.deadline_date <= soon else "open"


def _words(text: str) -> set[str]:
    return {fold(s) for s in syllables(text)}


@lru_cache(maxsize=1 << 14)   # agency names repeat across tasks
def _folded_name(name: str) -> str:
    return " ".join(fold(s) for s in syllables(name))


def _same_document(number: str | None, key: str) -> bool:
    """"143" names 143/KH-UBND; "143/kh-ubnd" and "143/KH-UBND" are one document."""
    if not number:
        return False
    own = _doc_key(number)
    return own == key or ("/" not in key and own.split("/")[0] == key)


def _doc_key(number: str) -> str:
    from retrieval.ingest.references import doc_number_key

    return doc_number_key(number)
