"""Ways to ask the assistant one message: in-process (the retrieval core) or over REST.

Both implement ``Runner``: ``ask(sender, question) -> Reply``. Only a runner with
``dialogue = True`` keeps a conversation per sender, so only it can run multi-turn items.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from retrieval.errors import TrolyaoError
from retrieval.goldset.model import Reply


class RunnerError(TrolyaoError):
    """One question could not be asked or its reply was not understood (judged as a failure)."""


class UnreachableError(TrolyaoError):
    """The assistant cannot be reached at all: the run stops."""


class Runner(Protocol):
    name: str
    dialogue: bool

    def ask(self, sender: str, question: str) -> Reply: ...


class InProcessRunner:
    """``Retrieval.ask`` in this process: single questions, no dialogue state."""

    dialogue = False

    def __init__(self, service: Any):
        self.service = service
        self.name = f"in-process ({getattr(getattr(service, 'index', None), 'root', 'index')})"

    @classmethod
    def from_index(cls, index_dir: Path, model: str | None = None) -> InProcessRunner:
        from retrieval.service import Retrieval

        service = Retrieval(index_dir, model)
        service.warm_up()   # model load is not the first question's latency
        return cls(service)

    def ask(self, sender: str, question: str) -> Reply:
        start = time.perf_counter()
        answer = self.service.ask(question)
        elapsed = (time.perf_counter() - start) * 1000
        data = answer.to_dict()
        return Reply(text=data["answer"], citations=data["citations"], abstained=bool(data["abstained"]),
                     latency_ms=elapsed)


def parse_rest_reply(data: Any) -> Reply:
    """A reply in either shape the assistant speaks over HTTP.

    (a) Rasa's REST channel: a list of messages, each ``{"text", "buttons"}`` or
        ``{"custom": {"citations": [...], "abstained": bool}}``;
    (b) the gateway's ``/api/chat``: ``{"messages": [{"text", "buttons", "citations", "abstained"}]}``.
    Texts are joined with new lines; citations follow the ``trolyao ask --json`` schema.
    """
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        messages, shape = data["messages"], "gateway"
    elif isinstance(data, list):
        messages, shape = data, "rasa"
    else:
        raise RunnerError("reply is neither a list of Rasa messages nor an object with 'messages'")
    texts: list[str] = []
    citations: list[dict[str, Any]] = []
    abstained = False
    for message in messages:
        if not isinstance(message, dict):
            raise RunnerError(f"a message of the reply is not an object: {message!r:.80}")
        parts = [message]
        if shape == "rasa" and "custom" in message:
            if not isinstance(message["custom"], dict):
                raise RunnerError("a Rasa 'custom' payload is not an object")
            parts.append(message["custom"])
        for part in parts:
            if isinstance(part.get("text"), str) and part["text"].strip():
                texts.append(part["text"])
            found = part.get("citations")
            if found is not None:
                if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
                    raise RunnerError("'citations' must be a list of objects")
                citations.extend(found)
            abstained = abstained or part.get("abstained") is True
    return Reply(text="\n".join(texts), citations=citations, abstained=abstained)


class RestRunner:
    """POSTs ``{"sender", "message"}`` to a running assistant (Rasa webhook or the gateway). The
    gateway takes a sender only from an integration: ``api_key`` (TROLYAO_API_KEY) is sent as
    `Authorization: Bearer …` when given."""

    dialogue = True

    def __init__(self, url: str, timeout: float = 60.0, client: Any = None, api_key: str | None = None):
        import httpx

        self.url = url
        self.name = f"REST {url}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout, headers=headers)

    def ask(self, sender: str, question: str) -> Reply:
        import httpx

        start = time.perf_counter()
        try:
            response = self._client.post(self.url, json={"sender": sender, "message": question})
        except httpx.ConnectError as exc:
            raise UnreachableError(f"cannot reach {self.url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise RunnerError(f"{type(exc).__name__}: {exc}") from exc
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code >= 400:
            raise RunnerError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise RunnerError(f"reply is not JSON: {response.text[:200]!r}") from exc
        reply = parse_rest_reply(data)
        reply.latency_ms = elapsed
        return reply

    def close(self) -> None:
        self._client.close()
