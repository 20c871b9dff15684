"""Portal pages as they came: the bulletin links of a listing, and each page's bytes kept unedited
under the data directory (one file per URL, replaced whole when the page changes)."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup

# The loaders choose a format by extension first (the content has the last word): name the file
# after what the server said it is.
EXTENSIONS = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt",
              "text/markdown": ".md", "application/pdf": ".pdf",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}
KNOWN_SUFFIXES = {".html", ".htm", ".txt", ".md", ".pdf", ".docx"}


def listing_links(body: bytes, base_url: str, pattern: re.Pattern[str]) -> list[str]:
    """The listing's links to pages on its own site whose path matches ``pattern``, in page order,
    each once, without fragments (the listing itself excluded)."""
    site = _site(base_url)
    soup = BeautifulSoup(body, "lxml")
    found: dict[str, None] = {}
    for anchor in soup.find_all("a", href=True):
        url = urldefrag(urljoin(base_url, anchor["href"].strip())).url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and _site(url) == site and url != base_url \
                and pattern.search(parts.path):
            found.setdefault(url)
    return list(found)


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def capture_path(captured_dir: Path, url: str, content_type: str) -> Path:
    """Where ``url``'s page is kept: captured/HOST/<its path as a slug>-<hash of the URL><ext>."""
    parts = urlsplit(url)
    mime = content_type.split(";")[0].strip().lower()
    suffix = Path(parts.path).suffix.lower()
    ext = EXTENSIONS.get(mime) or (suffix if suffix in KNOWN_SUFFIXES else ".html")
    stem = parts.path[: -len(suffix)] if suffix in KNOWN_SUFFIXES else parts.path
    slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")[:80] or "index"
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", (parts.hostname or "unknown").lower())
    port = f"_{parts.port}" if parts.port else ""
    return captured_dir / f"{host}{port}" / f"{slug}-{digest}{ext}"


def save_capture(path: Path, body: bytes) -> None:
    """Write the bytes as received, atomically (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".capture-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
