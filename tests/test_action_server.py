"""The action server's wiring: every action of domain.yml registered with its dependencies, a new
index generation picked up without a restart (keeping the loaded model), bad settings refused."""
from __future__ import annotations

import logging
import shutil

import pytest
import yaml
from fakes import HashingEmbedder

from actions.assistant import Assistant, LiveRetrieval, pinned_or_real_today
from actions.server import executor_for
from retrieval.errors import ModelMismatchError
from retrieval.index import layout
from retrieval.index.hybrid import STORE_FILE
from retrieval.pipeline import ingest
from retrieval.schema import AUDIENCES
from retrieval.service import Retrieval
from conftest import REPO


def test_every_action_of_the_domain_is_registered_and_nothing_else(assistant):
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    assert set(executor_for(assistant).actions) == set(domain["actions"])


def test_a_new_generation_is_picked_up_and_keeps_the_loaded_model(tmp_path, corpus_files):
    index_dir = tmp_path / "index"
    ingest(corpus_files[:1], index_dir, HashingEmbedder())
    model = HashingEmbedder()
    live = LiveRetrieval(index_dir, embedder=model)
    first = live()
    assert live() is first                           # same generation: the same loaded core
    ingest(corpus_files, index_dir, HashingEmbedder())
    second = live()
    assert second is not first and len(second.index) > len(first.index)
    assert second.embedder is model


def test_a_server_loads_a_new_generation_in_the_background_while_the_held_one_answers(tmp_path, corpus_files):
    index_dir = tmp_path / "index"
    ingest(corpus_files[:1], index_dir, HashingEmbedder())
    model = HashingEmbedder()
    live = LiveRetrieval(index_dir, embedder=model, background=True, audiences=AUDIENCES)
    first = live()                                   # the first load: on the request, as at start
    ingest(corpus_files, index_dir, HashingEmbedder())
    assert live() is first                           # the new one is being loaded: the held one answers
    assert live.wait_settled(timeout=120)
    second = live()
    assert second is not first and len(second.index) > len(first.index) and second.embedder is model
    for audience in AUDIENCES:                       # warmed before the swap: no question builds these
        assert {"searcher", "documents", "tasks"} <= set(second.view(audience).__dict__)


def test_a_generation_that_fails_to_load_leaves_the_held_one_answering(tmp_path, corpus_files, caplog):
    index_dir = tmp_path / "index"
    ingest(corpus_files[:1], index_dir, HashingEmbedder())
    live = LiveRetrieval(index_dir, embedder=HashingEmbedder(), background=True)
    first = live()
    sound = layout.current_generation(index_dir)

    def publish_copy(leave_out: str = "") -> None:
        work = layout.new_generation_dir(index_dir)
        for part in sound.iterdir():
            if part.name != leave_out:
                (shutil.copytree if part.is_dir() else shutil.copy2)(part, work / part.name)
        layout.publish(index_dir, work)

    publish_copy(leave_out=STORE_FILE)                # a generation without its passage store
    with caplog.at_level(logging.ERROR, logger="actions.assistant"):
        assert live() is first
        assert live.wait_settled(timeout=60)
    assert "could not be loaded" in caplog.text
    assert live() is first and live.wait_settled(timeout=0)   # not tried again on every request
    publish_copy()                                            # a sound generation after it is taken
    assert live() is first and live.wait_settled(timeout=60)
    assert live() is not first and len(live().index) == len(first.index)


def test_the_core_refuses_a_model_that_did_not_build_the_index(hashing_index):
    class Other(HashingEmbedder):
        name = "another-model"

    with pytest.raises(ModelMismatchError, match="test-hashing-embedder"):
        Retrieval(hashing_index, embedder=Other())


def test_a_pinned_today_must_be_a_date():
    assert pinned_or_real_today("2024-05-29")() == "2024-05-29"
    with pytest.raises(ValueError):
        pinned_or_real_today("29/5/2024")


def test_each_turn_reads_one_generation_and_todays_date(hashing_retrieval):
    days = iter(["2024-05-29", "2024-05-30"])
    assistant = Assistant(lambda: hashing_retrieval, None, lambda: next(days))
    first, second = assistant.core(), assistant.core()
    assert (first.today, second.today) == ("2024-05-29", "2024-05-30")
    assert first.retrieval is second.retrieval is hashing_retrieval
