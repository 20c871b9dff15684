"""The reports the chat makes for officials (actions/report_actions.py), delivered by the gateway.

The action server writes each report under a random name into the data directory's reports folder
and names it in its custom payload ``{"document": {"file", "title"}}``. Telegram uploads the file
(``sendDocument``); the web chat and Zalo get a download link `/files/<token>`: itsdangerous signs
the file's name, its title, whom it was made for and when the link ends, under a key derived from
the secret key, so a link cannot be forged, altered or extended.

Whose link: a web chat link works only with the cookie of the conversation that asked (a link
copied out of the page, or out of a log, opens nothing elsewhere); a Zalo link (and an integration's)
is a bearer link, since Zalo's in-app browser carries none of our cookies — it expires after
TROLYAO_REPORT_LINK_MINUTES. Files are deleted once sent to Telegram, and otherwise once their
link has expired (the gateway's daily retention task sweeps the folder).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from itsdangerous import BadSignature, URLSafeSerializer

from bot.secret_key import derived_key

log = logging.getLogger("trolyao.gateway")

FILE_NAME = re.compile(r"[0-9a-f]{32}\.docx")     # what actions/report_actions.py names them
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class ReportFile:
    file: str     # the name in the reports folder
    title: str    # the name the user sees ("Báo cáo nhiệm vụ của Sở Y tế.docx")

    @classmethod
    def of(cls, payload: object) -> "ReportFile | None":
        """The custom payload's document, or None when it is not one of ours (a path, a missing title):
        only a plain random name inside the folder is ever opened."""
        if not isinstance(payload, dict):
            return None
        file, title = payload.get("file"), payload.get("title")
        if not (isinstance(file, str) and FILE_NAME.fullmatch(file) and isinstance(title, str) and title.strip()):
            return None
        return cls(file, title.strip())


def link_line(report: ReportFile, url: str, minutes: int) -> str:
    """The download as a line of text (Zalo: no files, no markup)."""
    return f"Tải tệp “{report.title}” tại: {url} (liên kết dùng được trong {minutes} phút)."


def with_bearer_link(reply: "BotMessage", files: "ReportFiles", base_url: str, minutes: int) -> "BotMessage":
    """A reply carrying a report, for a channel that cannot send files nor carry our cookie (Zalo,
    Messenger): its download link, usable by whoever holds it until it expires, under the text."""
    from bot.rasa_client import BotMessage

    report = ReportFile.of(reply.document)
    if report is None:
        return reply
    line = link_line(report, base_url + files.link(report, owner=None), minutes)
    return BotMessage(f"{reply.text}\n{line}" if reply.text else line, reply.buttons, reply.citations,
                      reply.abstained)


class LinkRefused(Exception):
    """A download that is not served: ``reason`` is forged, expired, not_yours or gone."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ReportFiles:
    def __init__(self, secret_key: str, folder: Path, link_lifetime: dt.timedelta,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self._serializer = URLSafeSerializer(derived_key(secret_key, "report-downloads"), salt="files")
        self.folder = Path(folder)
        self.lifetime = link_lifetime
        self.clock = clock

    def path(self, report: ReportFile) -> Path:
        return self.folder / report.file

    def link(self, report: ReportFile, owner: str | None) -> str:
        """`/files/<token>`; ``owner``: the web conversation (`web:<id>`) whose cookie alone opens
        it, or None for a bearer link."""
        expires = int((self.clock() + self.lifetime).timestamp())
        return "/files/" + self._serializer.dumps({"f": report.file, "t": report.title, "o": owner, "e": expires})

    def open(self, token: str, caller: str | None) -> tuple[ReportFile, Path]:
        """The file a link names, for ``caller`` (the cookie's `web:<id>`, or None); LinkRefused."""
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            raise LinkRefused("forged") from None
        report = ReportFile.of({"file": data.get("f"), "title": data.get("t")}) if isinstance(data, dict) else None
        if report is None or not isinstance(data.get("e"), int):
            raise LinkRefused("forged")
        if self.clock() >= dt.datetime.fromtimestamp(data["e"], dt.timezone.utc):
            raise LinkRefused("expired")
        if data.get("o") is not None and data["o"] != caller:
            raise LinkRefused("not_yours")
        path = self.path(report)
        if not path.is_file():
            raise LinkRefused("gone")
        return report, path

    def discard(self, report: ReportFile) -> None:
        """Delivered for good (uploaded to Telegram): nothing to keep."""
        self.path(report).unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete the reports whose links have expired (older than the lifetime); how many went."""
        if not self.folder.is_dir():
            return 0
        cutoff = (self.clock() - self.lifetime).timestamp()
        removed = 0
        for path in self.folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:   # swept by another gateway process meanwhile
                pass
        if removed:
            log.info("reports: %d expired file(s) deleted", removed)
        return removed
