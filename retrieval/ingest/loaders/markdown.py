"""Markdown: headings, paragraphs, list items and table rows as lines; front-matter title."""
from __future__ import annotations

import re

from retrieval.ingest.loaders.paragraphs import clean_line, rebuild_paragraphs
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.text import nfc

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _md_inline(text: str) -> str:
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    for _ in range(2):
        text = _MD_EMPHASIS.sub(r"\2", text)
    return clean_line(text)


def markdown_document(text: str, source: str) -> RawDocument:
    """Paragraphs of a Markdown file (decoded and cleaned); "#" and setext headings are headings,
    the front matter's title (else the first "# " heading) is the title."""
    lines = text.split("\n")
    title = None
    if lines and lines[0].strip() == "---":   # YAML front matter: keep only its title
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            for line in lines[1:end]:
                match = re.match(r"\s*title\s*:\s*[\"']?(.*?)[\"']?\s*$", line)
                if match and match.group(1):
                    title = nfc(match.group(1))
            lines = lines[end + 1:]
    out: list[str] = []      # blank-separated blocks, rejoined below
    headings: list[str] = []
    in_code = False
    for i, line in enumerate(lines):
        if line.strip().startswith(("```", "~~~")):
            in_code = not in_code
            out.append("")
            continue
        if in_code:
            out.extend(["", line.strip(), ""])
            continue
        heading = _MD_HEADING.match(line)
        setext = _MD_SETEXT.match(line) and out and out[-1].strip() and i > 0 and lines[i - 1].strip()
        if heading:
            text_h = _md_inline(heading.group(2))
            headings.append(text_h)
            if title is None and len(heading.group(1)) == 1:
                title = text_h
            out.extend(["", text_h, ""])
        elif setext:
            previous = out.pop()
            headings.append(previous)
            out.extend(["", previous, ""])
        elif _MD_TABLE_RULE.match(line):
            continue
        elif line.lstrip().startswith("|"):
            cells = [_md_inline(c) for c in line.strip().strip("|").split("|")]
            out.extend(["", " | ".join(c for c in cells if c), ""])
        else:
            stripped = re.sub(r"^\s*>\s?", "", line)
            stripped = re.sub(r"^\s*[-*+]\s+", "- ", stripped)
            if re.match(r"^\s*(?:[-*_]\s*){3,}$", stripped):   # horizontal rule
                out.append("")
                continue
            out.append(_md_inline(stripped) if stripped.strip() else "")
    paragraphs = [re.sub(r"^- ", "", p) for p in rebuild_paragraphs(out)]
    return RawDocument(source, "markdown", [p for p in paragraphs if p], headings, title)
