"""`make run`: the action server, Rasa and the gateway, each awaited healthy, logs prefixed, stopped
together on Ctrl-C (or when one dies, saying which)."""
from __future__ import annotations

import signal
import sys
import time
from urllib.parse import urlparse

from retrieval.errors import ConfigError
from retrieval.settings import Settings
from bot.processes import ROOT, Service, ServiceError, action_server, rasa_server, trained_model


def port_of(url: str) -> int:
    return urlparse(url).port or 80


def gateway_service(settings: Settings) -> Service:
    argv = [str(ROOT / ".venv/bin/python"), "-m", "uvicorn", "bot.app:create_app", "--factory",
            "--host", settings.host, "--port", str(settings.port), "--no-access-log"]
    return Service("gateway", argv, f"http://127.0.0.1:{settings.port}/healthz", {}, sys.stdout)


def main() -> int:
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
        print(f"\nTrợ lý ảo is running: open http://{settings.host}:{settings.port}/ (Ctrl-C stops everything)",
              flush=True)
        from bot.app import summary

        for line in summary(settings):
            print(f"  {line}", flush=True)
        while not stopping:
            dead = next((s for s in services if not s.running), None)
            if dead is not None:
                print(f"\nrun: {dead.name} stopped unexpectedly (exit code {dead.process.returncode}); "
                      "stopping the others.", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)   # supervision tick
        print("\nStopping…", flush=True)
        return 0
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
