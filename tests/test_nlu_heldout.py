"""The held-out intent set (eval/nlu_heldout.yml) is what it claims to be: apart from the training data,
covering every intent, and typed as people type in chat for at least a third of it."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from nlu.examples import chat_typed, normalised, read_examples

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "eval/nlu_heldout.yml"


@pytest.fixture(scope="module")
def heldout():
    return read_examples(HELDOUT)


@pytest.fixture(scope="module")
def domain_intents():
    return set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


def test_at_least_150_messages(heldout):
    assert len(heldout) >= 150


def test_every_intent_is_one_of_the_domain_and_every_domain_intent_is_measured(heldout, domain_intents):
    used = {example.intent for example in heldout}
    assert used <= domain_intents, f"not in domain.yml: {sorted(used - domain_intents)}"
    assert used == domain_intents, f"never measured: {sorted(domain_intents - used)}"


def test_at_least_a_third_typed_without_diacritics_or_with_chat_shorthand(heldout):
    typed = sum(chat_typed(example.text) for example in heldout)
    assert typed * 3 >= len(heldout), f"{typed} of {len(heldout)}"


def test_no_message_is_a_training_example_after_normalisation(heldout):
    training = {normalised(example.text): example.text for example in read_examples(ROOT / "data/nlu.yml")}
    copied = [(example.text, training[normalised(example.text)]) for example in heldout
              if normalised(example.text) in training]
    assert not copied, f"held-out messages equal to training examples: {copied}"


def test_no_message_is_listed_twice(heldout):
    counts = Counter(normalised(example.text) for example in heldout)
    assert not [text for text, n in counts.items() if n > 1]


@pytest.mark.parametrize("text, typed", [
    ("ai chủ trì việc này", False), ("ai chu tri viec nay", True), ("sở y tế dc giao gì", True),
    ("Công văn 704 nói gì", False), ("👍", False),
])
def test_chat_typed_means_no_diacritics_or_a_shorthand(text, typed):
    assert chat_typed(text) is typed


def test_normalisation_ignores_case_diacritics_shorthand_annotations_and_punctuation():
    assert normalised("Văn bản này ai ký?") == normalised("vb nay ai ky")
    assert [e.text for e in read_examples(ROOT / "data/nlu.yml") if "](" in e.text] == []
