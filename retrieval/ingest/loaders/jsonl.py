"""JSONL (or a JSON array): passages as given, ids kept exactly."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from retrieval.errors import InputError
from retrieval.schema import Passage
from retrieval.text import nfc

_PASSAGE_FIELDS = {"source", "title", "heading", "doc_number", "doc_type", "issued_date", "issuer",
                   "signer", "bulletin_date", "mentions"}


def jsonl_passages(path: Path, text: str) -> list[Passage]:
    """Passages from ``{"id", "text", ...}`` lines (or a JSON array of such objects).

    Ids are kept exactly; known metadata fields fill the Passage fields, the rest go to
    ``extra``. Any bad line is an error naming its line number.
    """
    records: list[tuple[int, Any]] = []
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            array = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        records = [(i + 1, obj) for i, obj in enumerate(array)] if isinstance(array, list) else [(1, array)]
        where = "item"
    else:
        where = "line"
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except ValueError as exc:
                raise InputError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for number, obj in records:
        if not isinstance(obj, dict):
            raise InputError(f"{path}: {where} {number} is not a JSON object")
        for key in ("id", "text"):
            if key not in obj or obj[key] is None:
                raise InputError(f"{path}: {where} {number} has no '{key}'")
        pid = obj["id"]
        if isinstance(pid, bool) or not isinstance(pid, (str, int)) or (isinstance(pid, str) and not pid.strip()):
            raise InputError(f"{path}: {where} {number} has an empty or non-scalar 'id'")
        pid = pid if isinstance(pid, str) else str(pid)
        if not isinstance(obj["text"], str) or not obj["text"].strip():
            raise InputError(f"{path}: {where} {number} has an empty or non-string 'text'")
        if pid in seen:
            raise InputError(f"{path}: duplicate id '{pid}' ({where}s {seen[pid]} and {number})")
        seen[pid] = number
        passages.append(_passage_from(obj, pid, path))
    if not passages:
        raise InputError(f"{path}: file is empty")
    return passages


def _passage_from(obj: dict[str, Any], pid: str, path: Path) -> Passage:
    from retrieval.ingest.references import normalize_doc_number, parse_date

    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("id", "text"):
            continue
        if key in _PASSAGE_FIELDS and value is not None:
            if key == "mentions":
                if isinstance(value, list):
                    fields[key] = [normalize_doc_number(str(v)) for v in value]
                    continue
            elif isinstance(value, str):
                value = nfc(value)
                if key == "doc_number":
                    value = normalize_doc_number(value)
                elif key in ("issued_date", "bulletin_date"):
                    iso = value if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else parse_date(value)
                    if iso is None:
                        extra[key] = value   # kept, but never passed off as an ISO date
                        continue
                    value = iso
                fields[key] = value
                continue
        extra[key] = value
    fields.setdefault("source", path.name)
    return Passage.from_dict({"id": pid, "text": nfc(obj["text"]), "extra": extra, **fields})
