"""`make run`: the action server, Rasa and the gateway, each awaited healthy, logs prefixed, stopped
together on Ctrl-C (or when one dies, saying which).

`make run-scaled` (`--scaled`): Redis and PostgreSQL (those answering at their URLs, else our own),
TROLYAO_RASA_WORKERS Rasa servers sharing them, TROLYAO_ACTION_WORKERS action servers, and the
gateway spreading users over the Rasa servers; a process that dies is restarted (the others carry
its conversations meanwhile); servers it did not start are left running."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlparse

from retrieval.errors import ConfigError
from retrieval.settings import Settings
from bot.addresses import SharedStores
from bot.processes import ROOT, Service, ServiceError, action_server, rasa_server, trained_model


def port_of(url: str) -> int:
    return urlparse(url).port or 80


def gateway_service(settings: Settings, env: dict[str, str] | None = None) -> Service:
    argv = [str(ROOT / ".venv/bin/python"), "-m", "uvicorn", "bot.app:create_app", "--factory",
            "--host", settings.host, "--port", str(settings.port), "--no-access-log",
            "--no-proxy-headers"]   # X-Forwarded-For: only TROLYAO_TRUSTED_PROXIES (bot/web_security.py)
    return Service("gateway", argv, f"http://127.0.0.1:{settings.port}/healthz", env or {}, sys.stdout)


def watcher_service(settings: Settings) -> Service | None:
    """`trolyao watch` over TROLYAO_WATCH's sources every TROLYAO_WATCH_EVERY (None when unset): one
    more supervised process. It has no health check: the launcher only sees that it runs."""
    if not settings.watch_sources:
        return None
    argv = [str(ROOT / ".venv/bin/python"), "-m", "retrieval.cli", "watch", *settings.watch_sources,
            "--every", settings.watch_every]
    return Service("watch", argv, "", {}, sys.stdout)


def announce(settings: Settings) -> None:
    print(f"\nTrợ lý ảo is running: open http://{settings.host}:{settings.port}/ (Ctrl-C stops everything)",
          flush=True)
    from bot.app import summary

    for line in summary(settings):
        print(f"  {line}", flush=True)
    if settings.watch_sources:
        print(f"  watch: {', '.join(settings.watch_sources)} every {settings.watch_every}", flush=True)


@dataclass
class Restarts:
    """The scale-out launcher restarts a process that died, unless it died ``limit`` times within
    ``window_s`` (a crash loop is a fault to report, not to hide)."""
    limit: int = 5
    window_s: float = 300.0
    deaths: dict[str, list[float]] = field(default_factory=dict)

    def allow(self, name: str, now: float) -> bool:
        recent = [at for at in self.deaths.get(name, []) if now - at < self.window_s] + [now]
        self.deaths[name] = recent
        return len(recent) <= self.limit


def supervise(services: list[Service], stopping: Callable[[], bool], restarts: Restarts | None = None,
              clock: Callable[[], float] = time.monotonic) -> int:
    """Until Ctrl-C (0), or until one of ``services`` dies (1, naming it) — or, with ``restarts``,
    restart each one that dies until it dies too often."""
    while not stopping():
        for service in services:
            if service.running:
                continue
            code = service.process.returncode
            if restarts is None or not restarts.allow(service.name, clock()):
                again = "" if restarts is None else \
                    f" ({restarts.limit + 1} times within {restarts.window_s:.0f} s: not restarted again)"
                print(f"\nrun: {service.name} stopped unexpectedly (exit code {code}){again}; "
                      "stopping the others.", file=sys.stderr, flush=True)
                return 1
            print(f"run: {service.name} died (exit code {code}); restarting it", file=sys.stderr, flush=True)
            service.start()
        time.sleep(0.5)   # supervision tick
    print("\nStopping…", flush=True)
    return 0


def run_scaled(settings: Settings, stopping: Callable[[], bool]) -> int:
    from bot.scaled import ScaledDialogue
    from bot.servers import ScaleOutServers

    with ScaleOutServers.of(settings) as servers:
        for server in (servers.redis, servers.postgres):
            print(f"run: {type(server).__name__} at port {server.address.port}: "
                  f"{'started here' if server.owned else 'already running, used as is'}", flush=True)
        shared = SharedStores(servers.redis.address, servers.postgres.address)
        # Half the gateway's timeout: a turn retried after its worker died still fits in it.
        with ScaledDialogue(shared, settings.rasa_workers, settings.action_workers, log_to=sys.stdout,
                            ticket_lifetime_s=settings.rasa_timeout_s / 2) as dialogue:
            print(f"run: Rasa workers {' '.join(dialogue.rasa_urls)}; action servers at {dialogue.action_url} "
                  f"(each: {' '.join(dialogue.action_urls)})", flush=True)
            gateway = gateway_service(settings, {
                "TROLYAO_SCALED": "1", "TROLYAO_RASA_WORKER_URLS": ",".join(dialogue.rasa_urls),
                "TROLYAO_ACTION_SERVER_URL": dialogue.action_url,
                "TROLYAO_ACTION_WORKER_URLS": ",".join(dialogue.action_urls),
                "TROLYAO_REDIS_URL": shared.redis.url, "TROLYAO_DATABASE_URL": shared.database.url}).start()
            watcher = watcher_service(settings)
            try:
                gateway.wait_healthy(60)
                if watcher is not None:
                    watcher.start()
                announce(settings)
                return supervise([*dialogue.services, gateway, *([watcher] if watcher else [])], stopping,
                                 Restarts())
            finally:
                if watcher is not None:
                    watcher.stop()
                gateway.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scaled", action="store_true", help="the scale-out mode (make run-scaled)")
    scaled = parser.parse_args(argv).scaled
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 2
    stopping = False

    def stop_requested(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_requested)
    signal.signal(signal.SIGTERM, stop_requested)
    if scaled:
        try:
            return run_scaled(settings, lambda: stopping)
        except (ServiceError, ConfigError, ValueError) as exc:
            print(f"run: {exc}", file=sys.stderr, flush=True)
            return 1
    action_port, rasa_port = port_of(settings.action_server_url), port_of(settings.rasa_url)
    services = [action_server(action_port, log_to=sys.stdout)]
    try:
        model = trained_model()
        services.append(rasa_server(rasa_port, model, action_port, log_to=sys.stdout,
                                    conversations=settings.conversations_path))
        for service in services:
            service.start()
        for service, timeout in zip(services, (180, 300)):
            service.wait_healthy(timeout)
        gateway = gateway_service(settings).start()
        services.append(gateway)
        gateway.wait_healthy(60)
        watcher = watcher_service(settings)
        if watcher is not None:
            services.append(watcher.start())
        announce(settings)
        return supervise(services, lambda: stopping)
    except ServiceError as exc:
        dead = next((s for s in services if s.process is not None and not s.running), None)
        if dead is not None:   # a process that died made another one look unhealthy: name the cause
            print(f"\nrun: {dead.name} stopped unexpectedly (exit code {dead.process.returncode}); "
                  "stopping the others.", file=sys.stderr, flush=True)
        print(f"run: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
