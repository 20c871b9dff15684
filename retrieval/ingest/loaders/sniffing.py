"""What a file holds: its format (signature first, then content, then extension) and, for text
formats, its decoded text."""
from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from pathlib import Path

from retrieval.errors import InputError
from retrieval.text import nfc

TEXT_EXTENSIONS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
BINARY_EXTENSIONS = {".docx": "docx", ".pdf": "pdf"}
JSONL_EXTENSIONS = {".jsonl", ".ndjson", ".json"}
# What a directory expands to (".json" only when named explicitly: directories hold config files).
DIRECTORY_EXTENSIONS = set(TEXT_EXTENSIONS) | set(BINARY_EXTENSIONS) | {".jsonl", ".ndjson"}
SUPPORTED_LIST = ".txt .md .markdown .html .htm .docx .pdf .jsonl"


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


# --------------------------------------------------------------------------- signatures

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


# --------------------------------------------------------------------------- content

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


# --------------------------------------------------------------------------- encodings

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def clean_text(text: str) -> str:
    """NFC text with line ends unified, no-break spaces made plain and invisible characters
    (zero-width, soft hyphen, stray BOM) dropped."""
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
