"""What a task report says: an agency's tasks, grouped by the document that assigns them.

Pure data built from the task registry; the Word rendering (rendering.py) only lays it out, so a
user's own template sees exactly the fields ``Report.context()`` documents (README: "trolyao report").
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal

from retrieval.answer.citations import document_label, marked_internal, vn_date
from retrieval.errors import InputError
from retrieval.ingest.references import doc_number_key
from retrieval.schema import INTERNAL, Task
from retrieval.tasks.registry import TaskMatch, TaskRegistry
from retrieval.text import fold

# Who the report is for (issue 17's access levels): a citizen's report may hold public tasks only.
# The registry is the audience's own (retrieval/tasks/store.py filters by access); the report only names it.
Audience = Literal["public", "official"]

ROLE_VI = {"lead": "Chủ trì", "partner": "Phối hợp", "assignee": "Được giao"}
STATUS_VI = {"overdue": "Quá hạn", "due_soon": "Sắp đến hạn", "open": "Đang thực hiện",
             "no_deadline": "Đang thực hiện"}
# The bodies whose reports carry "UBND TỈNH LẠNG SƠN" above their own name (Decree 30/2020's
# "tên cơ quan chủ quản"); districts, the province's leadership and central bodies stand alone.
_UNDER_THE_PROVINCE = {"department", "board", "group"}
PROVINCE_HEAD = "UBND TỈNH LẠNG SƠN"


@dataclass(frozen=True)
class ReportTask:
    number: int            # running number over the whole report (the table's STT)
    action: str
    role: str              # Chủ trì / Phối hợp / Được giao
    successor_of: str      # "" or the former body whose role the agency took over
    shared_as: str         # "" or the collective name the task was given to ("Các sở, ban, ngành")
    deadline: str          # as the document writes it, with the date it resolves to; "" when none
    deadline_date: str     # d/m/yyyy or ""
    status: str            # Quá hạn / Sắp đến hạn / Đang thực hiện
    status_key: str        # overdue / due_soon / open / no_deadline
    lead: str
    partners: str          # comma-separated
    quote: str             # the sentence the task was read from


@dataclass(frozen=True)
class ReportDocument:
    number: int            # the group's running number
    label: str             # "Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh"; "[Nội bộ] …" when internal
    doc_type: str
    doc_number: str
    issued_date: str       # d/m/yyyy or ""
    issuer: str
    bulletin: str          # where the document was read (bulletin or page title)
    source: str            # input file name
    internal: bool         # read from an internal input (only an official's report has one)
    tasks: list[ReportTask]


@dataclass(frozen=True)
class Report:
    agency: str            # canonical name ("Sở Y tế")
    issuer: str            # the agency's name in capitals, for the header block
    issuer_parent: str     # PROVINCE_HEAD or ""
    audience: str          # public / official
    today: str             # d/m/yyyy: the day statuses are computed against
    date_from: str         # d/m/yyyy or "": documents issued from
    date_to: str           # d/m/yyyy or "": documents issued until
    period: str            # "từ ngày 1/6/2024 đến ngày 30/6/2024", or "" for every document
    total: int
    overdue: int
    due_soon: int
    open: int
    internal: int          # tasks read from internal documents (0 in a citizen's report)
    groups: list[ReportDocument]

    def context(self) -> dict[str, Any]:
        """The template's fields (documented in README; a template using another one is refused)."""
        return asdict(self)


def build_report(registry: TaskRegistry, agency: str, today: str, date_from: str | None = None,
                 date_to: str | None = None, audience: Audience = "public", include_shared: bool = False) -> Report:
    """The report of ``agency``'s tasks (dates ISO). ``date_from``/``date_to`` keep tasks whose
    document was issued in that period (a task of an undated document is then left out).

    ``include_shared`` adds the tasks given to a collective name that includes the agency ("Các sở,
    ban, ngành"), each row saying so. ``audience`` names whose report it is; ``registry`` must be that audience's (load_registry(root,
    audience) keeps internal documents' tasks out of a citizen's)."""
    if date_from and date_to and date_from > date_to:
        raise InputError(f"the period is empty: --from {date_from} is after --to {date_to}")
    name = resolve_agency(registry, agency)
    shared = registry.shared_tasks_of(name, today=today) if include_shared else []
    matches = [m for m in [*registry.tasks_of(name, today=today), *shared] if _in_period(m.task, date_from, date_to)]
    groups = _groups(matches)
    rows = [t for g in groups for t in g.tasks]
    entry = registry.gazetteer.entry(name)
    return Report(
        agency=name, issuer=name.upper(),
        issuer_parent=PROVINCE_HEAD if entry and entry.kind in _UNDER_THE_PROVINCE else "",
        audience=audience, today=vn_date(today) or today,
        date_from=vn_date(date_from) or "", date_to=vn_date(date_to) or "", period=_period(date_from, date_to),
        total=len(rows), overdue=sum(t.status_key == "overdue" for t in rows),
        due_soon=sum(t.status_key == "due_soon" for t in rows),
        open=sum(t.status_key in ("open", "no_deadline") for t in rows),
        internal=sum(len(g.tasks) for g in groups if g.internal), groups=groups)


def resolve_agency(registry: TaskRegistry, agency: str) -> str:
    """The canonical name of any spelling the gazetteer knows, or a name as tasks write it (bodies the
    gazetteer does not list); otherwise an InputError naming the closest known names."""
    typed = agency.strip()
    if not typed:
        raise InputError("--agency is empty")
    canonical = registry.gazetteer.canonical(typed)
    if canonical:
        return canonical
    holders = {n for t in registry.tasks for n in [t.lead, *t.partners, *t.assignees] if n}
    for name in holders:
        if _key(name) == _key(typed):
            return name
    close = close_agencies(registry, typed, extra=holders)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise InputError(f"unknown agency {typed!r}{hint}")


def close_agencies(registry: TaskRegistry, typed: str, extra: Iterable[str] = (), n: int = 5) -> list[str]:
    """Known names (canonical, or as tasks write them) whose spellings look like ``typed``."""
    spellings: dict[str, str] = {}
    for entry in registry.gazetteer:
        for spelling in (entry.name, *entry.aliases):
            spellings.setdefault(_key(spelling), entry.name)
    for name in extra:
        spellings.setdefault(_key(name), name)
    found = difflib.get_close_matches(_key(typed), list(spellings), n=3 * n, cutoff=0.6)
    return list(dict.fromkeys(spellings[k] for k in found))[:n]


def deadline_text(deadline: str | None, deadline_date: str | None) -> str:
    """The deadline as written, with the date it resolves to when the words do not show it (as the
    dialogue's answers do): "trong quý III năm 2022 (tức 30/9/2022)"."""
    if not deadline:
        return ""
    day = vn_date(deadline_date)
    return f"{deadline} (tức {day})" if day and day not in deadline else deadline


def _groups(matches: list[TaskMatch]) -> list[ReportDocument]:
    by_doc: dict[str, list[TaskMatch]] = {}
    for m in matches:
        by_doc.setdefault(_document_key(m.task), []).append(m)
    # Oldest document first; within one, tasks by deadline (undated last), then as written.
    ordered = sorted(by_doc.values(), key=lambda ms: (ms[0].task.issued_date or "9999", _document_key(ms[0].task)))
    groups, number = [], 0
    for index, group in enumerate(ordered, start=1):
        rows = []
        for m in sorted(group, key=lambda m: m.task.deadline_date or "9999"):
            number += 1
            rows.append(_row(number, m))
        groups.append(_document(index, group[0].task, rows))
    return groups


def _row(number: int, m: TaskMatch) -> ReportTask:
    t = m.task
    former = ""
    if m.via_successor:
        holders = [t.lead] if m.role == "lead" else t.partners if m.role == "partner" else t.assignees
        former = next((h for h in holders if h in t.successors), "")
    return ReportTask(
        number=number, action=t.action, role=ROLE_VI[m.role or "assignee"], successor_of=former,
        shared_as=m.via_collective or "",
        deadline=deadline_text(t.deadline, t.deadline_date), deadline_date=vn_date(t.deadline_date) or "",
        status=STATUS_VI[m.status or "open"], status_key=m.status or "open", lead=t.lead or "",
        partners=", ".join(t.partners), quote=t.quote)


def _document(number: int, t: Task, rows: list[ReportTask]) -> ReportDocument:
    if t.doc_number:
        label = document_label(t)
    else:     # a directive the text names without a number: the page it was read from stands for it
        label = t.bulletin or t.source
    return ReportDocument(number=number, label=marked_internal(label, t.access), doc_type=t.doc_type or "",
                          doc_number=t.doc_number or "", issued_date=vn_date(t.issued_date) or "",
                          issuer=t.issuer or "", bulletin=t.bulletin, source=t.source,
                          internal=t.access == INTERNAL, tasks=rows)


def _document_key(t: Task) -> str:
    return doc_number_key(t.doc_number) if t.doc_number else f"\x00{t.source}"


def _in_period(t: Task, date_from: str | None, date_to: str | None) -> bool:
    if not (date_from or date_to):
        return True
    if not t.issued_date:
        return False
    return (not date_from or t.issued_date >= date_from) and (not date_to or t.issued_date <= date_to)


def _period(date_from: str | None, date_to: str | None) -> str:
    if date_from and date_to:
        return f"từ ngày {vn_date(date_from)} đến ngày {vn_date(date_to)}"
    if date_from:
        return f"từ ngày {vn_date(date_from)}"
    if date_to:
        return f"đến ngày {vn_date(date_to)}"
    return ""


def _key(name: str) -> str:
    return " ".join(fold(name).lower().split())


def today_iso(pinned: dt.date | None) -> str:
    """The day statuses are computed against: TROLYAO_TODAY when pinned, else the real day."""
    return (pinned or dt.date.today()).isoformat()
