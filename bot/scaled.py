"""The dialogue side of the scale-out mode: N Rasa workers sharing one Redis lock store and one
PostgreSQL tracker store, and M action servers sharing one port.

Rasa takes one action endpoint, so the action servers listen on one address together (SO_REUSEPORT:
the kernel spreads Rasa's connections over the live ones; a killed worker's share moves to the others
at once) and each on a port of its own for its health check. A Rasa worker that dies holding a
user's ticket lock blocks that user until the ticket expires; the tickets live `ticket_lifetime_s`
(Rasa's TICKET_LOCK_LIFETIME, default 60 s), which the launcher sets below the gateway's timeout so
that the next worker can continue the conversation in time.
"""
from __future__ import annotations

import math
from typing import IO

from bot.addresses import SharedStores
from bot.processes import Service, action_server, free_port, rasa_server, trained_model

DEFAULT_TICKET_LIFETIME_S = 60


class ScaledDialogue:
    """``with ScaledDialogue(shared, 2, 1, env) as d: d.rasa_urls`` — every worker healthy on enter,
    all stopped on exit. The servers behind ``shared`` are the caller's (bot.servers)."""

    def __init__(self, shared: SharedStores, rasa_workers: int, action_workers: int,
                 env: dict[str, str] | None = None, log_to: IO[str] | None = None,
                 ticket_lifetime_s: float = DEFAULT_TICKET_LIFETIME_S):
        if rasa_workers < 1 or action_workers < 1:
            raise ValueError("the scale-out mode needs at least one Rasa worker and one action worker")
        self.shared, self.env, self.log_to = shared, env or {}, log_to
        self.ticket_lifetime_s = max(1, math.floor(ticket_lifetime_s))   # Rasa reads whole seconds
        self.action_port = free_port()
        self.action_own_ports = [free_port() for _ in range(action_workers)]
        self.rasa_ports = [free_port() for _ in range(rasa_workers)]
        self.services: list[Service] = []

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def action_url(self) -> str:
        """Where Rasa calls the actions: every action worker at once."""
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def action_urls(self) -> list[str]:
        """Each action worker alone (its health)."""
        return [f"http://127.0.0.1:{port}" for port in self.action_own_ports]

    def __enter__(self) -> "ScaledDialogue":
        try:
            model = trained_model()
            for number, own_port in enumerate(self.action_own_ports, start=1):
                self._start(action_server(self.action_port, self.env, self.log_to, own_port), f"actions-{number}")
            rasa_env = {**self.env, "TICKET_LOCK_LIFETIME": str(self.ticket_lifetime_s)}
            for number, port in enumerate(self.rasa_ports, start=1):
                self._start(rasa_server(port, model, self.action_port, rasa_env, self.log_to, shared=self.shared),
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
