"""HTML: the article's text as lines, page furniture (menus, banners, related news) dropped."""
from __future__ import annotations

import re
from typing import Any

from retrieval.ingest.loaders.paragraphs import clean_line
from retrieval.ingest.loaders.raw import RawDocument
from retrieval.text import nfc

_SPACES = re.compile(r"[ \t\f\v]+")
_TERMINAL = re.compile(r"[.!?:;…][\"”’)\]]*$")

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
