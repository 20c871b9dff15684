"""`trolyao watch`: a fake portal on localhost (a listing and bulletin pages made from real captures in
../shared/archive) is watched into a hashing index. New pages are captured as served and ingested once;
what was seen is not fetched again (conditional GETs answered 304); failures are reported, leave the
index serving and are retried; folders are watched for new or changed files."""
from __future__ import annotations

import contextlib
import hashlib
import html
import threading
from email.utils import formatdate
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from asgi_server import serve
from conftest import SHARED
from fakes import HashingEmbedder
from retrieval.index.layout import current_generation, has_index
from retrieval.pipeline import ingest as run_ingest
from retrieval.service import Retrieval
from retrieval.watch.fetcher import Politeness, PoliteClient
from retrieval.watch.ledger import Ledger
from retrieval.watch.sources import parse_source
from retrieval.watch.watcher import Watcher

ARCHIVE = SHARED / "archive" / "langson"
LISTING = "/vi/chi-dao-dieu-hanh"
# Real captures and their real addresses (archive/langson/SOURCES.md).
PAGES = {"/vi/node/71532": "2022-05-09-vanphong-71532.txt",   # Công văn 513/UBND-KGVX, drowning prevention
         "/vi/node/71619": "2022-05-16-vanphong-71619.txt",
         "/vi/node/71759": "2022-05-30-vanphong-71759.txt"}
LATER = ("/vi/node/71808", "2022-06-06-vanphong-71808.txt")
QUICK = Politeness(delay_s=0.0, retries=1, backoff_s=0.01, timeout_s=1.0)


def page_html(capture: Path) -> bytes:
    """A portal page around a real capture: its lines as paragraphs, as the portal's article body."""
    lines = [line for line in capture.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(lines[0])}</title>'
            f'</head><body><nav><a href="/vi/">Trang chủ</a></nav><article class="node">{body}</article>'
            f"</body></html>").encode()


@dataclass
class FakePortal:
    """vanphong.langson.gov.vn in miniature: ETags, 304s, and pages told to fail."""
    listed: dict[str, bytes] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)      # path → "500" | "hang" | "garbage"
    private: list[str] = field(default_factory=list)           # linked, but robots.txt disallows them
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)   # ends the hanging responses

    def publish(self, path: str, capture: str) -> bytes:
        self.listed[path] = page_html(ARCHIVE / capture)
        return self.listed[path]

    def listing(self) -> bytes:
        links = "".join(f'<li><a href="{path}">Chỉ đạo {path}</a></li>'
                        for path in [*reversed(self.listed), *self.private])
        return (f'<html><head><meta charset="utf-8"></head><body><nav><a href="/vi/chi-dao-dieu-hanh">Chỉ đạo '
                f'điều hành</a> <a href="/vi/lien-he">Liên hệ</a></nav><ul>{links}</ul></body></html>').encode()

    def paths_requested(self) -> list[str]:
        return [path for path, _ in self.requests]

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.requests.append((path, dict(request.headers)))
        if path == "/robots.txt":
            return Response("User-agent: *\nDisallow: /private/\n", media_type="text/plain")
        mode = self.failing.get(path)
        if mode == "500":
            return Response("Internal Server Error", status_code=500)
        if mode == "hang":
            await anyio.to_thread.run_sync(self.released.wait)
            return Response("too late", status_code=200)
        if mode == "garbage":
            return Response(bytes(range(256)) * 8, media_type="text/html")
        if path == LISTING:   # dated, as the portal's listing is: Last-Modified, no ETag
            modified = formatdate(1_650_000_000 + 86_400 * len(self.listed), usegmt=True)
            if request.headers.get("if-modified-since") == modified:
                return Response(status_code=304)
            return Response(self.listing(), media_type="text/html; charset=utf-8",
                            headers={"Last-Modified": modified})
        body = self.listed.get(path)
        if body is None:
            return Response("Not Found", status_code=404)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="text/html; charset=utf-8", headers={"ETag": etag})


@pytest.fixture
def portal():
    fake = FakePortal()
    for path, capture in PAGES.items():
        fake.publish(path, capture)
    app = Starlette(routes=[Route("/{path:path}", fake.handle)])
    with serve(app) as base:
        fake.base = base
        yield fake
        fake.released.set()


@dataclass
class Watching:
    watcher: Watcher
    ledger: Ledger
    index: Path
    captured: Path
    embedder: HashingEmbedder


@pytest.fixture
def watching(tmp_path, portal):
    """A watcher of the fake portal's listing into a fresh hashing index."""
    index, captured = tmp_path / "index", tmp_path / "data" / "captured"
    embedder = HashingEmbedder()
    ledger = Ledger(captured / "ledger.sqlite3", str(index))
    with PoliteClient(QUICK) as client:
        ingest = lambda paths: run_ingest(paths, index, embedder)   # noqa: E731
        watcher = Watcher([parse_source(portal.base + LISTING)], ledger, client, ingest, captured)
        yield Watching(watcher, ledger, index, captured, embedder)
    ledger.close()


def searchable(index: Path, question: str) -> list[str]:
    return [hit.passage.text for hit in Retrieval(index, embedder=HashingEmbedder()).search(question, k=3)]


def test_first_cycle_captures_every_listed_page_as_served_and_ingests_them_as_one_generation(portal, watching):
    report = watching.watcher.cycle()

    assert report.ok, report.failures
    assert sorted(a.input for a in report.added) == sorted(portal.base + path for path in PAGES)
    assert report.generation == current_generation(watching.index).name
    for added in report.added:   # kept exactly as the portal sent it, under the data directory's captured/HOST/
        path = Path(added.path)
        assert path.is_relative_to(watching.captured / f"127.0.0.1_{portal.base.rsplit(':', 1)[1]}")
        assert path.read_bytes() == portal.listed[added.input.removeprefix(portal.base)]
    # The generation's new documents, for whoever wants to tell people about them.
    assert watching.ledger.generations() == [report.generation]
    documents = {a.input: a.documents for a in watching.ledger.added_by(report.generation)}
    assert "513/UBND-KGVX" in documents[portal.base + "/vi/node/71532"]
    found = searchable(watching.index, "phòng, chống đuối nước trẻ em")
    assert any("đuối nước" in text for text in found)


def test_requests_name_the_project_and_ask_robots_txt_first(portal, watching):
    watching.watcher.cycle()

    assert portal.paths_requested()[:2] == ["/robots.txt", LISTING]
    assert all("Trolyao" in headers["user-agent"] for _, headers in portal.requests)


def test_a_second_cycle_fetches_nothing_new_the_listing_answers_304(portal, watching):
    first = watching.watcher.cycle()
    portal.requests.clear()
    second = watching.watcher.cycle()

    assert second.ok and second.added == [] and second.generation is None
    assert second.not_modified == 1 and second.captured == []
    assert portal.paths_requested() == ["/robots.txt", LISTING]           # no page asked for again
    assert portal.requests[1][1]["if-modified-since"].endswith(" GMT")
    assert current_generation(watching.index).name == first.generation


def test_a_page_new_on_the_listing_is_fetched_and_ingested_alone(portal, watching):
    watching.watcher.cycle()
    embedded = watching.embedder.passages_embedded
    portal.requests.clear()
    portal.publish(*LATER)
    report = watching.watcher.cycle()

    assert [a.input for a in report.added] == [portal.base + LATER[0]]
    assert portal.paths_requested() == ["/robots.txt", LISTING, LATER[0]]
    assert report.ingest.unchanged == [] and len(report.ingest.added) == 1
    assert 0 < watching.embedder.passages_embedded - embedded == report.ingest.passages_embedded
    assert watching.ledger.generations()[-1] == report.generation == current_generation(watching.index).name


@pytest.mark.parametrize("mode, reason", [("500", "HTTP 500"), ("hang", "Timeout"), ("garbage", "cannot parse")])
def test_a_failing_page_is_reported_leaves_the_index_serving_and_is_retried_next_cycle(
        portal, watching, mode, reason):
    watching.watcher.cycle()
    served = current_generation(watching.index).name
    portal.publish(*LATER)
    portal.failing[LATER[0]] = mode
    failed = watching.watcher.cycle()

    assert [f.where for f in failed.failures] == [portal.base + LATER[0]]
    assert reason in failed.failures[0].reason
    assert failed.added == [] and failed.generation is None
    assert current_generation(watching.index).name == served
    assert searchable(watching.index, "phòng, chống đuối nước trẻ em")
    if mode == "500":   # retried with backoff within the cycle, before giving up
        assert portal.paths_requested().count(LATER[0]) == QUICK.retries + 1

    del portal.failing[LATER[0]]
    retried = watching.watcher.cycle()                    # the listing is unchanged (304): the ledger remembers
    assert retried.ok and [a.input for a in retried.added] == [portal.base + LATER[0]]
    assert retried.not_modified == 1


def test_a_page_robots_txt_disallows_is_never_fetched_nor_counted_as_a_failure(portal, watching):
    portal.private.append("/private/node/99")
    report = watching.watcher.cycle()

    assert report.ok and report.disallowed == [portal.base + "/private/node/99"]
    assert len(report.added) == len(PAGES)
    assert "/private/node/99" not in portal.paths_requested()


def test_an_ingest_that_fails_publishes_nothing_and_is_retried_from_the_captures(portal, watching):
    watching.embedder.fail_after = 0          # the embedding crashes mid-ingest
    failed = watching.watcher.cycle()
    assert sorted(f.where for f in failed.failures) == sorted(portal.base + path for path in PAGES)
    assert all("ingest failed" in f.reason for f in failed.failures)
    assert failed.generation is None and not has_index(watching.index)

    watching.embedder.fail_after = None
    portal.requests.clear()
    retried = watching.watcher.cycle()
    assert retried.ok and len(retried.added) == len(PAGES)
    # Nothing changed on the portal: the listing and each page answer 304; the captures are ingested.
    assert retried.not_modified == 1 + len(PAGES) and retried.captured == []
    assert all("if-none-match" in headers for path, headers in portal.requests if path.startswith("/vi/node/"))


def test_a_running_watcher_cycles_until_stopped_and_picks_up_what_appears_meanwhile(portal, watching):
    stop, reports = threading.Event(), []

    def seen(report):
        reports.append(report)
        if len(reports) == 1:
            portal.publish(*LATER)
        else:
            stop.set()

    watching.watcher.run(0.01, stop, on_cycle=seen)

    assert [len(r.added) for r in reports] == [len(PAGES), 1]
    assert reports[1].added[0].input == portal.base + LATER[0]


def test_the_same_bytes_under_another_url_are_not_ingested_again(portal, watching):
    watching.watcher.cycle()
    portal.listed["/vi/node/99999"] = portal.listed["/vi/node/71532"]   # republished under a new address
    report = watching.watcher.cycle()

    assert report.ok and report.added == [] and report.generation is None
    assert report.unchanged == 1 and "/vi/node/99999" in portal.paths_requested()


def test_a_failing_listing_is_reported_and_nothing_is_ingested(portal, watching):
    portal.failing[LISTING] = "500"
    report = watching.watcher.cycle()

    assert [f.where for f in report.failures] == [portal.base + LISTING]
    assert report.generation is None and not has_index(watching.index)


def test_a_watched_folder_yields_its_new_and_changed_files_only(tmp_path):
    folder, index = tmp_path / "inbox", tmp_path / "index"
    folder.mkdir()
    embedder = HashingEmbedder()
    ledger = Ledger(tmp_path / "captured" / "ledger.sqlite3", str(index))
    ingested: list[list[str]] = []

    def ingest(paths):
        ingested.append(sorted(p.name for p in paths))
        return run_ingest(paths, index, embedder)

    with PoliteClient(QUICK) as client:
        watcher = Watcher([parse_source(str(folder))], ledger, client, ingest, tmp_path / "captured")
        assert watcher.cycle().ok and ingested == []          # an empty folder is not an error
        (folder / "a.txt").write_bytes((ARCHIVE / PAGES["/vi/node/71532"]).read_bytes())
        first = watcher.cycle()
        (folder / "b.txt").write_bytes((ARCHIVE / LATER[1]).read_bytes())
        second = watcher.cycle()
        (folder / "a.txt").write_bytes((ARCHIVE / PAGES["/vi/node/71619"]).read_bytes())
        third = watcher.cycle()
        fourth = watcher.cycle()

    assert ingested == [["a.txt"], ["b.txt"], ["a.txt"]]
    assert [a.input for a in first.added] == [str(folder / "a.txt")]
    assert "513/UBND-KGVX" in first.added[0].documents
    assert third.ingest.replaced == [str(folder / "a.txt")]
    assert fourth.generation is None and fourth.added == []
    ledger.close()


def run_cli(args: list[str]):
    from retrieval.cli import cli

    return CliRunner().invoke(cli, ["watch", *args], obj={"embedder": HashingEmbedder(), "politeness": QUICK})


def test_once_exits_0_when_everything_was_read_and_3_when_a_page_failed(portal, tmp_path):
    index = str(tmp_path / "index")
    ok = run_cli([portal.base + LISTING, "--once", "--index", index])
    assert ok.exit_code == 0, ok.output
    assert "3 new input(s) ingested" in ok.output

    portal.publish(*LATER)
    portal.failing[LATER[0]] = "500"
    failed = run_cli([portal.base + LISTING, "--once", "--index", index])
    assert failed.exit_code == 3, failed.output
    assert f"failed: {portal.base + LATER[0]}: " in failed.output


def test_once_refuses_a_source_that_is_neither_a_folder_nor_a_url(tmp_path):
    result = run_cli([str(tmp_path / "missing"), "--once", "--index", str(tmp_path / "index")])
    assert result.exit_code == 1
    assert "neither a folder nor an http(s) URL" in result.output


@pytest.mark.parametrize("every", ["6x", "10s", ""])
def test_every_must_be_an_interval_of_a_minute_or_more(tmp_path, every):
    result = run_cli([str(tmp_path), "--once", "--every", every or "0m"])
    assert result.exit_code == 1 and "interval" in result.output


def test_make_run_supervises_a_watcher_of_TROLYAO_WATCH_every_TROLYAO_WATCH_EVERY(monkeypatch, tmp_path):
    import subprocess

    from bot.run import watcher_service
    from retrieval.errors import ConfigError
    from retrieval.settings import Settings

    assert watcher_service(Settings.load()) is None          # unset: no watcher
    monkeypatch.setenv("TROLYAO_WATCH", f"https://vanphong.langson.gov.vn{LISTING}, {tmp_path}")
    monkeypatch.setenv("TROLYAO_WATCH_EVERY", "30m")
    service = watcher_service(Settings.load())
    assert service.name == "watch"
    assert service.argv[1:] == ["-m", "retrieval.cli", "watch", f"https://vanphong.langson.gov.vn{LISTING}",
                                str(tmp_path), "--every", "30m"]
    # The command line the launcher runs is the real command.
    shown = subprocess.run([*service.argv[:4], "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--every" in shown.stdout

    monkeypatch.setenv("TROLYAO_WATCH_EVERY", "soon")
    with pytest.raises(ConfigError, match="TROLYAO_WATCH_EVERY"):
        Settings.load()


def test_the_watch_process_cycles_and_stops_cleanly_on_sigterm(tmp_path):
    """What `make run` starts: the command in its own process, stopped by the launcher's SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "retrieval.cli", "watch", str(inbox), "--every", "1h",
                             "--index", str(tmp_path / "index")], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stderr:      # the first cycle's summary: it is running and waiting
            lines.append(line)
            if "no new generation" in line:
                break
        assert any("watching" in line and str(inbox) in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
