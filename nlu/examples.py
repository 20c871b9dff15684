"""Intent examples read from Rasa NLU YAML files, without Rasa: the training data and the held-out set.

Plain Python (PyYAML only), so the evaluation (.venv-rasa) and the tests (.venv) read the files
the same way: entity annotations stripped, one typed example per line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlu.normalize import CHAT_SHORTHAND, lemma
from retrieval.text import has_diacritics

# "[Sở Y tế](agency)" and "[Sở Y tế]{"entity": "agency"}" → "Sở Y tế".
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Example:
    text: str      # as typed, annotations removed
    intent: str


def strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def read_examples(path: Path) -> list[Example]:
    """Every intent example of a Rasa NLU YAML file, in file order."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    examples = []
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue   # synonyms, lookups, regexes
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples.append(Example(strip_annotations(line[2:].strip()), str(block["intent"])))
    return examples


def normalised(text: str) -> str:
    """The form the classifier sees, words only: case, diacritics, shorthand and punctuation ignored."""
    words = _WORD.findall(text)
    return " ".join(lemma(word, words[i + 1] if i + 1 < len(words) else "") for i, word in enumerate(words))


def chat_typed(text: str) -> bool:
    """Typed as in chat: words without any diacritic, or a chat shorthand ("ko", "dc", "bn", "vs")."""
    words = _WORD.findall(text.lower())
    letters = [w for w in words if not w.isdigit()]
    return bool(letters) and (not has_diacritics(text) or any(w in CHAT_SHORTHAND for w in letters))
