"""User ids in logs and stores.

A user's id is `channel:id` everywhere: `tg:<chat id>`, `zalo:<user id>`, `web:<id>`. Logs and the
gateway's stores never hold it plainly but as its pseudonym, an HMAC-SHA256 under the secret key
(bot/secret_key.py): stable, so one user's lines can be followed and their counters found, yet not
reversible by hashing every possible chat id, as a plain hash would be.
"""
from __future__ import annotations

import hashlib
import hmac


class Pseudonyms:
    """What a user id is written as in logs and stores."""

    def __init__(self, key: str | bytes):
        self._key = key.encode() if isinstance(key, str) else key

    def of(self, user: str) -> str:
        # surrogatepass: a lone surrogate in an id must not turn a log line into a crash
        return hmac.new(self._key, user.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]
