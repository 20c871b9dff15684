"""Asking a portal politely: one request at a time, a User-Agent naming the project, robots.txt
respected, conditional GETs (ETag / Last-Modified), a pause between requests, backoff on errors."""
from __future__ import annotations

import logging
import time
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("trolyao.watch")

USER_AGENT = "TrolyaoWatcher/0.1 (Tro ly ao, UBND tinh Lang Son; directive bulletins watcher)"
RETRIED_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A page that could not be fetched (after retries): the message says why, for the report."""


class Disallowed(FetchError):
    """robots.txt asks us not to fetch it: not a failure of the site, a page we leave alone."""


@dataclass(frozen=True)
class Validators:
    """What the server said identifies the version we hold (sent back as If-None-Match / If-Modified-Since)."""
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    url: str                      # after redirects
    status: int                   # 200, or 304 (not modified: no body)
    body: bytes = b""
    content_type: str = ""
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class Politeness:
    """How hard we may ask: ``delay_s`` between two requests to one host (a robots.txt Crawl-delay wins
    when longer), ``retries`` after a failure with ``backoff_s`` doubling each time."""
    delay_s: float = 1.0
    retries: int = 2
    backoff_s: float = 5.0
    timeout_s: float = 30.0


class PoliteClient:
    """Sequential GETs through one httpx client; ``sleep`` and ``clock`` are injected so that tests
    run the same code with short pauses."""

    def __init__(self, politeness: Politeness | None = None, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.politeness = politeness or Politeness()
        self._http = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True,
                                  timeout=self.politeness.timeout_s, transport=transport)
        self._sleep, self._clock = sleep, clock
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._last_request: dict[str, float] = {}
        self.requests = 0          # every request sent (robots.txt included)
        self.not_modified = 0      # conditional GETs answered 304

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PoliteClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, validators: Validators | None = None) -> Fetched:
        """The page at ``url`` (status 304 when ``validators`` still match); FetchError otherwise."""
        if not self.allowed(url):
            raise Disallowed("disallowed by robots.txt")
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        problem = ""
        for attempt in range(self.politeness.retries + 1):
            if attempt:
                pause = self.politeness.backoff_s * 2 ** (attempt - 1)
                log.info("retrying %s in %.1f s (%s)", url, pause, problem)
                self._sleep(pause)
            try:
                response = self._request(url, headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code in RETRIED_STATUSES:
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():   # the server's own pause, within reason
                    self._sleep(min(float(retry_after), 600.0))
                continue
            if response.status_code == 304:
                self.not_modified += 1
                return Fetched(str(response.url), 304, validators=validators or Validators())
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            return Fetched(str(response.url), 200, response.content,
                           response.headers.get("Content-Type", ""),
                           Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")))
        raise FetchError(f"{problem} (after {self.politeness.retries + 1} attempts)")

    def _request(self, url: str, headers: dict[str, str]) -> httpx.Response:
        host = urlsplit(url).netloc
        delay = max(self.politeness.delay_s, self._crawl_delay(host))
        since = self._clock() - self._last_request.get(host, float("-inf"))
        if since < delay:
            self._sleep(delay - since)
        self.requests += 1
        try:
            return self._http.get(url, headers=headers)
        finally:
            self._last_request[host] = self._clock()

    # robots.txt (RFC 9309): missing (4xx) allows everything; unreachable or 5xx allows nothing for now.
    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.netloc
        if host not in self._robots:
            self._robots[host] = self._read_robots(f"{parts.scheme}://{host}/robots.txt")
        rules = self._robots[host]
        return True if rules is None else rules.can_fetch(USER_AGENT, url)

    def _crawl_delay(self, host: str) -> float:
        rules = self._robots.get(host)
        delay = rules.crawl_delay(USER_AGENT) if rules is not None else None
        return float(delay or 0)

    def _read_robots(self, url: str) -> urllib.robotparser.RobotFileParser | None:
        rules = urllib.robotparser.RobotFileParser(url)
        try:
            response = self._request(url, {})
        except httpx.HTTPError as exc:
            log.warning("%s unreachable (%s): nothing fetched from that host this cycle", url, exc)
            rules.disallow_all = True
            self._robots[urlsplit(url).netloc] = rules
            return rules
        if response.status_code >= 500:
            log.warning("%s answered HTTP %d: nothing fetched from that host this cycle", url, response.status_code)
            rules.disallow_all = True
        elif response.status_code >= 400:
            return None
        else:
            rules.parse(response.text.splitlines())
        return rules

    def forget_robots(self) -> None:
        """Read robots.txt again on the next request (each cycle starts afresh)."""
        self._robots.clear()
