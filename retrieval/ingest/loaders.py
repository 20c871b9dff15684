"""Read input files into lines of text (or, for JSONL, into passages).

Every loader returns a ``RawDocument``: the text as one line per paragraph, the lines the markup
marks as headings (HTML h1–h6 and all-bold paragraphs, DOCX heading styles, Markdown "#"), and a
title when the format carries one. Parsing into items is the job of ``bulletin.py``.

Formats are chosen by extension, but the content has the last word: a PDF or DOCX signature
wins over any extension, HTML saved as ".txt" is read as HTML, and a binary file with a text
extension is refused. Every failure is an ``InputError`` with a one-line message naming the file.
"""
from __future__ import annotations

import codecs
import io
import json
import re
import statistics
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from retrieval.errors import InputError
from retrieval.schema import Passage
from retrieval.text import nfc

TEXT_EXTENSIONS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
BINARY_EXTENSIONS = {".docx": "docx", ".pdf": "pdf"}
JSONL_EXTENSIONS = {".jsonl", ".ndjson", ".json"}
# What a directory expands to (".json" only when named explicitly: directories hold config files).
DIRECTORY_EXTENSIONS = set(TEXT_EXTENSIONS) | set(BINARY_EXTENSIONS) | {".jsonl", ".ndjson"}
SUPPORTED_LIST = ".txt .md .markdown .html .htm .docx .pdf .jsonl"


@dataclass
class RawDocument:
    """A file's text before parsing: one entry per paragraph, in reading order."""

    source: str
    kind: str                                            # text, markdown, html, docx, pdf
    lines: list[str]
    headings: list[str] = field(default_factory=list)   # lines the markup marks as headings
    title: str | None = None


# --------------------------------------------------------------------------- paths


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: files as given, directories expanded to their supported files (sorted,
    recursively, hidden and Office lock files skipped). Missing paths and directories with
    nothing to ingest are errors."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in DIRECTORY_EXTENSIONS
                and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(f"{path}: directory holds no supported files ({SUPPORTED_LIST})")
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def load(path: str | Path) -> RawDocument | list[Passage]:
    """Read one file: a ``RawDocument``, or the passages of a JSONL file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file (expand it with expand_paths)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    fmt, text = detect_format(path, data)
    if fmt == "pdf":
        return load_pdf(path, data)
    if fmt == "docx":
        return load_docx(path, data)
    assert text is not None
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    if fmt == "jsonl":
        return load_jsonl(path, text)
    text = clean_text(text)
    if fmt == "html":
        raw = html_document(text, str(path))
    elif fmt == "markdown":
        raw = markdown_document(text, str(path))
    else:
        raw = RawDocument(str(path), "text", text_lines(text))
    if not raw.lines:
        raise InputError(f"{path}: no text found")
    return raw


# --------------------------------------------------------------------------- format detection

_BINARY_MAGIC = [
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"\xd0\xcf\x11\xe0", "legacy Office file (save it as .docx)"), (b"{\\rtf", "RTF file"),
    (b"%!PS", "PostScript file"), (b"\x1f\x8b", "gzip archive"), (b"7z\xbc\xaf", "7z archive"),
    (b"Rar!", "RAR archive"), (b"II*\x00", "TIFF image"), (b"MM\x00*", "TIFF image"),
]


def _magic(data: bytes) -> str | None:
    """'pdf', 'docx', or a description of another binary format, or None for text."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "damaged ZIP archive"
        if "word/document.xml" in names:
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "Excel workbook"
        if any(n.startswith("ppt/") for n in names):
            return "PowerPoint file"
        return "ZIP archive"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP image"
    for signature, name in _BINARY_MAGIC:
        if data.startswith(signature):
            return name
    return None


def _unsupported(path: Path, what: str | None = None) -> InputError:
    ext = path.suffix.lower() or "no extension"
    detail = f" ({what})" if what else ""
    return InputError(f"{path}: unsupported format '{ext}'{detail}; supported: {SUPPORTED_LIST}")


def detect_format(path: Path, data: bytes) -> tuple[str, str | None]:
    """(format, decoded text or None) for ``data`` read from ``path``."""
    ext = path.suffix.lower()
    magic = _magic(data)
    if magic in ("pdf", "docx"):
        return magic, None
    if ext in BINARY_EXTENSIONS:
        return BINARY_EXTENSIONS[ext], None   # its reader reports it as corrupt
    if magic is not None:
        raise _unsupported(path, magic)
    text = decode_bytes(data, path)   # raw: JSONL ids must stay exactly as written
    if _looks_html(text):
        return "html", text
    if ext in JSONL_EXTENSIONS or (ext in ("", ".txt") and _looks_jsonl(text)):
        return "jsonl", text
    if ext in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[ext], text
    if ext == "":
        return "text", text
    raise _unsupported(path)


_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<\?xml[^>]*>\s*<html)", re.I | re.S)
_HTML_TAG = re.compile(r"</?(?:p|div|br|body|article|section|span|a|h[1-6]|li|table|td)\b[^>]*>", re.I)


def _looks_html(text: str) -> bool:
    head = text[:5000]
    return bool(_HTML_START.match(head)) or (len(_HTML_TAG.findall(head)) >= 5 and "<" in head.lstrip()[:1])


def _looks_jsonl(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first.lstrip().startswith("{"):
        return False
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    return isinstance(obj, dict) and "text" in obj


# --------------------------------------------------------------------------- decoding

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def decode_text(data: bytes, path: Path | str = "") -> str:
    """Bytes → NFC text (see ``decode_bytes``); line ends unified, no-break spaces made plain,
    invisible characters (zero-width, soft hyphen, stray BOM) dropped."""
    return clean_text(decode_bytes(data, path))


def clean_text(text: str) -> str:
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " "))
    return nfc(text)


def decode_bytes(data: bytes, path: Path | str = "") -> str:
    """Bytes → str, nothing else changed: UTF-8 (BOM or not), UTF-16 (BOM or evident), else
    Windows-1258 (the Vietnamese code page)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif _utf16_without_bom(data):
        candidates = [_utf16_without_bom(data)]
    else:
        if b"\x00" in data[:4096]:
            raise _unsupported(Path(path), "binary content")
        candidates = ["utf-8", _declared_charset(data), "cp1258"]
    for encoding in filter(None, candidates):
        try:
            text = data.decode(encoding)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        raise InputError(f"{path}: cannot decode text (not UTF-8, UTF-16 or Windows-1258)")
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:2000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _declared_charset(data: bytes) -> str | None:
    match = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", data[:4096], re.I)
    return match.group(1).decode("ascii").lower() if match else None


# --------------------------------------------------------------------------- plain text

_SPACES = re.compile(r"[ \t\f\v]+")
_LIST_MARK = re.compile(r"^(?:[-+•*–—]\s|\d{1,3}[.)]\s|[a-zđ][)]\s|[IVXLC]{1,6}[.)]\s)")
_TERMINAL = re.compile(r"[.!?:;…][\"”’)\]]*$")
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


def _is_hard_wrapped(lines: list[str]) -> bool:
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


def text_lines(text: str) -> list[str]:
    """Paragraphs of a plain-text file: one per line, or rejoined when the file is hard-wrapped."""
    lines = split_columns(text.split("\n"))
    if _is_hard_wrapped(lines):
        return rebuild_paragraphs(lines)
    return join_broken_lines([c for c in (clean_line(line) for line in lines) if c])


# --------------------------------------------------------------------------- Markdown

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


# --------------------------------------------------------------------------- HTML

_DROP_TAGS = ["script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg",
              "button", "input", "select", "textarea", "label", "object", "embed", "canvas", "map",
              "link", "meta", "head"]
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "footer", "h1", "h2", "h3", "h4",
               "h5", "h6", "li", "ul", "ol", "table", "tr", "blockquote", "pre", "hr", "figure",
               "figcaption", "dd", "dt", "dl", "address", "caption", "tbody", "thead", "center"}
_HEADING_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
# class/id words of page furniture (never "header": article headers hold the title and lead).
_CHROME_ATTR = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|menubar|breadcrumbs?|share|sharing|social|rating|"
    r"vote|comments?|related|relate|lienquan|tinlienquan|other-?news|footer|sidebar|banner|toolbar|"
    r"print|tags?|pagination|pager|advert|ads|widget|cookie|search|login|topbar|skip|hotline|"
    r"slogan|copyright)(?:$|[-_\s])", re.I)
_SITE_SUFFIX = re.compile(r"\s+[-|–—:]\s+[^-|–—]*(?:cổng thông tin|trang thông tin|portal|\.gov\.vn|\.vn\b)[^-|–—]*$", re.I)


def _text_len(el) -> int:
    return len(el.get_text(" ", strip=True))


def html_document(html: str, source: str) -> RawDocument:
    """Article text of an HTML page as lines: page furniture dropped, block structure kept."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "lxml")
    page_title = None
    if soup.title and soup.title.string:
        page_title = _SITE_SUFFIX.sub("", clean_line(soup.title.get_text(" "))) or None
    og = soup.find("meta", attrs={"property": "og:title"})
    if og and og.get("content"):
        page_title = _SITE_SUFFIX.sub("", clean_line(og["content"])) or page_title
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    body = soup.body or soup
    total = max(_text_len(body), 1)
    for tag in body.find_all(True):
        if tag.decomposed:   # inside furniture removed a moment ago
            continue
        attrs = " ".join([tag.get("id") or "", *(tag.get("class") or [])])
        role = (tag.get("role") or "").lower()
        hidden = tag.get("hidden") is not None or tag.get("aria-hidden") == "true" or \
            re.search(r"display\s*:\s*none", tag.get("style") or "", re.I)
        chrome = hidden or role in ("navigation", "banner", "contentinfo", "complementary", "search") or \
            (attrs.strip() and _CHROME_ATTR.search(attrs))
        if chrome and tag.name not in ("body", "html") and _text_len(tag) < 0.4 * total:
            tag.decompose()

    container = _main_container(body)
    if container is body:   # no article found: page header/footer are furniture
        for tag in body.find_all(["header", "footer"]):
            tag.decompose()
    # The article's own h1, else the page title: an h1 outside the article is often the site logo.
    h1 = container.find("h1")
    title = clean_line(h1.get_text(" ")) if h1 else page_title
    if not title and body.find("h1"):
        title = clean_line(body.find("h1").get_text(" "))

    headings: list[str] = []
    for tag in container.find_all(_HEADING_TAGS):
        text = clean_line(tag.get_text(" "))
        if text:
            headings.append(text)
    for tag in container.find_all(["p", "div"]):
        text = clean_line(tag.get_text(" "))
        if text and len(text.split()) <= 60 and not tag.find(["p", "div"]) and _all_bold(tag):
            headings.append(text)

    # Collapse source whitespace, then mark block boundaries with newlines.
    for node in list(container.descendants):
        if isinstance(node, NavigableString) and not node.find_parent("pre"):
            node.replace_with(_SPACES.sub(" ", str(node).replace("\n", " ")))
    for tag in container.find_all(True):
        if tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in ("td", "th"):
            tag.insert_after(" | ")
        elif tag.name in _BLOCK_TAGS:
            tag.insert_before("\n")
            tag.insert_after("\n")
    lines: list[str] = []
    for line in container.get_text().split("\n"):
        line = clean_line(line).strip(" |")
        if not line:
            continue
        if lines and line[:1].islower() and not _TERMINAL.search(lines[-1]):
            lines[-1] = f"{lines[-1]} {line}"   # a <br> inside a sentence, not a new paragraph
        else:
            lines.append(line)
    if title and not any(clean_line(line) == title for line in lines[:10]):
        lines.insert(0, title)
    return RawDocument(source, "html", [nfc(line) for line in lines], [nfc(h) for h in headings],
                       nfc(title) if title else None)


def _all_bold(tag) -> bool:
    """Every visible string of ``tag`` sits inside a <strong>/<b> within it (a bold heading)."""
    strings = [s for s in tag.find_all(string=True) if s.strip()]
    return bool(strings) and all(
        (bold := s.find_parent(["strong", "b"])) is not None and tag in bold.parents for s in strings)


def _main_container(body):
    """The element holding the article: articleBody, the largest <article>, <main>, else the
    element whose own paragraphs carry the most text."""
    marked = body.find(attrs={"itemprop": "articleBody"})
    if marked and _text_len(marked) >= 200:
        return marked
    articles = sorted(body.find_all("article"), key=_text_len, reverse=True)
    if articles and _text_len(articles[0]) >= 200:
        return articles[0]
    main = body.find("main") or body.find(attrs={"role": "main"})
    if main and _text_len(main) >= 200:
        return main
    scores: dict[int, tuple[int, Any]] = {}
    for p in body.find_all(["p", "br"]):
        parent = p.parent
        weight = _text_len(p) if p.name == "p" else len(str(p.previous_sibling or "").strip())
        for level, el in enumerate([parent, parent.parent if parent else None]):
            if el is None or el is body.parent:
                continue
            old = scores.get(id(el), (0, el))
            scores[id(el)] = (old[0] + (weight if level == 0 else weight // 2), el)
    if not scores:
        return body
    best = max(scores.values(), key=lambda pair: pair[0])[1]
    return best if _text_len(best) >= 0.2 * _text_len(body) else body


# --------------------------------------------------------------------------- DOCX


def load_docx(path: Path, data: bytes) -> RawDocument:
    """Paragraphs and tables in document order; heading styles (and all-bold short paragraphs)
    are headings, the Title style or the core title is the title, table rows are lines."""
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:   # python-docx raises many types for a damaged package
        raise InputError(f"{path}: cannot read DOCX (corrupt or not a Word document: {type(exc).__name__})") from exc
    lines: list[str] = []
    headings: list[str] = []
    title = clean_line(document.core_properties.title or "") or None
    for block in blocks:
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:     # merged cells repeat: keep each text once
                    text = clean_line(" ".join(p.text for p in cell.paragraphs))
                    if text and text not in cells:
                        cells.append(text)
                if cells:
                    lines.append(" | ".join(cells))
            continue
        text = clean_line(block.text)
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        outline = block._p.pPr is not None and block._p.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl") is not None
        runs = [r for r in block.runs if r.text.strip()]
        all_bold = bool(runs) and all(r.bold for r in runs) and len(text.split()) <= 40
        if style.lower().startswith("title"):
            title = title or text
            headings.append(text)
        elif style.lower().startswith(("heading", "tiêu đề")) or outline or all_bold:
            headings.append(text)
        lines.append(text)
    if not lines:
        raise InputError(f"{path}: no text found in DOCX")
    return RawDocument(str(path), "docx", [nfc(line) for line in lines], [nfc(h) for h in headings],
                       nfc(title) if title else None)


# --------------------------------------------------------------------------- PDF

_PAGE_NUMBER = re.compile(r"^\s*(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?\s*$|^\s*(?:trang|page)\s+\d+(?:\s*(?:/|of|trên)\s*\d+)?\s*$", re.I)


def _page_text(page) -> str:
    """Layout-mode text (keeps vertical gaps as blank lines and first-line indents, the
    paragraph cues), plain extraction when layout mode fails or finds nothing."""
    try:
        text = page.extract_text(extraction_mode="layout")
    except Exception:   # layout mode is stricter about odd fonts; plain mode still reads them
        text = ""
    return text if text.strip() else (page.extract_text() or "")


def load_pdf(path: Path, data: bytes) -> RawDocument:
    """The PDF's text layer as paragraphs: repeated page headers/footers and page numbers
    dropped, wrapped and hyphen-split lines rejoined. Scanned PDFs (no text) are refused."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: PDF is password-protected")
        pages = [_page_text(page) for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:   # pypdf raises many types for a damaged file
        raise InputError(f"{path}: cannot read PDF (corrupt or not a PDF: {type(exc).__name__})") from exc
    page_lines = [nfc(text).replace("\r", "\n").split("\n") for text in pages]
    if not any(line.strip() for lines in page_lines for line in lines):
        raise InputError(f"{path}: PDF has no text layer (scanned images?); OCR it first")
    repeated: set[str] = set()
    if len(page_lines) >= 3:   # running headers/footers: same line (digits aside) on most pages
        counts: dict[str, int] = {}
        for lines in page_lines:
            filled = [clean_line(line) for line in lines if line.strip()]
            for key in {re.sub(r"\d+", "#", line) for line in filled[:3] + filled[-3:]}:
                counts[key] = counts.get(key, 0) + 1
        repeated = {k for k, n in counts.items() if n >= 0.6 * len(page_lines)}
    flat: list[str] = []
    for lines in page_lines:
        kept = [line for line in lines
                if not (_PAGE_NUMBER.match(line) or re.sub(r"\d+", "#", clean_line(line)) in repeated)]
        while kept and not kept[0].strip():    # a paragraph may run on over the page break
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        flat.extend(kept)
    paragraphs = rebuild_paragraphs(flat)
    title = None
    try:
        title = clean_line((reader.metadata or {}).get("/Title") or "") or None
    except Exception:   # metadata is optional and often malformed; the text is what matters
        title = None
    return RawDocument(str(path), "pdf", paragraphs, [], nfc(title) if title else None)


# --------------------------------------------------------------------------- JSONL passages

_PASSAGE_FIELDS = {"source", "title", "heading", "doc_number", "doc_type", "issued_date", "issuer",
                   "signer", "bulletin_date", "mentions"}


def load_jsonl(path: Path, text: str) -> list[Passage]:
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
