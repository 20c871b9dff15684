"""Invitation links that make a web browser an official's (`trolyao officials invite`).

A link is `BASE/officials/join/<token>`: the token is signed with itsdangerous under a key derived
from the secret key (so it cannot be forged or altered) and carries the invitation's id, the
official's name and when it expires. Opening it spends it: the gateway records the sign-in in the
sign-ins store (retrieval/officials.py), which refuses an id used before, so a forwarded link signs
in one browser only.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Callable

from itsdangerous import BadSignature, URLSafeSerializer

from bot.secret_key import derived_key
from retrieval.errors import InputError

DEFAULT_LIFETIME = dt.timedelta(days=7)
MAX_LIFETIME = dt.timedelta(days=30)    # spent ids are purged after the retention (≥ 1 day … 90 by default)
_DURATION = re.compile(r"\s*(\d+)\s*([dhm])\s*")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def lifetime(text: str) -> dt.timedelta:
    """"7d", "12h", "30m" → a timedelta (at most 30 days); InputError otherwise."""
    match = _DURATION.fullmatch(text or "")
    if not match or int(match.group(1)) == 0:
        raise InputError(f"expected a duration such as 7d, 12h or 30m, not {text!r}")
    value = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if value > MAX_LIFETIME:
        raise InputError(f"an invitation lasts at most {MAX_LIFETIME.days} days, not {text!r}")
    return value


@dataclass(frozen=True)
class Invitation:
    invite: str              # the id the sign-ins store spends once
    name: str                # the official it was issued to
    expires_at: dt.datetime  # UTC


class InvitationRefused(Exception):
    """A link that signs nobody in: ``reason`` is "forged" or "expired" (a used one is the store's
    InviteUsed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Invitations:
    def __init__(self, secret_key: str, base_url: str,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self._serializer = URLSafeSerializer(derived_key(secret_key, "officials-invitations"),
                                             salt="officials-join")
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    def issue(self, name: str, valid_for: dt.timedelta = DEFAULT_LIFETIME) -> tuple[Invitation, str]:
        """A new invitation for ``name`` and its link."""
        name = " ".join((name or "").split())
        if not name:
            raise InputError("--name is empty: say whom the invitation is for")
        invitation = Invitation(secrets.token_urlsafe(12), name,
                                (self.clock() + valid_for).replace(microsecond=0))
        token = self._serializer.dumps({"i": invitation.invite, "n": name,
                                        "e": int(invitation.expires_at.timestamp())})
        return invitation, f"{self.base_url}/officials/join/{token}"

    def open(self, token: str) -> Invitation:
        """The invitation ``token`` carries; InvitationRefused when forged or expired."""
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            raise InvitationRefused("forged") from None
        if not (isinstance(data, dict) and isinstance(data.get("i"), str) and isinstance(data.get("n"), str)
                and isinstance(data.get("e"), int)):
            raise InvitationRefused("forged")
        expires = dt.datetime.fromtimestamp(data["e"], dt.timezone.utc)
        if self.clock() >= expires:
            raise InvitationRefused("expired")
        return Invitation(data["i"], data["n"], expires)
