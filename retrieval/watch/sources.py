"""What `trolyao watch` watches: a folder (its new or changed files) or a portal listing (its links)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from retrieval.errors import InputError

# Bulletin and directive pages on the province's portals: Drupal nodes on vanphong.langson.gov.vn
# ("/vi/node/71532"), "chi-dao-….html" articles on langson.gov.vn. Menu links to listings match neither.
DEFAULT_LINKS = r"/node/\d+/?$|chi-dao[^/]*\.html?$"


@dataclass(frozen=True)
class FolderSource:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PortalSource:
    url: str                  # the listing page
    links: re.Pattern[str]    # which of its same-site links are pages to capture

    def __str__(self) -> str:
        return self.url


Source = FolderSource | PortalSource


def parse_source(text: str, links: str = DEFAULT_LINKS) -> Source:
    """An http(s) URL is a portal listing; anything else must be an existing folder."""
    text = text.strip()
    if re.match(r"https?://", text, re.IGNORECASE):
        if not urlsplit(text).hostname:
            raise InputError(f"{text}: not a URL with a host")
        try:
            pattern = re.compile(links, re.IGNORECASE)
        except re.error as exc:
            raise InputError(f"--links {links!r}: not a regular expression ({exc})") from None
        return PortalSource(text, pattern)
    path = Path(text).expanduser()
    if not path.is_dir():
        raise InputError(f"{text}: neither a folder nor an http(s) URL")
    return FolderSource(path.resolve())


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """An interval such as "6h", "30m", "90s", "1d" or "1h30m", in seconds (at least one minute:
    a portal is not to be polled harder than that)."""
    parts = re.fullmatch(r"(?:\s*(\d+(?:\.\d+)?)\s*([smhd]))+\s*", text.lower())
    if not parts:
        raise InputError(f"{text!r}: expected an interval such as 6h, 30m, 90s or 1d")
    seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", text.lower()))
    if seconds < 60:
        raise InputError(f"{text!r}: the interval must be at least a minute")
    return seconds
