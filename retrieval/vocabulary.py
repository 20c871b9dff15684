"""The hand-kept word lists (stop words, question words, cues, chat shorthand) of every stage.

They live as data in ``retrieval/data/vocabulary.yaml`` (what each list is for and who reads it
is said there); this module only loads them, once. Retrieval is the lowest stage, so the NLU
components (Python 3.10, no torch) and the actions import it too: plain PyYAML, nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import yaml

VOCABULARY_FILE = Path(__file__).with_name("data") / "vocabulary.yaml"

Words = tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    chat_shorthand: Mapping[str, Words]           # words meant → forms typed in chat
    chat_shorthand_intents: Mapping[str, Words]   # folded; only for the intent classifier
    chat_rewrites: Words
    question_words: Words
    task_query_scaffolding: Words
    diacritic_prior_phrases: Words
    digest_not_topic: Words
    document_generic_words: Words
    signer_cues: Words
    date_cues: Words
    issuer_cues: Words
    issuance_cues: Words
    option_ordinals: Mapping[str, int]
    action_words: Words
    name_stops: Words
    issuer_name_stops: Words
    agency_name_stops: Words
    issuer_name_stop_bigrams: Words
    clause_blockers: Words
    partner_stops: Words
    place_words: Words


def typed_forms(shorthand: Mapping[str, Words]) -> dict[str, str]:
    """``chat_shorthand`` turned round: each form typed → the words it stands for."""
    return {form: meant for meant, forms in shorthand.items() for form in forms}


def _value(name: str, raw: object) -> object:
    if isinstance(raw, list):
        return tuple(raw)
    if isinstance(raw, dict):
        return MappingProxyType({k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    raise ValueError(f"{VOCABULARY_FILE.name}: {name} must be a list or a mapping")


def load_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = {f.name for f in fields(Vocabulary)}
    if set(data) != names:
        raise ValueError(f"{path.name}: unknown lists {sorted(set(data) - names)}, "
                         f"missing lists {sorted(names - set(data))}")
    return Vocabulary(**{name: _value(name, raw) for name, raw in data.items()})


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once per process."""
    return load_vocabulary()
