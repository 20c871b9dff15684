"""Strict loader of the gold-set YAML: every problem names the item and its line, nothing is skipped.

The file is composed into YAML nodes (not plain objects) so each item, turn and key keeps the
line it was written on; scalars are then converted by PyYAML's safe constructor.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from retrieval.errors import InputError
from retrieval.goldset.model import DEFAULT_KIND, MULTI_TURN_KIND, GoldItem, GoldQuestion
from retrieval.ingest.references import normalize_doc_number
from retrieval.text import nfc

QUESTION_KEYS = {"question", "expected_docs", "must_contain", "abstain", "source_quote", "note"}
ITEM_KEYS = {"id", "kind", "feedback", "source"} | QUESTION_KEYS
CONVERSATION_KEYS = {"id", "kind", "turns", "note", "feedback", "source"}
FEEDBACK_KEYS = {"rating", "conversation_ids", "created_at", "answer_given", "citations_given"}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_DOC_RE = re.compile(r"^\d+\s*[/\-]\s*\w[^/]*(/\s*\w.*)?$")   # "924/QĐ-UBND", "69-KL/TW", "73/2019/NĐ-CP"
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"


class _Where:
    """Formats errors as "FILE:LINE: item ID: problem"."""

    def __init__(self, name: str):
        self.name = name

    def error(self, node: Node, problem: str, item_id: str | None = None) -> InputError:
        line = node.start_mark.line + 1
        who = f"item {item_id}: " if item_id else ""
        return InputError(f"{self.name}:{line}: {who}{problem}")


def load_gold(path: Path) -> list[GoldItem]:
    """Read and validate a gold-set file; raises InputError naming the file, line and item."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text") from exc
    return loads_gold(text, str(path))


def loads_gold(text: str, name: str = "<gold>") -> list[GoldItem]:
    where = _Where(name)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{name}:{line} not valid YAML ({problem})") from exc
    if root is None:
        raise InputError(f"{name}: no gold items (the file is empty)")
    if not isinstance(root, SequenceNode):
        raise where.error(root, "expected a list of items (each starting with '- id: …')")
    if not root.value:
        raise InputError(f"{name}: no gold items (the list is empty)")
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for number, node in enumerate(root.value, start=1):
        item = _item(node, number, where)
        if item.id in seen:
            raise where.error(node, f"duplicate id (first used on line {seen[item.id]})", item.id)
        seen[item.id] = item.line
        items.append(item)
    return items


def _pairs(node: Node, where: _Where, item_id: str | None, allowed: set[str],
           what: str) -> dict[str, tuple[Node, Node]]:
    """A mapping node's entries as {key: (key_node, value_node)}; unknown or repeated keys are errors."""
    if not isinstance(node, MappingNode):
        raise where.error(node, f"{what} must be a mapping of keys to values", item_id)
    pairs: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise where.error(key_node, f"{what} has a key that is not a plain word", item_id)
        key = key_node.value
        if key in pairs:
            raise where.error(key_node, f"key '{key}' is given twice", item_id)
        if key not in allowed:
            raise where.error(key_node, f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})",
                              item_id)
        pairs[key] = (key_node, value_node)
    return pairs


def _string(node: Node, where: _Where, item_id: str | None, key: str, allow_empty: bool = False) -> str:
    """A scalar as written (numbers such as 115 or 10/6/2024 are kept as text)."""
    if not isinstance(node, ScalarNode) or (node.tag == _NULL_TAG and node.style is None):
        raise where.error(node, f"'{key}' must be a text value", item_id)
    value = nfc(node.value).strip()
    if not value and not allow_empty:
        raise where.error(node, f"'{key}' is empty", item_id)
    return value


def _strings(node: Node, where: _Where, item_id: str | None, key: str, single_ok: bool = False) -> list[str]:
    if single_ok and isinstance(node, ScalarNode):
        value = _string(node, where, item_id, key, allow_empty=True)
        return [value] if value else []
    if not isinstance(node, SequenceNode):
        raise where.error(node, f"'{key}' must be a list of texts, e.g. [\"…\"]", item_id)
    return [_string(child, where, item_id, key) for child in node.value]


def _bool(node: Node, where: _Where, item_id: str | None, key: str) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != _BOOL_TAG:
        raise where.error(node, f"'{key}' must be true or false", item_id)
    return bool(yaml.SafeLoader("").construct_object(node))


def _doc_numbers(node: Node, where: _Where, item_id: str | None) -> tuple[str, ...]:
    numbers = []
    raws = _strings(node, where, item_id, "expected_docs")   # a list of texts, or an error
    for child, raw in zip(node.value, raws, strict=True):
        if not _DOC_RE.match(raw) or "/" not in raw:
            raise where.error(child, f"'{raw}' in expected_docs is not a document number like 143/KH-UBND",
                              item_id)
        numbers.append(normalize_doc_number(raw))
    return tuple(numbers)


def _question(node: Node, where: _Where, item_id: str | None, allowed: set[str], what: str) -> GoldQuestion:
    pairs = _pairs(node, where, item_id, allowed, what)
    if "question" not in pairs:
        raise where.error(node, f"{what} has no 'question'", item_id)
    get = {key: value for key, (_, value) in pairs.items()}
    question = _string(get["question"], where, item_id, "question")
    expected = _doc_numbers(get["expected_docs"], where, item_id) if "expected_docs" in get else ()
    must = tuple(_strings(get["must_contain"], where, item_id, "must_contain")) if "must_contain" in get else ()
    abstain = _bool(get["abstain"], where, item_id, "abstain") if "abstain" in get else False
    quotes = tuple(_strings(get["source_quote"], where, item_id, "source_quote", single_ok=True)) \
        if "source_quote" in get else ()
    note = _string(get["note"], where, item_id, "note", allow_empty=True) if "note" in get else ""
    if abstain and (expected or must):
        raise where.error(node, "abstain: true cannot go with expected_docs or must_contain", item_id)
    if not abstain:
        if not expected and not must:
            raise where.error(node, f"{what} expects an answer but gives neither expected_docs nor must_contain "
                                    "(fill them in, or set abstain: true)", item_id)
        if not quotes:
            raise where.error(node, f"{what} expects an answer but has no source_quote "
                                    "(copy the supporting sentence from the bulletin)", item_id)
    return GoldQuestion(question=question, expected_docs=expected, must_contain=must, abstain=abstain,
                        source_quote=quotes, note=note, line=node.start_mark.line + 1)


def _feedback(node: Node, where: _Where, item_id: str) -> dict[str, Any]:
    pairs = _pairs(node, where, item_id, FEEDBACK_KEYS, "feedback")
    data: dict[str, Any] = {}
    for key, (_, value) in pairs.items():
        if key in ("conversation_ids", "citations_given"):
            data[key] = _strings(value, where, item_id, key)
        else:
            data[key] = _string(value, where, item_id, key, allow_empty=True)
    return data


def _item(node: Node, number: int, where: _Where) -> GoldItem:
    if not isinstance(node, MappingNode):
        raise where.error(node, f"item {number} must be a mapping starting with '- id: …'")
    # Find the id first so every later error can name the item.
    item_id = None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "id":
            item_id = _string(value_node, where, f"#{number}", "id")
            if not _ID_RE.match(item_id):
                raise where.error(value_node, "id may hold only letters, digits, '.', '_' and '-'", item_id)
    if item_id is None:
        raise where.error(node, f"item {number} has no 'id'")
    keys = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
    multi = "turns" in keys
    if multi and "question" in keys:
        raise where.error(node, "give either 'question' or 'turns', not both", item_id)
    if not multi and "question" not in keys:
        raise where.error(node, "has neither 'question' nor 'turns'", item_id)
    allowed = CONVERSATION_KEYS if multi else ITEM_KEYS
    pairs = _pairs(node, where, item_id, allowed, "an item")
    get = {key: value for key, (_, value) in pairs.items()}
    kind = _string(get["kind"], where, item_id, "kind") if "kind" in get else \
        (MULTI_TURN_KIND if multi else DEFAULT_KIND)
    feedback = _feedback(get["feedback"], where, item_id) if "feedback" in get else None
    source = _string(get["source"], where, item_id, "source") if "source" in get else ""
    if multi:
        turns_node = get["turns"]
        if not isinstance(turns_node, SequenceNode) or not turns_node.value:
            raise where.error(turns_node, "'turns' must be a non-empty list of questions", item_id)
        turns = tuple(_question(t, where, item_id, QUESTION_KEYS, f"turn {i}")
                      for i, t in enumerate(turns_node.value, start=1))
        note = _string(get["note"], where, item_id, "note", allow_empty=True) if "note" in get else ""
        return GoldItem(id=item_id, kind=kind, turns=turns, multi_turn=True, note=note, feedback=feedback,
                        source=source, line=node.start_mark.line + 1)
    question_keys = QUESTION_KEYS
    question_node = MappingNode(node.tag, [(k, v) for k, v in node.value if k.value in question_keys],
                                start_mark=node.start_mark, end_mark=node.end_mark)
    question = _question(question_node, where, item_id, question_keys, "the item")
    return GoldItem(id=item_id, kind=kind, turns=(question,), multi_turn=False, note=question.note,
                    feedback=feedback, source=source, line=node.start_mark.line + 1)
