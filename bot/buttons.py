"""Button payloads only the gateway can issue.

Rasa reads a message that starts with "/" as an intent with entities (the dialogue's buttons send
`/choose_option{"option": "2"}`), so whoever could send such a text would steer the dialogue. The
gateway therefore seals each "/" payload of its replies for the user it goes to (an HMAC of sender
and payload, appended after "#"); every channel sends a pressed button back as that sealed text
(web chat: as the message; Telegram: in the callback data or its table; Zalo: from the numbered list
it keeps), and the gateway passes on only payloads it sealed for that same user. A seal that does not
verify (a button older than the key, or a forged one) gets "this button has expired".

The key is per process by default (a restart expires the buttons on screen, as Telegram's table of
long payloads does); give one key to every gateway process that serves the same users.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SEPARATOR = "#"
MAC_CHARS = 16                     # 96 bits, base64url: short enough for Telegram's 64-byte callback data
_SEALED = re.compile(rf"^/.*{SEPARATOR}[A-Za-z0-9_-]{{{MAC_CHARS}}}$", re.DOTALL)


class ButtonSeal:
    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)

    def _mac(self, sender: str, payload: str) -> str:
        message = f"{sender}\x00{payload}".encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]

    def seal(self, sender: str, payload: str) -> str:
        """``payload`` as the button ``sender`` may press."""
        return f"{payload}{SEPARATOR}{self._mac(sender, payload)}"

    def open(self, sender: str, text: str) -> str | None:
        """The payload ``text`` seals for ``sender``, or None (not sealed, or not by us for them)."""
        if not looks_sealed(text):
            return None
        payload, mac = text.rsplit(SEPARATOR, 1)
        return payload if hmac.compare_digest(mac, self._mac(sender, payload)) else None

    def seal_buttons(self, sender: str, buttons: list[dict]) -> list[dict]:
        """The buttons with their "/" payloads sealed (a plain-text payload is harmless as it is)."""
        sealed = []
        for button in buttons:
            payload = button.get("payload")
            if isinstance(payload, str) and payload.startswith("/"):
                button = {**button, "payload": self.seal(sender, payload)}
            sealed.append(button)
        return sealed


def looks_sealed(text: str) -> bool:
    """Shaped like a sealed payload (whether or not its seal verifies)."""
    return bool(_SEALED.match(text))
