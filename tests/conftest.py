"""Shared fixtures: paths to ../shared, an isolated user directory, no network beyond localhost."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"

# Honest markers (see pyproject.toml): a test is marked by what its fixtures do, so it cannot forget
# to say so. A test's fixture closure includes indirect uses (retrieval_service → sample_index →
# embedder; dialogue → sample_index). Tests that load the model or start Rasa in a child process
# without such a fixture carry the mark themselves.
MARKED_BY_FIXTURE = {
    "model": {"embedder", "whisper"},             # every index or service built with the real e5 model; Whisper
    "stack": {"dialogue", "archive_dialogue"},    # real Rasa and action server processes
}


def pytest_collection_modifyitems(items):
    for item in items:
        closure = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in MARKED_BY_FIXTURE.items():
            if closure & fixtures:
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the real default index; the model cache stays shared (read-only use)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("TROLYAO_INDEX", raising=False)
    monkeypatch.delenv("TROLYAO_MODEL", raising=False)
    monkeypatch.setenv("TROLYAO_ENV_FILE", "")   # a developer's .env never reaches a test
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail any test that opens a socket to anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach {address!r}: tests never use the network")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.txt"))
    assert files, f"sample corpus not found at {CORPUS}"
    return files


@pytest.fixture(scope="session")
def embedder():
    """The real embedded model (loaded on first use), shared by the session's indexes."""
    from retrieval.embedding.embedder import load_embedder

    return load_embedder(None)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, corpus_files, embedder) -> Path:
    """The two sample bulletins ingested with the real embedded model (the CLI's own tests run the CLI)."""
    from retrieval.pipeline import ingest

    root = tmp_path_factory.mktemp("sample") / "index"
    report = ingest(corpus_files, root, embedder)
    assert len(report.added) == len(corpus_files)
    return root


@pytest.fixture(scope="session")
def archive_index(tmp_path_factory, corpus_files, embedder) -> Path:
    """The sample weeks and every archive page (../shared/archive) in one index."""
    from retrieval.goldset.archive import corpus_and_archive
    from retrieval.pipeline import ingest

    root = tmp_path_factory.mktemp("archive") / "index"
    files = corpus_and_archive(SHARED)
    assert len(ingest(files, root, embedder).added) == len(files)
    return root


@pytest.fixture(scope="session")
def retrieval_service(sample_index):
    from retrieval.service import Retrieval

    return Retrieval(sample_index)


# Today as the dialogue sees it: inside the week of the 2024 sample bulletin, so that "tuần này"
# and "sắp đến hạn" have answers in the sample corpus.
DIALOGUE_TODAY = "2024-05-29"


@pytest.fixture(scope="session")
def dialogue(sample_index, tmp_path_factory):
    """The real Rasa server and action server on free local ports, over the sample index."""
    from bot.processes import DialogueStack
    from dialogue import Dialogue

    home = tmp_path_factory.mktemp("dialogue")
    feedback = home / "feedback.sqlite3"
    env = {"TROLYAO_INDEX": str(sample_index), "TROLYAO_FEEDBACK": str(feedback),
           "TROLYAO_TODAY": DIALOGUE_TODAY, "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with DialogueStack(env) as stack:
        yield Dialogue(stack.rasa_url, feedback, f"http://127.0.0.1:{stack.action_port}")


@pytest.fixture(scope="module")
def archive_dialogue(archive_index, tmp_path_factory) -> str:
    """The real dialogue over the archive index: its REST webhook URL."""
    from bot.processes import DialogueStack

    home = tmp_path_factory.mktemp("archive-dialogue")
    env = {"TROLYAO_INDEX": str(archive_index), "TROLYAO_FEEDBACK": str(home / "feedback.sqlite3"),
           "XDG_DATA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    with DialogueStack(env) as stack:
        yield f"{stack.rasa_url}/webhooks/rest/webhook"


@pytest.fixture
def gateway_settings(dialogue):
    """Gateway settings pointing at the real dialogue stack; channels off (tests turn them on)."""
    from retrieval.settings import Settings

    return Settings(rasa_url=dialogue.rasa_url, action_server_url=dialogue.actions_url)


@pytest.fixture(scope="session")
def hashing_index(tmp_path_factory, corpus_files) -> Path:
    """The two sample bulletins indexed with the fast test embedder: for tests of the stages above
    search that need no real model (the actions' own logic)."""
    from fakes import HashingEmbedder
    from retrieval.pipeline import ingest

    root = tmp_path_factory.mktemp("hashing") / "index"
    assert len(ingest(corpus_files, root, HashingEmbedder()).added) == len(corpus_files)
    return root


@pytest.fixture(scope="session")
def hashing_retrieval(hashing_index):
    from fakes import HashingEmbedder
    from retrieval.service import Retrieval

    return Retrieval(hashing_index, embedder=HashingEmbedder())


@pytest.fixture
def assistant(hashing_retrieval, tmp_path):
    """The actions' dependencies: the hashing index, a fresh feedback store, today pinned."""
    from actions.assistant import Assistant, pinned_or_real_today
    from retrieval.feedback import FeedbackStore

    return Assistant(lambda: hashing_retrieval, FeedbackStore(tmp_path / "feedback.sqlite3"),
                     pinned_or_real_today(DIALOGUE_TODAY))


@pytest.fixture
def talk(assistant):
    """A new in-process conversation with every custom action (see action_turns.py)."""
    from action_turns import ActionConversation
    from actions.server import actions_for

    actions = {action.name(): action for action in actions_for(assistant)}
    return lambda: ActionConversation(actions)


# Voice notes (bot/voice): without their set-up these fixtures skip the test, but when TROLYAO_VOICE
# is on (CI's .ci/run sets it) a missing extra, model or espeak-ng fails it instead.
VOICE_REQUIRED = os.environ.get("TROLYAO_VOICE", "").strip().lower() in ("1", "true", "yes", "on")


def voice_needs(condition: bool, what: str) -> None:
    if condition:
        return
    if VOICE_REQUIRED:
        pytest.fail(f"TROLYAO_VOICE is on but {what}")
    pytest.skip(f"{what} (set TROLYAO_VOICE=1 and run `make setup`)")


@pytest.fixture(scope="session")
def whisper_dir() -> Path:
    """The Whisper model folder set-up built (not loaded: see `whisper`)."""
    from bot.voice import model as model_files
    from bot.voice.transcriber import extra_installed
    from retrieval.settings import Settings

    folder = model_files.default_model_dir(Settings.load())
    voice_needs(extra_installed(), "the voice extra (faster-whisper, PyAV) is not installed")
    voice_needs(model_files.is_current(folder), f"the Whisper model is not built at {folder}")
    return folder


@pytest.fixture(scope="session")
def whisper(whisper_dir):
    """The real Whisper base, loaded once: `Transcriber(whisper_dir, load_model=lambda _: whisper)`."""
    from bot.voice.transcriber import load_whisper

    return load_whisper(whisper_dir)


@pytest.fixture(scope="session")
def speech():
    """espeak-ng as a function: speech(text, speed=150) → WAV bytes (bot/voice/speech.py)."""
    from bot.voice.speech import speak
    from bot.voice.transcriber import extra_installed

    voice_needs(extra_installed(), "the voice extra (PyAV) is not installed")
    voice_needs(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (scripts/test-deps.sh)")
    return speak
