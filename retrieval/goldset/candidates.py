"""Candidate gold items from user feedback: 👎 answers and fallbacks where the assistant abstained.

The export is valid gold-set YAML with every field a reviewer fills already in place (empty), so
reviewing means editing values only. Unreviewed candidates do not load: the strict loader asks
for their expectations. See README, "Gold set and evaluation".
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable

from retrieval.feedback import FeedbackRecord
from retrieval.goldset.judge import normalize_text

EXPORTED_RATINGS = ("down", "abstained")
KIND_OF_RATING = {"down": "feedback", "abstained": "abstained"}

HEADER = """\
# Candidate gold items from user feedback, exported by `trolyao feedback export`{stamp}.
# Review each item against the bulletins, then EITHER fill in expected_docs and/or must_contain and copy
# the supporting sentence verbatim into source_quote, OR set abstain: true when no bulletin answers it.
# You may change kind (responsible, deadline, …). Keep `feedback:` (where the item came from).
# An item left as exported does not load (the loader asks for its expectations); move reviewed items
# into eval/gold.yaml.

"""


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def candidate_items(records: Iterable[FeedbackRecord]) -> list[dict[str, Any]]:
    """One candidate per distinct question (case, spacing and Unicode form ignored), in record order.

    Ids are ``c-<date of the first record>-<n>``, n counting that day's candidates from 1.
    """
    groups: dict[str, list[FeedbackRecord]] = {}
    for record in records:
        if record.rating in EXPORTED_RATINGS:
            groups.setdefault(normalize_text(record.question), []).append(record)
    per_day: dict[str, int] = defaultdict(int)
    items = []
    for group in groups.values():
        first = group[0]
        day = first.created_at[:10] or "undated"
        per_day[day] += 1
        last_down = next((r for r in reversed(group) if r.rating == "down"), group[-1])
        items.append({
            "id": f"c-{day}-{per_day[day]}",
            "question": first.question.strip(),
            "kind": KIND_OF_RATING["down" if any(r.rating == "down" for r in group) else "abstained"],
            "feedback": {
                "rating": last_down.rating,
                "conversation_ids": list(dict.fromkeys(r.conversation_id for r in group)),
                "created_at": first.created_at,
                "answer_given": last_down.answer,
                "citations_given": [c.get("doc_number") or "" for c in last_down.citations],
            },
        })
    return items


def render_candidates(items: list[dict[str, Any]], exported_at: str = "") -> str:
    lines = [HEADER.format(stamp=f" on {exported_at}" if exported_at else "")]
    if not items:
        lines.append("# No 👎 or abstained conversations in this period.\n[]\n")
        return "".join(lines)
    for item in items:
        fb = item["feedback"]
        lines.append(
            f"- id: {item['id']}\n"
            f"  question: {_q(item['question'])}\n"
            f"  kind: {item['kind']}\n"
            f"  expected_docs: []      # e.g. [\"704/UBND-KGVX\"]: one must be among the top-3 citations\n"
            f"  must_contain: []       # e.g. [\"Sở Y tế\"]: every string must be in the answer\n"
            f"  abstain: false         # true when no bulletin answers this question\n"
            f"  source_quote: \"\"       # the supporting sentence, copied verbatim from the bulletin\n"
            f"  feedback:\n"
            f"    rating: {fb['rating']}\n"
            f"    conversation_ids: {_list(fb['conversation_ids'])}\n"
            f"    created_at: {_q(fb['created_at'])}\n"
            f"    answer_given: {_q(fb['answer_given'])}\n"
            f"    citations_given: {_list(fb['citations_given'])}\n\n")
    return "".join(lines)
