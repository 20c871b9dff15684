"""Markdown: markdown-it-py reads the blocks and the inline markup (emphasis, links, code spans,
entities, snake_case names left whole); the paragraph rebuild then decides on wrapping as for
plain text. Headings, table rows and code lines stand alone; the front matter gives the title."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from retrieval.ingest.loaders.paragraphs import clean_line, rebuild_paragraphs
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.text import nfc

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_TAG = re.compile(r"<[^>]+>")
_FRONT_TITLE = re.compile(r"\s*title\s*:\s*[\"']?(.*?)[\"']?\s*$")


def markdown_document(text: str, source: str) -> RawDocument:
    """Paragraphs of a Markdown file (decoded and cleaned). Prose keeps its source lines, so a
    hard-wrapped file is rejoined by ``rebuild_paragraphs`` exactly like plain text."""
    lines, title = _front_matter(text.split("\n"))
    placed: dict[int, str] = {}     # source line number → its text
    alone: set[int] = set()         # lines that are paragraphs of their own
    headings: list[str] = []
    mark = ""                       # the list mark the next paragraph opens with
    tokens = _parser().parse("\n".join(lines))
    for i, token in enumerate(tokens):
        start = token.map[0] if token.map else 0
        if token.type == "list_item_open":
            mark = f"{token.info}{token.markup} " if token.info else "- "
            if tokens[i + 1].type == "list_item_close":   # "2025." alone: a wrapped line, not a list
                placed[start], mark = lines[start].strip(), ""
        elif token.type == "heading_open":
            heading = " ".join(_plain(tokens[i + 1]))
            headings.append(heading)
            title = heading if title is None and token.tag == "h1" else title
            placed[start] = heading
            alone.add(start)
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            first = tokens[i - 1].map[0]
            for n, line in enumerate(_plain(token)):
                placed[first + n] = mark + line if n == 0 else line
            mark = ""
        elif token.type == "tr_open":
            end = next(j for j in range(i, len(tokens)) if tokens[j].type == "tr_close")
            cells = [" ".join(_plain(t)) for t in tokens[i:end] if t.type == "inline"]
            placed[start] = " | ".join(c for c in cells if c)
            alone.add(start)
        elif token.type == "fence":
            for n, line in enumerate(token.content.split("\n"), start=start + 1):
                if line.strip():
                    placed[n] = line.strip()
                    alone.add(n)
        elif token.type == "html_block":
            for n, line in enumerate(_TAG.sub("", token.content).split("\n"), start=start):
                if line.strip():
                    placed[n] = clean_line(line)
    out: list[str] = []             # blank-separated blocks, as the source separates them
    for number in sorted(placed):
        if number in alone or number - 1 not in placed:
            out.append("")
        out.append(placed[number])
        if number in alone:
            out.append("")
    paragraphs = [re.sub(r"^- ", "", p) for p in rebuild_paragraphs(out)]
    return RawDocument(source, "markdown", [p for p in paragraphs if p], headings, title)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """Imported on first use: ``retrieval.ingest`` is also imported by the NLU components in
    .venv-rasa, which has no markdown-it. Indented code blocks are off: copied documents indent
    their header columns and first lines."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").disable("code")


def _front_matter(lines: list[str]) -> tuple[list[str], str | None]:
    """The lines with a YAML front matter blanked (line numbers hold) and its title."""
    if not lines or lines[0].strip() != "---":
        return lines, None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return lines, None
    titles = [m.group(1) for m in map(_FRONT_TITLE.match, lines[1:end]) if m and m.group(1)]
    return [""] * (end + 1) + lines[end + 1:], nfc(titles[-1]) if titles else None


def _plain(inline: Token) -> list[str]:
    """An inline token's text, one entry per source line: links keep their text, images go."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return [clean_line(line) for line in "".join(parts).split("\n")]
