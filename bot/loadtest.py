"""`make loadtest`: the gateway under load, as `make run` and then as `make run-scaled`, in one run.

Each mode is started here as its own launcher process (`python -m bot.run [--scaled]`) on free ports,
a throw-away data directory and no `.env` (a running `make run`, its conversations, a deployment's
Telegram/Zalo credentials and servers are never touched), over the index set-up builds. USERS
simulated people each hold 4-turn conversations built from the index's documents (what a document
says, then three follow-ups about it), THINK seconds apart, a fresh sender per conversation, until
DURATION ends (a conversation under way is finished). The simulated users come from one address with
ids of their own, as an integration's do: the launcher is given an API key of this run and every
request carries it (browsers' per-address limits would otherwise stop the load). Reported per mode:

- latency p50/p95/p99 of `POST /api/chat`, over every round trip that got an HTTP reply;
- errors: no reply, not 200, an empty reply, the gateway's apology or its rate-limit message;
- lost context: a follow-up whose reply does not cite the conversation's document;
- out of order: a conversation whose user messages Rasa's own tracker (read after the load) does
  not hold exactly once each, in the order sent;
- the scaled/single ratio of p50/p95/p99.

`--kill-at` (scaled mode; `make loadtest` passes `half`): SIGKILL the first Rasa worker and the
last action server at that second (with 2 + 2 workers: the action server of the surviving Rasa
worker, so both the gateway's failover and the action path behind it are exercised); the
conversations running then or later that met an error, lost context or an order problem are
counted. The ratio then uses the scaled mode's figures before the kill, so that the kill does not
blur the comparison of the two modes.

Targets on 2 cores: scaled p95 < 1 s, 0 errors, 0 out of order, 0 lost context, no conversation
lost to the kill. A benchmark, not a test: it prints and writes figures, it does not fail on them.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import random
import secrets
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

import httpx
import psutil
from limits import parse_many

from bot.addresses import PostgresAddress
from bot.gateway import APOLOGY, RATE_LIMITED
from bot.processes import ROOT, Service, ServiceError, free_port
from bot.servers import postgres_directory
from retrieval.errors import TrolyaoError
from retrieval.goldset.metrics import percentile
from retrieval.index.layout import current_generation
from retrieval.index.store import PassageStore
from retrieval.ingest.references import doc_number_key
from retrieval.settings import Settings

# Follow-ups the dialogue answers from the document in focus (actions/focus.py), citing it.
SIGNER = "Văn bản đó do ai ký?"
ISSUED = "Văn bản đó ban hành ngày nào?"
ISSUER = "Văn bản đó của cơ quan nào?"
LEAD = "Ai chủ trì?"
TARGET_P95_MS = 1000.0
WORKERS_LINE = re.compile(r"run: Rasa workers (?P<rasa>.*?); action servers (?P<actions>.*)$")
URL = re.compile(r"https?://[^\s;,()]+")


class LoadTestError(RuntimeError):
    """A mode could not be started or stopped; the message ends with the launcher's last lines."""


# -- pure parts: conversations, judgements, figures ------------------------------------------------

@dataclass(frozen=True)
class Document:
    number: str
    doc_type: str | None
    leads: frozenset[str] = frozenset()     # the lead agencies of the tasks the index holds for it


@dataclass(frozen=True)
class Script:
    document: str
    turns: tuple[str, ...]


def scripts_for(documents: Iterable[Document]) -> list[Script]:
    """One 4-turn conversation per document: what it says, then its signer, date and a third
    follow-up. "Ai chủ trì?" only where the index gives the document one lead agency: with several
    the dialogue rightly asks which task (buttons, nothing cited), and with none it has nothing of
    that document to say; those documents are asked for their issuer instead."""
    return [Script(d.number, (f"{d.doc_type or 'Văn bản'} {d.number} nói gì?", SIGNER, ISSUED,
                              LEAD if len(d.leads) == 1 else ISSUER)) for d in documents]


def index_documents(index_dir: Path) -> list[Document]:
    """The documents the index holds passages of (not those it merely mentions), with their leads."""
    store = PassageStore(current_generation(index_dir) / "store.sqlite")
    try:
        types: dict[str, str | None] = {}
        for passage in store.passages():
            if passage.doc_number:
                types.setdefault(passage.doc_number, passage.doc_type)
        leads: dict[str, set[str]] = collections.defaultdict(set)
        for task in store.tasks():
            if task.doc_number and task.lead:
                leads[task.doc_number].add(task.lead)
    finally:
        store.close()
    return [Document(number, kind, frozenset(leads[number])) for number, kind in sorted(types.items())]


def judge(status: int, body: object, document: str | None) -> tuple[str | None, bool]:
    """(why the round trip failed or None, whether a follow-up about ``document`` lost its context).
    ``document`` is None for a conversation's first turn: nothing to follow up yet."""
    if status != 200:
        return f"HTTP {status}", False
    messages = body.get("messages") if isinstance(body, dict) else None
    if not messages:
        return "empty reply", False
    texts = {m.get("text") for m in messages}
    if APOLOGY in texts:        # the gateway could not reach Rasa or the actions in time
        return "apology", False
    if RATE_LIMITED in texts:
        return "rate limited", False
    if document is None:
        return None, False
    cited = {doc_number_key(c.get("doc_number") or "") for m in messages for c in m.get("citations") or []}
    return None, doc_number_key(document) not in cited


def order_problem(sent: Sequence[str], events: Iterable[dict], unsure: Collection[int] = ()) -> str | None:
    """None when Rasa's tracker ``events`` hold the user messages ``sent`` (distinct texts) each once,
    in the order sent; else what is wrong. A message whose round trip failed (its index in
    ``unsure``) may be missing: it may have failed before or after Rasa took it."""
    said = [e.get("text") for e in events if e.get("event") == "user"]
    position = 0                        # the next message of `sent` the tracker should show
    for text in said:
        if text in sent[position:]:
            found = sent.index(text, position)
            skipped = [i for i in range(position, found) if i not in unsure]
            if skipped:
                return f"{text!r} before {sent[skipped[0]]!r}"
            position = found + 1
        elif text in sent[:position]:
            return f"{text!r} twice or out of order"
        else:
            return f"{text!r} never sent in this conversation"
    missing = [sent[i] for i in range(position, len(sent)) if i not in unsure]
    return f"{missing[0]!r} missing" if missing else None


def latency_figures(samples_ms: Sequence[float]) -> dict[str, float | int | None]:
    return {"n": len(samples_ms), **{f"p{q}_ms": percentile(list(samples_ms), q) for q in (50, 95, 99)}}


def ratios(single: dict, scaled: dict) -> dict[str, float | None]:
    """scaled/single of each percentile (below 1: the scaled mode answers faster)."""
    return {f"p{q}": round(scaled[f"p{q}_ms"] / single[f"p{q}_ms"], 2)
            if scaled.get(f"p{q}_ms") and single.get(f"p{q}_ms") else None for q in (50, 95, 99)}


def rate_limit_problem(limit: str, turns: int, think_min: float) -> str | None:
    """Whether the gateway's per-sender limit would refuse a conversation of ``turns`` messages at
    least ``think_min`` seconds apart (each conversation has its own sender)."""
    for item in parse_many(limit):
        most = min(turns, int(item.get_expiry() / think_min) + 1 if think_min > 0 else turns)
        if most > item.amount:
            return f"rate limit {limit!r} allows {item.amount} messages a sender, a conversation sends {most}"
    return None


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.replace("–", "-").partition("-")
    bounds = (float(low), float(high or low))
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX seconds, got {text!r}")
    return bounds


def worker_urls(line: str) -> tuple[list[str], list[str]] | None:
    """The Rasa workers' and action servers' URLs from the launcher's "run: Rasa workers …" line:
    "…; action servers URL URL", or, where they share one address, "…; action servers at URL
    (each: URL URL)" (then each one's own URL)."""
    found = WORKERS_LINE.search(line)
    if not found:
        return None
    actions = found["actions"].rpartition("(each:")[2]
    return URL.findall(found["rasa"]), URL.findall(actions)


# -- one mode's launcher ---------------------------------------------------------------------------

class Launcher:
    """`python -m bot.run [--scaled]` as a child process on free ports and a throw-away data
    directory; stopped with SIGINT, as Ctrl-C stops `make run` (it stops what it started)."""

    def __init__(self, scaled: bool, index: Path, echo: bool = False):
        self.scaled, self.echo = scaled, echo
        self.data = Path(tempfile.mkdtemp(prefix="trolyao-loadtest-"))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.rasa_url = f"http://127.0.0.1:{free_port()}"
        self.workers: tuple[list[str], list[str]] | None = None     # scaled: (Rasa URLs, action URLs)
        self._workers_seen = threading.Event()
        self.api_key = secrets.token_urlsafe(24)    # the simulated users' senders are an integration's
        # No .env, no channel credentials, no worker list of the caller's: only what is set here.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "ZALO_", "MESSENGER_")) and not k.endswith("_WORKER_URLS")}
        env.update(TROLYAO_ENV_FILE="", TROLYAO_HOST="127.0.0.1", TROLYAO_PORT=self.url.rsplit(":", 1)[1],
                   TROLYAO_DATA=str(self.data), TROLYAO_INDEX=str(index),
                   TROLYAO_FEEDBACK=str(self.data / "feedback.sqlite3"), TROLYAO_RASA_URL=self.rasa_url,
                   TROLYAO_ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}", HF_HUB_OFFLINE="1",
                   TROLYAO_API_KEY=self.api_key,
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
        self.created: list[Path] = []      # directories outside self.data that the launcher will create
        if scaled:
            database = f"postgresql://trolyao@127.0.0.1:{free_port()}/trolyao"
            env.update(TROLYAO_REDIS_URL=f"redis://127.0.0.1:{free_port()}/1", TROLYAO_DATABASE_URL=database)
            # As root, the launcher's PostgreSQL cluster lives outside the data directory (bot/servers.py):
            # it and its parents that do not exist yet are ours to remove afterwards.
            cluster = postgres_directory(Settings(data=self.data), PostgresAddress.parse(database))
            self.created = [d for d in (cluster, *cluster.parents) if not d.exists()]
        argv = [str(ROOT / ".venv/bin/python"), "-m", "bot.run", *(["--scaled"] if self.scaled else [])]
        # A session of its own (Service): a Ctrl-C at the terminal reaches us, and we stop it in order.
        self.service = Service(self.name, argv, f"{self.url}/healthz", env, sys.stderr if echo else None,
                               inherit_env=False, on_line=self._saw)
        self.service.tail = collections.deque(maxlen=60)

    @property
    def name(self) -> str:
        return "scaled" if self.scaled else "single"

    @property
    def rasa_urls(self) -> list[str]:
        return self.workers[0] if self.workers else [self.rasa_url]

    @property
    def process(self) -> subprocess.Popen | None:
        return self.service.process

    @property
    def running(self) -> bool:
        return self.service.running

    def _saw(self, line: str) -> None:
        if self.workers is None and (found := worker_urls(line)):
            self.workers = found
            self._workers_seen.set()

    def start(self) -> "Launcher":
        self.service.start()
        return self

    def failure(self, what: str) -> LoadTestError:
        return LoadTestError(f"{self.name} mode: {what}; the launcher's last lines:\n" + "\n".join(self.service.tail))

    def wait_healthy(self, timeout: float) -> None:
        """The gateway's /healthz answers 200 (and, scaled, the workers' line was printed: before it)."""
        try:
            self.service.wait_healthy(timeout)
        except ServiceError as exc:
            raise LoadTestError(f"{self.name} mode: {exc}") from None
        if self.scaled and not self._workers_seen.wait(30):
            raise self.failure("the launcher never printed its workers")

    def kill_workers(self) -> list[str]:
        """SIGKILL the first Rasa worker and the last action server (with their children), found among
        the launcher's descendants by the port of their URL on their command line (`--port P`, or
        `--own-port P` for action servers sharing one port)."""
        if not self.workers or not self.running:
            return []
        rasa, actions = self.workers
        victims = {port_of(rasa[0]): "rasa-1", port_of(actions[-1]): f"actions-{len(actions)}"}
        killed = []
        for process in psutil.Process(self.process.pid).children(recursive=True):
            try:
                argv = process.cmdline()
                ports = {int(b) for a, b in zip(argv, argv[1:]) if a in ("--port", "--own-port") and b.isdigit()}
                port = next(iter(ports & victims.keys()), None)
                if port is None or process.parent().cmdline() == argv:   # a worker's own fork: killed with it
                    continue
                for target in (*process.children(recursive=True), process):
                    target.kill()
                killed.append(f"{victims[port]} (pid {process.pid})")
            except psutil.Error:    # gone meanwhile
                continue
        return killed

    def stop(self, timeout: float = 240) -> None:
        """SIGINT, as Ctrl-C; wait for the launcher to stop its children; force the tree otherwise."""
        try:
            if self.running:
                tree = psutil.Process(self.process.pid).children(recursive=True)
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    print(f"loadtest: {self.name} launcher did not stop in {timeout:.0f} s; killing it",
                          file=sys.stderr)
                    for process in (self.process, *tree):
                        try:
                            psutil.Process(process.pid).kill()
                        except psutil.Error:
                            pass
                    self.process.wait()
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
            if self.created:
                shutil.rmtree(self.created[0], ignore_errors=True)
                for parent in self.created[1:]:
                    try:
                        parent.rmdir()      # only when empty: another run may keep its cluster there
                    except OSError:
                        break


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


# -- the load --------------------------------------------------------------------------------------

@dataclass
class Turn:
    text: str
    at: float                    # when sent, seconds after the load began
    latency_ms: float | None     # None: no HTTP reply at all
    error: str | None = None
    lost_context: bool = False

    @property
    def done(self) -> float:
        return self.at + (self.latency_ms or 0) / 1000


@dataclass
class Conversation:
    sender: str                  # as sent to /api/chat; Rasa knows it as web:SENDER
    script: Script
    turns: list[Turn] = field(default_factory=list)
    verified: bool = False       # Rasa's tracker was read
    order: str | None = None     # what the tracker showed wrong, if anything

    @property
    def troubled(self) -> bool:
        return self.order is not None or any(t.error or t.lost_context for t in self.turns)


async def ask(http: httpx.AsyncClient, url: str, sender: str, text: str, document: str | None,
              clock: Callable[[], float]) -> Turn:
    at, started = clock(), time.perf_counter()
    try:
        response = await http.post(f"{url}/api/chat", json={"sender": sender, "message": text})
    except httpx.HTTPError as exc:
        return Turn(text, at, None, type(exc).__name__)
    latency = (time.perf_counter() - started) * 1000
    try:
        body = response.json()
    except ValueError:
        body = None
    error, lost = judge(response.status_code, body, document)
    return Turn(text, at, latency, error, lost)


async def talk(http: httpx.AsyncClient, url: str, conversation: Conversation, rng: random.Random,
               think: tuple[float, float], clock: Callable[[], float]) -> None:
    for number, text in enumerate(conversation.script.turns):
        if number:
            await asyncio.sleep(rng.uniform(*think))        # the user reading the answer and typing
        document = conversation.script.document if number else None
        conversation.turns.append(await ask(http, url, conversation.sender, text, document, clock))


async def user(http: httpx.AsyncClient, url: str, number: int, scripts: Sequence[Script], seed: int,
               think: tuple[float, float], until: float, clock: Callable[[], float], prefix: str,
               out: list[Conversation]) -> None:
    """One simulated person: conversation after conversation (a fresh sender each) until ``until``."""
    rng = random.Random(f"{seed}-{number}")    # the same scripts and pauses in both modes
    await asyncio.sleep(rng.uniform(0, think[1]))   # arrivals spread, not one burst at 0 s
    count = 0
    while clock() < until:
        conversation = Conversation(f"{prefix}-{number}-{count}", rng.choice(scripts))
        out.append(conversation)
        await talk(http, url, conversation, rng, think, clock)
        count += 1
        await asyncio.sleep(rng.uniform(*think))


async def verify_order(http: httpx.AsyncClient, rasa_urls: Sequence[str], conversations: Iterable[Conversation],
                       parallel: int = 4) -> None:
    """Read each conversation's tracker from the first Rasa worker that answers (scaled: the store is
    shared, so any worker has every conversation) and judge the order of its user messages."""
    gate = asyncio.Semaphore(parallel)      # a few at a time: the tracker reads must not become a load

    async def one(conversation: Conversation) -> None:
        unsure = {i for i, turn in enumerate(conversation.turns) if turn.error}
        async with gate:
            for url in rasa_urls:
                try:
                    response = await http.get(f"{url}/conversations/web:{conversation.sender}/tracker",
                                              params={"include_events": "ALL"}, timeout=30)
                    if response.status_code != 200:
                        continue
                    events = response.json().get("events") or []
                except (httpx.HTTPError, ValueError):
                    continue
                conversation.verified = True
                conversation.order = order_problem([t.text for t in conversation.turns], events, unsure)
                return

    await asyncio.gather(*(one(c) for c in conversations))


def summarize(conversations: Sequence[Conversation], seconds: float, kill: dict | None) -> dict:
    turns = [t for c in conversations for t in c.turns]
    follow_ups = [t for c in conversations for t in c.turns[1:]]
    errors = collections.Counter(t.error for t in turns if t.error)
    verified = [c for c in conversations if c.verified]
    result = {
        "seconds": round(seconds, 1), "conversations": len(conversations), "turns": len(turns),
        "latency": latency_figures([t.latency_ms for t in turns if t.latency_ms is not None]),
        "errors": sum(errors.values()), "error_kinds": dict(errors.most_common()),
        "follow_ups": len(follow_ups), "lost_context": sum(t.lost_context for t in follow_ups),
        "lost_context_examples": [f"{c.script.document}: {t.text}" for c in conversations
                                  for t in c.turns[1:] if t.lost_context][:5],
        "out_of_order": sum(c.order is not None for c in verified), "unverified": len(conversations) - len(verified),
        "out_of_order_examples": [f"{c.sender}: {c.order}" for c in verified if c.order][:5],
    }
    if kill is not None:
        at = kill["at"]
        later = [c for c in conversations if c.turns and c.turns[-1].done >= at]
        result["kill"] = {
            **kill, "latency_before": latency_figures([t.latency_ms for t in turns
                                                       if t.latency_ms is not None and t.done < at]),
            "conversations_from_kill": len(later), "affected": sum(c.troubled for c in later),
            "with_errors": sum(any(t.error for t in c.turns) for c in later),
            "with_lost_context": sum(any(t.lost_context for t in c.turns) for c in later),
            "out_of_order": sum(c.order is not None for c in later)}
    return result


async def load(launcher: Launcher, scripts: Sequence[Script], users: int, duration: float,
               think: tuple[float, float], seed: int, kill_at: float | None) -> dict:
    prefix = f"lt{uuid.uuid4().hex[:6]}-{launcher.name}"
    limits = httpx.Limits(max_connections=users + 8, max_keepalive_connections=users + 8)
    async with httpx.AsyncClient(timeout=60, limits=limits,
                                 headers={"Authorization": f"Bearer {launcher.api_key}"}) as http:
        warm = random.Random(seed)
        for number in range(4):     # unmeasured: first requests load lazily held structures, on every worker
            await talk(http, launcher.url, Conversation(f"{prefix}-warmup-{number}", scripts[number % len(scripts)]),
                       warm, (0, 0), lambda: 0.0)
        began = time.monotonic()
        clock = lambda: time.monotonic() - began    # noqa: E731 — the load's own time axis
        conversations: list[Conversation] = []
        kill: dict | None = None

        async def kill_later() -> None:
            nonlocal kill
            await asyncio.sleep(kill_at)
            killed = launcher.kill_workers()
            kill = {"at": round(clock(), 1), "killed": killed}
            print(f"loadtest: {launcher.name}: killed {', '.join(killed) or 'nothing (no worker found)'} "
                  f"at {kill['at']} s", file=sys.stderr, flush=True)

        killer = asyncio.create_task(kill_later()) if kill_at is not None else None
        await asyncio.gather(*(user(http, launcher.url, n, scripts, seed, think, duration, clock, prefix,
                                    conversations) for n in range(users)))
        seconds = clock()
        if killer is not None:
            killer.cancel()         # a kill later than the load did not happen
        await verify_order(http, launcher.rasa_urls, conversations)
    return summarize(conversations, seconds, kill)


# -- the run ---------------------------------------------------------------------------------------

def run_mode(scaled: bool, index: Path, scripts: Sequence[Script], args: argparse.Namespace,
             kill_at: float | None) -> dict:
    launcher = Launcher(scaled, index, echo=args.verbose)
    print(f"loadtest: starting the {launcher.name} mode (python -m bot.run{' --scaled' if scaled else ''}) "
          f"on {launcher.url}…", file=sys.stderr, flush=True)
    try:
        started = time.monotonic()
        launcher.start().wait_healthy(args.startup_timeout)
        print(f"loadtest: {launcher.name} healthy after {time.monotonic() - started:.0f} s; "
              f"{args.users} users for {args.duration:.0f} s…", file=sys.stderr, flush=True)
        result = asyncio.run(load(launcher, scripts, args.users, args.duration, args.think, args.seed, kill_at))
        result["launcher_alive_at_end"] = launcher.running
        return result
    finally:
        launcher.stop()


def report(results: dict) -> list[str]:
    config, modes = results["config"], results["modes"]
    lines = [f"\nLoad test of POST /api/chat: {config['users']} users, 4-turn follow-ups, think "
             f"{config['think_s'][0]:g}–{config['think_s'][1]:g} s, {config['duration_s']:g} s per mode, "
             f"{config['cpus']} cores",
             "Targets (2 cores): scaled p95 < 1 s, 0 errors, 0 out of order, 0 lost context; "
             "a killed worker costs no conversation",
             f"{'mode':<8}{'convs':>7}{'turns':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
             f"{'out of order':>14}{'lost context':>14}{'unverified':>12}"]
    for mode, r in modes.items():
        lat = r["latency"]
        lines.append(f"{mode:<8}{r['conversations']:>7}{r['turns']:>7}{fmt(lat['p50_ms']):>9}{fmt(lat['p95_ms']):>9}"
                     f"{fmt(lat['p99_ms']):>9}{r['errors']:>8}{r['out_of_order']:>14}"
                     f"{str(r['lost_context']) + '/' + str(r['follow_ups']):>14}{r['unverified']:>12}")
    for mode, r in modes.items():
        if r["error_kinds"]:
            lines.append(f"  {mode} errors: " + ", ".join(f"{k} {n}" for k, n in r["error_kinds"].items()))
        for example in r["lost_context_examples"] + r["out_of_order_examples"]:
            lines.append(f"  {mode} e.g. {example}")
        if not r["launcher_alive_at_end"]:
            lines.append(f"  {mode}: the launcher had stopped before the end of the load")
        if "kill" in r:
            k, before = r["kill"], r["kill"]["latency_before"]
            lines.append(f"  {mode}: killed {', '.join(k['killed']) or 'nothing'} at {k['at']} s; before it "
                         f"p50 {fmt(before['p50_ms'])} / p95 {fmt(before['p95_ms'])} / p99 {fmt(before['p99_ms'])} ms;"
                         f" {k['affected']} of {k['conversations_from_kill']} conversations from then on affected "
                         f"({k['with_errors']} with errors, {k['with_lost_context']} lost context, "
                         f"{k['out_of_order']} out of order)")
    if "ratio_scaled_single" in results:
        r = results["ratio_scaled_single"]
        lines.append(f"scaled/single latency: p50 ×{fmt(r['p50'])}  p95 ×{fmt(r['p95'])}  p99 ×{fmt(r['p99'])}"
                     + ("  (scaled before the kill)" if "kill" in modes.get("scaled", {}) else ""))
    if "scaled" in modes:
        p95 = modes["scaled"].get("kill", {}).get("latency_before") or modes["scaled"]["latency"]
        met = p95["p95_ms"] is not None and p95["p95_ms"] < TARGET_P95_MS
        lines.append(f"scaled p95 target (< {TARGET_P95_MS:.0f} ms): {'met' if met else 'NOT met'}")
    return lines


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def kill_time(text: str) -> str | float | None:
    if text in ("off", "half"):
        return None if text == "off" else text
    return float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load per mode (default 300)")
    parser.add_argument("--users", type=int, default=50, help="concurrent conversations (default 50)")
    parser.add_argument("--think", type=think_range, default=(1.0, 3.0), help="seconds between messages (1-3)")
    parser.add_argument("--modes", default="single,scaled", help="single,scaled (in that order)")
    parser.add_argument("--kill-at", type=kill_time, default=None, metavar="SECONDS|half|off",
                        help="scaled mode: SIGKILL a Rasa worker and an action server then (default off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-timeout", type=float, default=900, help="seconds to wait for a mode's /healthz")
    parser.add_argument("--out", type=Path, default=Path("bench-results/loadtest.json"))
    parser.add_argument("--verbose", action="store_true", help="echo the launchers' logs on stderr")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"single", "scaled"} or args.users < 1 or args.duration <= 0:
        parser.error("--modes takes single and/or scaled; --users and --duration must be positive")
    kill_at = args.duration / 2 if args.kill_at == "half" else args.kill_at
    try:
        settings = Settings.load()
    except TrolyaoError as exc:      # a setting of the wrong type
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    problem = rate_limit_problem(settings.rate_limit, 4, args.think[0])
    if problem:     # the launched gateway takes TROLYAO_RATE_LIMIT from this environment
        print(f"loadtest: {problem}: the load would measure the rate limit", file=sys.stderr)
        return 2
    index = settings.index_dir.resolve()
    try:
        scripts = scripts_for(index_documents(index))
    except TrolyaoError as exc:     # no index, or a damaged one: set-up builds it
        print(f"loadtest: cannot read the documents of {index}: {exc} (run make setup)", file=sys.stderr)
        return 1
    if not scripts:
        print(f"loadtest: the index {index} holds no numbered document to talk about", file=sys.stderr)
        return 1
    results: dict = {"config": {"users": args.users, "duration_s": args.duration, "think_s": list(args.think),
                                "modes": modes, "kill_at_s": kill_at, "seed": args.seed, "cpus": os.cpu_count(),
                                "index": str(index), "documents": len(scripts),
                                "when": dt.datetime.now().isoformat(timespec="seconds")},
                     "modes": {}}
    try:
        for mode in modes:
            results["modes"][mode] = run_mode(mode == "scaled", index, scripts, args,
                                              kill_at if mode == "scaled" else None)
    except LoadTestError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 1
    modes_done = results["modes"]
    if {"single", "scaled"} <= modes_done.keys():
        scaled = modes_done["scaled"]
        results["ratio_scaled_single"] = ratios(modes_done["single"]["latency"],
                                                scaled.get("kill", {}).get("latency_before") or scaled["latency"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\n".join(report(results)))
    print(f"(written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
