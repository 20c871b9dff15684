"""Officials who signed in through an invitation link: one SQLite file of the data directory.

The gateway writes it (a web browser opening `trolyao officials invite`'s link, `trolyao officials
revoke`); the action server reads it on every turn to decide whether a sender also sees internal
documents. Both import this module, which lives in the first stage so that neither reaches across
the other (the action server never imports the gateway's package).

The file is owner-only (it names officials and their chat ids). Each write is one short
transaction, so the gateway, the CLI and every action worker share it; a reader opens it read-only
per question (a cheap indexed lookup), so a sign-in or a revocation counts from the next message.

Privacy: a sign-in records an appointment made by the administration (who may read internal
documents), not something the user said; "xóa dữ liệu của tôi" does not erase it (an official
would otherwise lose their rights by cleaning their chat), `trolyao privacy export` lists it, and
`trolyao officials revoke` ends it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from retrieval.errors import InputError
from retrieval.privacy import SenderActivity

FILE_NAME = "officials.sqlite3"
BUSY_TIMEOUT_S = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS signins (sender TEXT PRIMARY KEY, name TEXT NOT NULL, invite TEXT NOT NULL,
                                    signed_in_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_invites (invite TEXT PRIMARY KEY, used_at TEXT NOT NULL, used_by TEXT NOT NULL);
"""


class InviteUsed(InputError):
    """The invitation was already used once (each link signs in one browser)."""


@dataclass(frozen=True)
class SignIn:
    sender: str            # web:<conversation id> (any channel id works the same)
    name: str              # who, as the invitation named them
    invite: str            # the invitation's id
    signed_in_at: str      # ISO time, UTC


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class SignIns:
    """The sign-ins store. Writers (gateway, CLI) create the file; readers never do."""

    name = "officials"
    unit = "sign-in records"   # forget: always 0 (kept); purge: spent invitations

    def __init__(self, path: Path):
        self.path = Path(path)

    # -- reading (the action server, every turn) ---------------------------------------------------

    def is_official(self, sender: str | None) -> bool:
        """True when ``sender`` signed in and was not revoked; False when there is no file yet."""
        if not sender or not self.path.is_file():
            return False
        with self._connect(read_only=True) as db:
            return db.execute("SELECT 1 FROM signins WHERE sender = ?", (sender,)).fetchone() is not None

    def get(self, sender: str) -> SignIn | None:
        if not self.path.is_file():
            return None
        with self._connect(read_only=True) as db:
            row = db.execute("SELECT sender, name, invite, signed_in_at FROM signins WHERE sender = ?",
                             (sender,)).fetchone()
        return SignIn(*row) if row else None

    def all(self) -> list[SignIn]:
        if not self.path.is_file():
            return []
        with self._connect(read_only=True) as db:
            rows = db.execute("SELECT sender, name, invite, signed_in_at FROM signins ORDER BY signed_in_at, sender")
            return [SignIn(*row) for row in rows.fetchall()]

    # -- writing (the gateway, `trolyao officials`) ------------------------------------------------

    def is_used(self, invite: str) -> bool:
        if not self.path.is_file():
            return False
        with self._connect(read_only=True) as db:
            return db.execute("SELECT 1 FROM used_invites WHERE invite = ?", (invite,)).fetchone() is not None

    def redeem(self, invite: str, sender: str, name: str) -> SignIn:
        """Spend ``invite`` on ``sender``: one transaction, so two browsers opening one link at once
        cannot both sign in. Raises InviteUsed for a spent invitation."""
        signin = SignIn(sender, name, invite, _now())
        with self._connect() as db:
            try:
                db.execute("INSERT INTO used_invites (invite, used_at, used_by) VALUES (?, ?, ?)",
                           (invite, signin.signed_in_at, sender))
            except sqlite3.IntegrityError:
                raise InviteUsed(f"invitation {invite} was already used") from None
            db.execute("INSERT OR REPLACE INTO signins VALUES (?, ?, ?, ?)", tuple(asdict(signin).values()))
        return signin

    def carry_over(self, old: str, new: str) -> bool:
        """A signed-in browser started a new web conversation (a new id): it stays signed in."""
        with self._connect() as db:
            moved = db.execute("UPDATE signins SET sender = ? WHERE sender = ?", (new, old)).rowcount
        return bool(moved)

    def revoke(self, sender: str) -> bool:
        """``sender`` is a citizen again from their next message; False when they had not signed in."""
        if not self.path.is_file():
            return False
        with self._connect() as db:
            return bool(db.execute("DELETE FROM signins WHERE sender = ?", (sender,)).rowcount)

    # -- privacy (retrieval.privacy.SenderData) ----------------------------------------------------

    def senders(self) -> list[SenderActivity]:
        return [SenderActivity(s.sender, dt.datetime.fromisoformat(s.signed_in_at)) for s in self.all()]

    def export(self, sender: str) -> list[dict[str, Any]]:
        found = self.get(sender)
        return [asdict(found)] if found else []

    def forget(self, sender: str) -> int:
        """Kept on purpose: the status is the administration's record, ended by `trolyao officials
        revoke` (module docstring)."""
        return 0

    def purge(self, before: dt.datetime) -> int:
        """Sign-ins stay while the official's rights last; only the spent invitations' records go."""
        if not self.path.is_file():
            return 0
        with self._connect() as db:
            return db.execute("DELETE FROM used_invites WHERE used_at < ?",
                              (before.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),)).rowcount

    @contextlib.contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[sqlite3.Connection]:
        if read_only:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        else:
            self._create()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            if not read_only:
                db.execute("COMMIT")
        except BaseException:
            if not read_only and db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _create(self) -> None:
        """Owner-only from the first byte: it names officials and their chat ids."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(self.path, 0o600)
