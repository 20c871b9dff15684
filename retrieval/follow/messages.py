"""The notifications' Vietnamese text: new tasks of an agency, a new bulletin's digest, a reminder."""
from __future__ import annotations

import datetime as dt

from retrieval.answer.citations import citation_line, vn_date
from retrieval.schema import Citation, Digest, Task
from retrieval.tasks.registry import TaskMatch

ROLES = {"lead": "chủ trì", "partner": "phối hợp", "assignee": "thực hiện"}


def _deadline(task: Task) -> str:
    if task.deadline_date:
        return vn_date(task.deadline_date) or task.deadline_date
    return task.deadline or "không nêu"


def _source(task: Task) -> str:
    return citation_line(Citation.from_task(task))


def new_tasks(agency: str, matches: list[TaskMatch]) -> str:
    lines = [f"🔔 {agency} có {len(matches)} nhiệm vụ mới:"]
    for i, match in enumerate(matches, 1):
        task = match.task
        lines.append(f"{i}. {task.action[:1].upper()}{task.action[1:]} — vai trò: {ROLES.get(match.role, match.role)};"
                     f" hạn: {_deadline(task)}.")
        lines.append(f"   Nguồn: {_source(task)}")
    return "\n".join(lines)


def bulletin_digest(digest: Digest) -> str:
    lines = [f"🔔 Tin mới: {digest.title}"]
    for item in digest.items:
        number = f" ({item.doc_type + ' ' if item.doc_type else ''}số {item.doc_number})" if item.doc_number else ""
        lines.append(f"- {item.heading}{number}")
    return "\n".join(lines)


def reminder(agency: str, task: Task, days: int) -> str:
    when = "hôm nay là hạn" if days == 0 else f"còn {days} ngày nữa đến hạn"
    return (f"⏰ Nhắc hạn ({agency} chủ trì): {when} ({_deadline(task)}).\n"
            f"Nhiệm vụ: {task.action[:1].upper()}{task.action[1:]}.\nNguồn: {_source(task)}")


def days_until(deadline: str, today: str) -> int:
    return (dt.date.fromisoformat(deadline) - dt.date.fromisoformat(today)).days
