"""Date and week expressions of a question ("tuần này", "tháng 6/2024") as ISO date ranges."""
from __future__ import annotations

import calendar
import datetime as dt
import re

from retrieval.text import fold

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def _month(year: int, month: int) -> tuple[str, str]:
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, 1).isoformat(), dt.date(year, month, last).isoformat()


def _week(day: dt.date) -> tuple[str, str]:
    monday = day - dt.timedelta(days=day.weekday())
    return monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat()


def date_range(expression: str, today: str) -> tuple[str, str] | None:
    """The (first, last) ISO days an expression covers, relative to ``today``; None if unknown."""
    text = re.sub(r"\s+", " ", fold(expression)).strip()
    now = dt.date.fromisoformat(today)
    if re.fullmatch(r"tuan (nay|hien tai)", text):
        return _week(now)
    if re.fullmatch(r"tuan (truoc|qua|vua qua)", text):
        return _week(now - dt.timedelta(days=7))
    if re.fullmatch(r"tuan (sau|toi)", text):
        return _week(now + dt.timedelta(days=7))
    if text in ("hom nay",):
        return today, today
    if text in ("hom qua", "ngay hom qua"):
        day = (now - dt.timedelta(days=1)).isoformat()
        return day, day
    if text == "gan day":
        return (now - dt.timedelta(days=30)).isoformat(), today
    if re.fullmatch(r"thang (nay|hien tai)", text):
        return _month(now.year, now.month)
    if re.fullmatch(r"thang (truoc|qua|vua qua)", text):
        last = now.replace(day=1) - dt.timedelta(days=1)
        return _month(last.year, last.month)
    if re.fullmatch(r"quy (nay|hien tai)", text):
        first_month = 3 * ((now.month - 1) // 3) + 1
        return _month(now.year, first_month)[0], _month(now.year, first_month + 2)[1]
    if re.fullmatch(r"quy (truoc|qua|vua qua)", text):
        last = dt.date(now.year, 3 * ((now.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
        return _month(last.year, last.month - 2)[0], _month(last.year, last.month)[1]
    if re.fullmatch(r"nam (nay|hien tai)", text):
        return f"{now.year}-01-01", f"{now.year}-12-31"
    if re.fullmatch(r"nam (truoc|qua|vua qua)", text):
        return f"{now.year - 1}-01-01", f"{now.year - 1}-12-31"
    match = re.fullmatch(r"thang (\d{1,2})(?:\s?[/-]\s?(\d{4})| nam (\d{4}))?", text)
    if match and 1 <= int(match.group(1)) <= 12:
        return _month(int(match.group(2) or match.group(3) or now.year), int(match.group(1)))
    match = re.fullmatch(r"quy ([1-4]|i{1,3}|iv)(?: nam (\d{4}))?", text)
    if match:
        quarter = int(match.group(1)) if match.group(1).isdigit() else _ROMAN[match.group(1)]
        year = int(match.group(2) or now.year)
        return _month(year, 3 * quarter - 2)[0], _month(year, 3 * quarter)[1]
    match = re.fullmatch(r"nam (\d{4})", text)
    if match:
        return f"{match.group(1)}-01-01", f"{match.group(1)}-12-31"
    match = re.fullmatch(r"(?:ngay )?(\d{1,2})\s?[/-]\s?(\d{1,2})(?:\s?[/-]\s?(\d{4}))?", text)
    if match:
        try:
            day = dt.date(int(match.group(3) or now.year), int(match.group(2)), int(match.group(1)))
        except ValueError:
            return None
        return day.isoformat(), day.isoformat()
    return None
