"""One watch cycle: read every source, capture what is new, check that each new page parses, ingest
the good ones as one generation, remember everything; a failure is reported and retried next cycle
while the index keeps serving the generation it had."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.filelock import exclusive_lock
from retrieval.errors import ConfigError, InputError, ModelMismatchError
from retrieval.index.writer import IngestReport
from retrieval.pipeline import file_sha256
from retrieval.watch.capture import capture_path, listing_links, save_capture
from retrieval.watch.fetcher import Disallowed, FetchError, PoliteClient
from retrieval.watch.ledger import FAILED, INGESTED, AddedInput, Ledger
from retrieval.watch.sources import FolderSource, PortalSource, Source

log = logging.getLogger("trolyao.watch")

Ingest = Callable[[list[Path]], IngestReport]   # the pipeline's ingest, bound to an index and embedder


@dataclass(frozen=True)
class Failure:
    where: str     # a URL, a file or a source
    reason: str


@dataclass(frozen=True)
class _Candidate:
    key: str       # URL (pages) or path (files)
    source: str
    path: Path     # the capture, or the folder's file
    sha256: str
    is_page: bool
    size: int = 0
    mtime_ns: int = 0


@dataclass
class CycleReport:
    """What one cycle did; ``generation`` and ``added`` are what it published (None / empty: nothing)."""
    requests: int = 0
    not_modified: int = 0                                 # conditional GETs answered 304
    captured: list[str] = field(default_factory=list)     # pages saved (new or changed bytes)
    unchanged: int = 0                                    # fetched again with bytes already ingested
    disallowed: list[str] = field(default_factory=list)   # linked pages robots.txt keeps us from
    added: list[AddedInput] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    generation: str | None = None
    ingest: IngestReport | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        """The report as log lines: one per failure, then the summary."""
        return [f"failed: {f.where}: {f.reason}" for f in self.failures] + [self.summary()]

    def summary(self) -> str:
        documents = sorted({d for a in self.added for d in a.documents})
        published = f"generation {self.generation} published" if self.generation else "no new generation"
        return (f"{len(self.added)} new input(s) ingested, {len(self.captured)} page(s) captured, "
                f"{self.not_modified} not modified (304), {self.unchanged} unchanged, {len(self.failures)} "
                f"failed, {len(self.disallowed)} disallowed by robots.txt; {self.requests} request(s); {published}"
                + (f"; documents: {', '.join(documents)}" if documents else ""))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Watcher:
    def __init__(self, sources: Sequence[Source], ledger: Ledger, client: PoliteClient, ingest: Ingest,
                 captured_dir: Path, clock: Callable[[], str] = _now):
        self.sources, self.ledger, self.client = list(sources), ledger, client
        self.ingest_files, self.captured_dir, self.clock = ingest, captured_dir, clock

    def cycle(self) -> CycleReport:
        """One pass over every source; two watchers of one data directory take turns (a lock), so a
        page is never fetched or ingested twice."""
        with exclusive_lock(self.captured_dir / ".watch.lock"):
            return self._cycle()

    def _cycle(self) -> CycleReport:
        report = CycleReport()
        requests, not_modified = self.client.requests, self.client.not_modified
        self.client.forget_robots()    # a site may change its rules between cycles
        candidates: list[_Candidate] = []
        for source in self.sources:
            try:
                if isinstance(source, PortalSource):
                    candidates += self._portal(source, report)
                else:
                    candidates += self._folder(source, report)
            except (FetchError, InputError, OSError) as exc:
                report.failures.append(Failure(str(source), str(exc)))
        parsed = self._parsable(candidates, report)
        if parsed:
            self._ingest(parsed, report)
        report.requests = self.client.requests - requests
        report.not_modified = self.client.not_modified - not_modified
        return report

    def run(self, every_s: float, stop: threading.Event,
            on_cycle: Callable[[CycleReport], None] = lambda report: None) -> None:
        """A cycle now, then every ``every_s`` seconds until ``stop`` is set. A cycle's trouble is
        reported and retried; an index built with another model or a bad setting ends the run."""
        while not stop.is_set():
            try:
                report = self.cycle()
                for failure in report.failures:
                    log.warning("failed: %s: %s", failure.where, failure.reason)
                log.info("%s", report.summary())
                on_cycle(report)
            except (ModelMismatchError, ConfigError):
                raise
            except Exception:   # noqa: BLE001 — the watcher outlives a bad cycle; the next one retries
                log.exception("cycle failed (retried in %.0f s)", every_s)
            if stop.wait(every_s):
                return

    # sources
    def _portal(self, source: PortalSource, report: CycleReport) -> list[_Candidate]:
        listing = self.client.get(source.url, self.ledger.listing(source.url))
        if not listing.not_modified:
            for url in listing_links(listing.body, listing.url, source.links):
                if self.ledger.page(url) is None:
                    self.ledger.discover(url, source.url)
            self.ledger.set_listing(source.url, listing.validators, self.clock())
        candidates = []
        for url in self.ledger.pending(source.url):   # new links, and earlier failures retried
            try:
                candidate = self._page(url, source, report)
            except Disallowed:                # asked again next cycle (robots.txt may change), never fetched
                report.disallowed.append(url)
                continue
            except (FetchError, OSError) as exc:
                self.ledger.page_failed(url, source.url, str(exc))
                report.failures.append(Failure(url, str(exc)))
                continue
            if candidate is not None:
                candidates.append(candidate)
        return candidates

    def _page(self, url: str, source: PortalSource, report: CycleReport) -> _Candidate | None:
        record = self.ledger.page(url)
        held = record is not None and record.path is not None and Path(record.path).is_file()
        fetched = self.client.get(url, record.validators if held else None)
        if fetched.not_modified:   # the capture we hold is still the page: parse it again (the parser may have changed)
            return _Candidate(url, source.url, Path(record.path), record.sha256, True)
        sha = _sha(fetched.body)
        twin = self.ledger.ingested_sha(sha)
        if twin is not None:       # these very bytes are indexed already (under this URL or another)
            self.ledger.page_captured(url, source.url, Path(record.path) if held else None, sha,
                                      fetched.validators, self.clock())
            self.ledger.page_done(url, None)
            report.unchanged += 1
            return None
        path = capture_path(self.captured_dir, url, fetched.content_type)
        save_capture(path, fetched.body)
        self.ledger.page_captured(url, source.url, path, sha, fetched.validators, self.clock())
        report.captured.append(url)
        return _Candidate(url, source.url, path, sha, True)

    def _folder(self, source: FolderSource, report: CycleReport) -> list[_Candidate]:
        from retrieval.ingest import expand_paths

        if not source.path.is_dir():
            raise InputError(f"{source.path}: the folder is gone")
        try:
            files = expand_paths([source.path])
        except InputError:        # nothing to ingest yet: normal for a folder being filled
            return []
        candidates = []
        for path in files:
            stat = path.stat()
            record = self.ledger.file(path)
            untouched = record is not None and (record.size, record.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
            if untouched and record.status == INGESTED:
                continue          # not even read
            sha = file_sha256(path)
            if record and record.status == INGESTED and record.sha256 == sha:
                self.ledger.file_seen(path, str(source), stat.st_size, stat.st_mtime_ns, sha, INGESTED, self.clock())
                report.unchanged += 1
                continue
            candidates.append(_Candidate(str(path), str(source), path, sha, False, stat.st_size, stat.st_mtime_ns))
        return candidates

    # parse, then ingest
    def _parsable(self, candidates: list[_Candidate], report: CycleReport) -> list[tuple[_Candidate, list[str]]]:
        """Each candidate with the document numbers it cites; those the parser cannot read are failures
        (kept out of the ingest, so one bad page does not hold the others back)."""
        from retrieval.ingest import load_path
        from retrieval.ingest.chunking import chunk_document

        good = []
        for candidate in candidates:
            try:
                parsed = load_path(candidate.path)
                passages = parsed if isinstance(parsed, list) else chunk_document(parsed)
                if not passages:
                    raise InputError(f"{candidate.path}: no text to index")
            except Exception as exc:   # noqa: BLE001 — any parser failure is this page's, reported and retried
                if not isinstance(exc, InputError):
                    log.debug("parser failure on %s", candidate.path, exc_info=True)
                self._failed(candidate, f"cannot parse: {exc}", report)
                continue
            numbers = sorted({p.document.number for p in passages if p.document is not None and p.document.number})
            good.append((candidate, numbers))
        return good

    def _ingest(self, parsed: list[tuple[_Candidate, list[str]]], report: CycleReport) -> None:
        try:
            result = self.ingest_files([candidate.path for candidate, _ in parsed])
        except (ModelMismatchError, ConfigError):
            raise
        except Exception as exc:   # noqa: BLE001 — the previous generation stays current; all retried
            log.debug("ingest failed", exc_info=True)
            for candidate, _ in parsed:
                self._failed(candidate, f"ingest failed: {exc}", report)
            return
        report.ingest, report.generation = result, result.generation
        at = self.clock()
        changed = {str(Path(p).resolve()) for p in (*result.added, *result.replaced)}
        for candidate, numbers in parsed:
            if candidate.is_page:
                self.ledger.page_done(candidate.key, result.generation)
            else:
                self.ledger.file_seen(candidate.path, candidate.source, candidate.size, candidate.mtime_ns,
                                      candidate.sha256, INGESTED, at, generation=result.generation)
            if str(candidate.path.resolve()) in changed:
                report.added.append(AddedInput(candidate.key, str(candidate.path), numbers))
        if result.generation and report.added:
            self.ledger.record_generation(result.generation, at, report.added)

    def _failed(self, candidate: _Candidate, reason: str, report: CycleReport) -> None:
        if candidate.is_page:
            self.ledger.page_failed(candidate.key, candidate.source, reason)
        else:
            self.ledger.file_seen(candidate.path, candidate.source, candidate.size, candidate.mtime_ns,
                                  candidate.sha256, FAILED, self.clock(), error=reason)
        report.failures.append(Failure(candidate.key, reason))


def _sha(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()
