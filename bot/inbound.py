"""What the gateway accepts from outside, before anything else reads it.

- Request bodies: bounded in size, parsed as JSON with a bounded nesting. Python's parser answers a
  deeply nested body with RecursionError (not ValueError), which would otherwise escape as a 500.
- Users' text: lone surrogates (valid in a JSON escape, not in UTF-8) become U+FFFD and control
  characters are dropped, so the text can be encoded on its way to Rasa and stored in its tracker
  (PostgreSQL refuses NUL); what the user typed stays otherwise as it was.
- Typed text that starts with "/": Rasa would read it as an intent with entities
  (`/restart`, `/ask_directive{"doc_number": …}`), so it is passed on as words, without the "/".
"""
from __future__ import annotations

import json
import re

from starlette.requests import Request

MAX_BODY_BYTES = 256 * 1024   # a question is ≤ 1000 characters; a Telegram update or Zalo event a few KB
MAX_JSON_DEPTH = 32           # ours and Telegram's/Zalo's bodies nest a few levels

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # category Cc but tab, LF and CR
_LEADING_SLASHES = re.compile(r"^[\s/]+")


class BadBody(ValueError):
    """A request body the gateway will not read: ``status`` is the HTTP answer (400 or 413)."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or BadBody(413) as soon as it is known to exceed ``limit`` (never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadBody(f"body larger than {limit} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadBody(f"body larger than {limit} bytes", 413)
    return bytes(body)


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> object:
    """The JSON value of ``body`` (UTF-8, -16 or -32, as json.loads detects it); BadBody when it is
    not JSON or nests deeper than ``max_depth``."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadBody("JSON nested too deeply") from None
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise BadBody(f"body is not JSON ({type(exc).__name__})") from None
    if depth(value) > max_depth:
        raise BadBody("JSON nested too deeply")
    return value


def depth(value: object) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def clean_text(text: str) -> str:
    """``text`` with lone surrogates as U+FFFD and control characters (but tab and line breaks) dropped."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def as_words(text: str) -> str:
    """Typed text as Rasa must read it: words, never an intent (`/restart` → `restart`). Rasa strips
    whitespace before looking for the "/", so leading whitespace goes too."""
    return _LEADING_SLASHES.sub("", text)
