"""What every document loader returns (JSONL files load straight into passages)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawDocument:
    """A file's text before parsing: one entry per paragraph, in reading order."""

    source: str
    kind: str                                            # text, markdown, html, docx, pdf
    lines: list[str]
    headings: list[str] = field(default_factory=list)   # lines the markup marks as headings
    title: str | None = None
