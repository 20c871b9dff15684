"""The dialogue side of the scale-out mode: N Rasa workers sharing one Redis lock store and one
PostgreSQL tracker store, and M action servers. Rasa worker i calls action server i mod M (Rasa
takes one action endpoint), so the action load spreads as the conversations do.
"""
from __future__ import annotations

from typing import IO

from bot.addresses import SharedStores
from bot.processes import Service, action_server, free_port, rasa_server, trained_model


class ScaledDialogue:
    """``with ScaledDialogue(shared, 2, 1, env) as d: d.rasa_urls`` — every worker healthy on enter,
    all stopped on exit. The servers behind ``shared`` are the caller's (bot.servers)."""

    def __init__(self, shared: SharedStores, rasa_workers: int, action_workers: int,
                 env: dict[str, str] | None = None, log_to: IO[str] | None = None):
        if rasa_workers < 1 or action_workers < 1:
            raise ValueError("the scale-out mode needs at least one Rasa worker and one action worker")
        self.shared, self.env, self.log_to = shared, env or {}, log_to
        self.action_ports = [free_port() for _ in range(action_workers)]
        self.rasa_ports = [free_port() for _ in range(rasa_workers)]
        self.services: list[Service] = []

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def action_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.action_ports]

    def __enter__(self) -> "ScaledDialogue":
        try:
            model = trained_model()
            for number, port in enumerate(self.action_ports, start=1):
                self._start(action_server(port, self.env, self.log_to), f"actions-{number}")
            for number, port in enumerate(self.rasa_ports, start=1):
                action_port = self.action_ports[(number - 1) % len(self.action_ports)]
                self._start(rasa_server(port, model, action_port, self.env, self.log_to, shared=self.shared),
                            f"rasa-{number}")
            for service in self.services:    # all start in parallel; Rasa takes longest
                service.wait_healthy(timeout=300)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, service: Service, name: str) -> None:
        service.name = name
        self.services.append(service.start())

    def __exit__(self, *exc) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
