"""Lines of a copied document → paragraphs, for every loader whose format does not mark
paragraphs itself (plain text, Markdown, the PDF text layer): hard-wrapped lines rejoined, a
reference cut by a line break rejoined, the two header columns of an official document split."""
from __future__ import annotations

import re
import statistics

_LIST_MARK = re.compile(r"^(?:[-+•*–—]\s|\d{1,3}[.)]\s|[a-zđ][)]\s|[IVXLC]{1,6}[.)]\s)")
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*$")


def clean_line(line: str) -> str:
    """One line with runs of whitespace (newlines included) collapsed to one space."""
    return re.sub(r"\s+", " ", line).strip()


def rebuild_paragraphs(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines back into paragraphs (PDF text, wrapped TXT/Markdown).

    A line continues the previous one when it starts in lower case, or when the previous one
    reaches the right margin without ending a sentence. A blank line, a short line without final
    punctuation (a heading), a list mark or an indented first line start a new paragraph.
    "infor-\nmation" is rejoined, "221/QĐ-\nTTg" and "COVID-\n19" keep their hyphen, a spaced
    dash ("kinh tế -\nxã hội") stays a dash.
    """
    raw_lines = [line.expandtabs(4).rstrip() for line in lines]
    filled = [line for line in raw_lines if line.strip()]
    ends = [len(line) for line in filled]   # where a line ends: leading indentation counts
    width = statistics.quantiles(ends, n=10)[-1] if len(ends) >= 10 else max(ends, default=0)
    base = min((len(line) - len(line.lstrip()) for line in filled), default=0)
    paragraphs: list[str] = []
    current = previous = ""
    previous_end = previous_indent = 0
    for raw in raw_lines:
        line = clean_line(raw)
        if not line:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        indent = len(raw) - len(raw.lstrip())
        if current and indent >= base + 2 and indent > previous_indent + 1:
            paragraphs.append(current)   # an indented first line opens a paragraph
            current = ""
        if not current:
            current = line
        elif re.search(r"[a-zà-ỹđ]-$", previous) and line[:1].islower():
            current = current[:-1] + line
        elif _REFERENCE_TAIL.search(previous) and _NUMBER_HEAD.match(line):
            current = f"{current} {line}"   # "… Văn bản số" / "858/UBND-KT": never a paragraph break
        elif re.search(r"[A-ZĐ0-9][-/]$", previous) and re.match(r"[A-ZĐ0-9]", line):
            current = current + line   # a document number or code broken at its hyphen/slash
        elif _continues(previous, line, previous_end, width):
            current = f"{current} {line}"
        else:
            paragraphs.append(current)
            current = line
        previous, previous_end, previous_indent = line, len(raw), indent
    if current:
        paragraphs.append(current)
    return paragraphs


def _continues(previous: str, line: str, previous_end: int, width: float) -> bool:
    if _LIST_MARK.match(line):
        return False
    if line[:1].islower():   # prose never opens a paragraph in lower case
        return True
    if _SENTENCE_END.search(previous):
        return False
    # ";" and ":" end lines inside Vietnamese list-like sentences: only the margin decides.
    return previous_end >= 0.7 * width


def is_hard_wrapped(lines: list[str]) -> bool:
    """True when paragraphs span several lines (wrapped at a fixed width), not one line each."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    if not blocks:
        return False
    multi = sum(1 for b in blocks if len(b) >= 2)
    widths = sorted(len(line) for b in blocks for line in b)
    p90 = widths[int(0.9 * (len(widths) - 1))]
    return multi >= max(1, 0.3 * len(blocks)) and p90 <= 110


# A reference cut by a line break: "… theo Văn bản số" / "858/UBND-KT ngày …".
_REFERENCE_TAIL = re.compile(r"(?i:\bsố\s*:?|\bsố hiệu\s*:?)$")
_NUMBER_HEAD = re.compile(r"^\d{1,5}\s?[/\-]\s?[\dA-ZĐ]")


def join_broken_lines(lines: list[str]) -> list[str]:
    """Rejoin the few lines a copy broke inside a sentence, in text that is otherwise one
    paragraph per line: a document number carried to the next line, or a line that goes on in
    lower case (prose never opens a paragraph in lower case; "a) …" list marks do, and stay)."""
    out: list[str] = []
    for line in lines:
        if out and ((_REFERENCE_TAIL.search(out[-1]) and _NUMBER_HEAD.match(line)) or (
                line[:1].islower() and not _LIST_MARK.match(line) and not _SENTENCE_END.search(out[-1]))):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


# The national motto that heads every administrative document (also read by official.py).
MOTTO_RE = re.compile(r"(?i:c[ộo]ng h(?:òa|oà|oa) x[ãa] h[ộo]i ch[ủu] ngh[ĩi]a vi[ệe]t nam"
                      r"|độc lập\s*-\s*tự do(?:\s*-\s*hạnh phúc)?)")
_COLUMN_GAP = re.compile(r"(?<=\S)(?:\s{3,}|\t+)(?=\S)")


def split_columns(lines: list[str]) -> list[str]:
    """An official document copied as text keeps its two header and footer columns side by side
    ("ỦY BAN NHÂN DÂN      CỘNG HÒA XÃ HỘI …", "Nơi nhận:      KT. CHỦ TỊCH"): when the head
    carries the national motto, a wide gap inside a line separates two lines."""
    if not any(MOTTO_RE.search(line) for line in lines[:12]):
        return lines
    out: list[str] = []
    for line in lines:
        indent = line[:len(line) - len(line.lstrip())]
        out.extend(indent + part if n == 0 else part for n, part in enumerate(_COLUMN_GAP.split(line.strip())))
    return out
