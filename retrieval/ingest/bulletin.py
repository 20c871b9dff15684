"""Parse lines of text into a ``SourceDocument``: the weekly bulletin "Chỉ đạo, điều hành nổi bật
của UBND tỉnh trong tuần (…)" or, generically, any document with headings.

A bulletin is: page chrome, the title with its week, a summary listing the items ("…; …; …"),
then items (a heading line and paragraphs), then more chrome (rating widget, related news,
footer). Headings are found by combining signals, never by the summary alone: the line matches a
summary segment, has no final period, is short, is numbered, is marked as a heading by the
markup, and the paragraph after it opens like a report ("UBND tỉnh ban hành …", "Đồng chí …").

Each item's ``documents`` lists its own directive first (the reference in its opening paragraph,
with issuer and signer) and then every other document it mentions. An item without a directive
of its own (a meeting report) gets an empty list: ``Item.primary`` must never be a mere mention.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from retrieval.ingest.references import (
    DOC_TYPES, find_reference_matches, infer_doc_type, iso_date, issuer_from_number,
    merge_references, normalize_doc_number, parse_date,
)
from retrieval.schema import DocumentRef, Item, SourceDocument
from retrieval.text import fold, nfc

# --------------------------------------------------------------------------- line clean-up

_SPACES = re.compile(r"\s+")


def clean_lines(lines: Iterable[str]) -> list[str]:
    """NFC, one space between words, no empty lines (a line holding newlines is split)."""
    out: list[str] = []
    for line in lines:
        for part in nfc(str(line)).split("\n"):
            part = _SPACES.sub(" ", part).strip()
            if part:
                out.append(part)
    return out


@lru_cache(maxsize=8192)
def _folded(line: str) -> str:
    return _SPACES.sub(" ", fold(line)).strip()


# Page furniture, matched on folded text ("Tăng tương phản" → "tang tuong phan").
_CHROME_PATTERNS = [
    r"^(?:nhay|bo qua|chuyen|di) (?:den|toi) (?:phan )?noi dung(?: chinh)?$", r"^skip to (?:main )?content$",
    r"^(?:cong|trang) thong tin dien tu\b.{0,60}$", r"^(?:tinh|thanh pho) [a-z ]{2,20}$",
    r"^(?:ubnd|uy ban nhan dan) tinh [a-z ]{2,20}$",
    r"\ba- ?a ?a\+", r"tang tuong phan|giam tuong phan", r"^(?:co chu|kich thuoc chu|font chu)\b.{0,30}$",
    r"tong so diem cua bai viet", r"click de danh gia", r"^(?:danh gia|binh chon)(?: bai viet)?\s*:?.{0,20}$",
    r"^trang chu\s*(?:[>»›/|].*)?$", r"^home\s*[>»›/|]", r"^.{0,80}\s[>»›]\s.{0,80}\s[>»›]\s.{0,80}$",
    r"^(?:(?:chia se|share|tweet|like|thich|gui email|gui cho ban be|email|in bai viet|in bai|in trang|"
    r"ban in|print|luu bai viet|luu tin|facebook|zalo|twitter|linkedin|messenger|copy link|"
    r"sao chep lien ket|in|gui|\d+)(?:\s*[:|,/•·-]\s*|\s+|$))+$",
    r"^(?:so )?luot (?:xem|doc|truy cap)\s*:?\s*[\d.,]*$", r"^(?:da xem|views?)\s*:?\s*[\d.,]+$",
    r"^[\d.,]+ luot (?:xem|doc)$",
    r"^(?:ngay dang|ngay cap nhat|cap nhat(?: luc| ngay)?|dang ngay|dang luc|thoi gian dang|ngay xuat ban|"
    r"xuat ban|ngay)\s*:?\s*[\d/:.,\- ]+(?:am|pm|sa|ch)?\s*(?:\|.{0,30})?$",
    r"^(?:(?:thu (?:hai|ba|tu|nam|sau|bay)|chu nhat)\s*,?\s*)?(?:ngay\s*)?\d{1,2}/\d{1,2}/\d{4}"
    r"(?:\s*[-|,]?\s*\d{1,2}(?::|h)\d{2}(?::\d{2})?\s*(?:am|pm|sa|ch)?)?(?:\s*(?:gmt|utc)\s*[+-]?\d*)?"
    r"(?:\s*\|?\s*[\d.,]+ luot xem)?$",
    r"^\d{1,2}:\d{2}(?::\d{2})?\s*(?:\d{1,2}/\d{1,2}/\d{4})?$",
    r"^(?:nguon|tac gia|nguon tin|bien tap|anh|pv|ctv|btv|nhom pv)\s*:.{0,60}$",
    r"^(?:quay lai|tro ve|tro lai|ve dau trang|len dau trang|xem them|xem tiep|doc tiep|doc them|top|"
    r"dong|mo rong|thu gon)$",
    r"^(?:lien ket website|lien ket web|thong ke truy cap|dang truy cap|dang online|tong luot truy cap|"
    r"hom nay|trong tuan|trong thang)\s*:?\s*[\d.,]*$",
    r"^(?:tu khoa|tags?)\s*:", r"^(?:dang nhap|dang ky|tim kiem|search|menu|ngon ngu|english|tieng viet)$",
    r"^(?:nhiet liet )?chao mung\b.{0,140}$", r"^quyet tam thuc hien thang loi\b.{0,160}$",
    r"^dang cong san viet nam quang vinh.{0,40}$",
    # Photo captions and credits: "(Ảnh minh họa. Nguồn Internet)", "… Ảnh: Tư liệu", an image's
    # file name, a linked article's title with its paper ("… | Báo Lạng Sơn").
    r"^\(?anh minh hoa\b.{0,80}$", r"^\S+\.(?:jpe?g|png|gif|webp)$",
    r"^.{0,240}[\s.]\(?(?:anh|nguon)\s*:\s*[^.:]{2,60}\)?$",
    r"^.{0,240}\s\|\s(?:bao|thoi bao|tap chi|cong thong tin|dien tu|vnexpress|tuoi tre|thanh nien)\b.{0,50}$",
]
_CHROME_RE = re.compile("|".join(f"(?:{p})" for p in _CHROME_PATTERNS))
# Lines after which the rest of the page is furniture (related news, comments, footer).
_TRAILER_RE = re.compile(
    r"^(?:(?:cac )?tin (?:lien quan|khac|cung chuyen muc|da dua|moi(?: nhat)?|doc nhieu(?: nhat)?|bai lien quan)|"
    r"bai viet (?:lien quan|khac)|xem them cac tin|other news|related(?: news| articles)?|"
    r"y kien ban doc|gui y kien|binh luan|y kien cua ban)\s*:?$"
    r"|tong so diem cua bai viet|click de danh gia"
    r"|^(?:co quan chu quan|ban quyen|copyright|©|chiu trach nhiem(?: chinh)?|truong ban bien tap|"
    r"giay phep(?: so)?|ghi ro nguon)\b"
)


def is_chrome(line: str) -> bool:
    """A line of page furniture (skip link, contrast buttons, breadcrumbs, share, counters …)."""
    words = len(line.split())
    if words > 40:
        return False
    return bool(_CHROME_RE.search(_folded(line)))


def is_trailer(line: str) -> bool:
    """A line where the article ends and the page footer / related list begins."""
    return len(line.split()) <= 30 and bool(_TRAILER_RE.search(_folded(line)))


# --------------------------------------------------------------------------- titles and weeks

# "Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (…)", and other provinces' weekly pages:
# "Kết quả chỉ đạo, điều hành từ ngày 19/10/2020 đến ngày 25/10/2020 của …".
_BULLETIN_TITLE_RE = re.compile(
    r"chi dao,?\s*(?:va\s+)?dieu hanh\b.*\btuan\b"
    r"|chi dao,?\s*(?:va\s+)?dieu hanh\b.{0,30}\btu ngay \d{1,2}/\d{1,2}(?:/\d{4})? den (?:het )?ngay \d")
_WEEK_RE = re.compile(
    r"(?P<d1>\d{1,2})(?:\s*[/.\-]\s*(?P<m1>\d{1,2})(?:\s*[/.\-]\s*(?P<y1>\d{4}))?)?"
    r"\s*(?:đến|tới|den|toi|-|–|—)\s*(?:(?i:hết|het)\s+)?(?:(?i:ngày|ngay)\s*)?"
    r"(?P<d2>\d{1,2})\s*[/.\-]\s*(?P<m2>\d{1,2})\s*[/.\-]\s*(?P<y2>\d{4})"
)


def is_bulletin_title(line: str) -> bool:
    return len(line.split()) <= 45 and bool(_BULLETIN_TITLE_RE.search(_folded(line))) and not is_chrome(line)


def parse_week(title: str) -> tuple[str | None, str | None]:
    """Week start and end (ISO) from a title: "(từ ngày 30/12/2024 đến ngày 05/01/2025)",
    "(ngày 20/6 đến ngày 26/6/2022)". A missing start year (or month) comes from the end,
    a year earlier when the week spans New Year."""
    match = _WEEK_RE.search(nfc(title))
    if not match:
        return None, None
    d2, m2, y2 = int(match["d2"]), int(match["m2"]), int(match["y2"])
    end = iso_date(d2, m2, y2)
    if end is None:
        return None, None
    d1 = int(match["d1"])
    if match["m1"] is None:
        m1 = m2 if d1 <= d2 else (m2 - 1 or 12)
    else:
        m1 = int(match["m1"])
    if match["y1"]:
        y1 = int(match["y1"])
    else:
        y1 = y2 if (m1, d1) <= (m2, d2) else y2 - 1
    start = iso_date(d1, m1, y1)
    if start is None or start > end:
        return None, end
    return start, end


# --------------------------------------------------------------------------- heading signals

_NUMBERING = re.compile(r"^(?:(?:\d{1,2}(?:\.\d{1,2})*|[IVXLC]{1,6}|[a-zđ])[.)]|[-+•*–])\s+")
_FINAL = re.compile(r"[.!?…;:][\"”’'»)\]]*$")
_LEAD = r"(?:(?:Vừa qua|Mới đây|Trong tuần(?: qua)?|Tuần qua|(?:Sáng|Chiều|Tối)?\s*[Nn]gày\s+\d{1,2}/\d{1,2}(?:/\d{4})?)\s*,?\s*)?"
_SUBJECTS = (
    r"(?:UBND tỉnh|Ủy ban nhân dân tỉnh|Uỷ ban nhân dân tỉnh|Đồng chí|(?:Phó )?Chủ tịch|Ban Chỉ đạo|"
    r"Văn phòng UBND tỉnh|Thường trực|Ban Thường vụ|Tỉnh ủy|Tỉnh uỷ|HĐND tỉnh|Hội đồng|"
    r"Thừa (?:ủy|uỷ) quyền|Thay mặt|Ban [A-ZĐ])"
)
_REPORT_OPEN = re.compile(rf"^{_LEAD}{_SUBJECTS}|^(?:Sáng|Chiều|Tối)?\s*[Nn]gày \d{{1,2}}/\d{{1,2}}|^\(")
_VERBS = (
    r"ban hành|chỉ đạo|quyết định|phê duyệt|ký|gửi|yêu cầu|thông báo|công bố|triển khai|tổ chức|giao|"
    r"đồng ý|chấp thuận|kết luận|hướng dẫn|trình|có|vừa|đã|họp|ra|dự|chủ trì|làm việc|kiểm tra|truyền đạt"
)
_SUBJECT_RE = re.compile(rf"^{_LEAD}(?P<subject>[^()]{{2,160}}?)\s+(?:{_VERBS})\b")


def strip_numbering(line: str) -> str:
    return _NUMBERING.sub("", line, count=1).strip()


@lru_cache(maxsize=8192)
def _key(line: str) -> str:
    text = _folded(strip_numbering(line))
    return _SPACES.sub(" ", re.sub(r"[^\w ]+", " ", text)).strip()


def _similar(a: str, b: str) -> bool:
    """Loose equality of two keys: same text, one a long prefix of the other, or ~same words."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 25 and long_.startswith(short):
        return True
    sa, sb = set(a.split()), set(b.split())
    return len(sa & sb) / len(sa | sb) >= 0.8 and min(len(sa), len(sb)) >= 4


def opens_report(paragraph: str) -> bool:
    """The paragraph opens an item's report: "UBND tỉnh ban hành …", "Đồng chí …", "Ngày …"."""
    return bool(_REPORT_OPEN.match(paragraph))


def _has_parenthesised_ref(paragraph: str) -> bool:
    return any(m.in_parens for m in find_reference_matches(paragraph))


class _HeadingJudge:
    """Scores lines as headings from several independent signals."""

    def __init__(self, segments: list[str], hints: Iterable[str]):
        self.segment_keys = [k for k in (_key(s) for s in segments) if k]
        self.hint_keys = {k for k in (_key(h) for h in hints) if k}

    def matches_summary(self, line: str) -> bool:
        if not self.segment_keys or len(line.split()) > 80:
            return False
        key = _key(line)
        return any(_similar(key, seg) for seg in self.segment_keys)

    def score(self, line: str, following: str | None) -> tuple[int, bool]:
        """(score, eligible): a heading needs score ≥ 3 and must be eligible."""
        words = len(line.split())
        if words > 80:
            return 0, False
        hinted = bool(self.hint_keys) and _key(line) in self.hint_keys
        in_summary = self.matches_summary(line)
        no_final = not _FINAL.search(line)
        score = 2 * hinted + 2 * in_summary + no_final + (words <= 40)
        score += bool(following and opens_report(following))
        score += bool(_NUMBERING.match(line)) and words <= 40
        if opens_report(line) and _has_parenthesised_ref(line):
            score -= 2      # the opening paragraph of an item, not its heading
        return score, (no_final or in_summary or hinted)

    def is_heading(self, line: str, following: str | None, threshold: int = 3) -> bool:
        score, eligible = self.score(line, following)
        return eligible and score >= threshold


# --------------------------------------------------------------------------- documents of an item

_PERSON_RE = re.compile(
    r"^Đồng chí\s+(?P<name>(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s*){2,5}?)\s*,\s*(?P<title>.+)$")
_OFFICIAL_RE = re.compile(
    r"^(?P<title>(?:Phó )?Chủ tịch(?: Thường trực)? (?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân) tỉnh)"
    r"(?:\s+(?P<name>(?:[A-ZĐ][\wÀ-ỹ]*\s*){2,5}))?$")
_UBND_RE = re.compile(r"^(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân) tỉnh(?: [A-ZĐ][\wÀ-ỹ]*(?: [A-ZĐ][\wÀ-ỹ]*)?)?$")


# "… thông báo ý kiến chỉ đạo của đồng chí Dương Xuân Huyên, Phó Chủ tịch UBND tỉnh về …": the
# official who directed what the Office's letter conveys (its signer in the citation's sense).
_CONVEYED_RE = re.compile(
    r"ý kiến(?: chỉ đạo)?(?: kết luận)? của đồng chí\s+(?P<name>(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s+){1,4}[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)"
    r"\s*,\s*(?P<title>[^,;()]{3,80}?)(?=\s+(?:về|đôn đốc|tại|đối với)\b|\s*[,;(]|\s*$)")


def conveyed_official(paragraph: str) -> str | None:
    """"Name, title" of the official whose opinion an opening paragraph conveys, or None."""
    match = _CONVEYED_RE.search(paragraph)
    if not match or not all(w[0].isupper() for w in match["name"].split()):
        return None
    return f"{match['name'].strip()}, {match['title'].strip()}"


def _subject(paragraph: str) -> tuple[str, str | None, str | None]:
    """(kind, issuer, signer) of the sentence opening ``paragraph``.

    kind is "ubnd" (UBND tỉnh acts), "person" (a named official directs), "body" (another
    named body issues), or "" when the opening names no issuer.
    """
    match = _SUBJECT_RE.match(paragraph)
    if not match:
        return "", None, None
    subject = match.group("subject").strip(" ,")
    person = _PERSON_RE.match(subject)
    if person:
        name = person.group("name").strip()
        title = person.group("title").strip()
        # "Phó Chủ tịch UBND tỉnh dự và chủ trì …": the title ends with its body.
        ends = re.match(r"^.*?(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân|HĐND|Hội đồng nhân dân) tỉnh", title)
        title = ends.group(0) if ends else " ".join(title.split()[:12])
        return "person", None, f"{name}, {title}"
    official = _OFFICIAL_RE.match(subject)
    if official:
        name = (official.group("name") or "").strip()
        title = official.group("title")
        return "person", None, f"{name}, {title}" if name else title
    if _UBND_RE.match(subject):
        return "ubnd", "UBND tỉnh", None
    if subject[:1].isupper() and len(subject.split()) <= 14 and not re.search(r"\d", subject) \
            and not subject.startswith(("Theo", "Các", "Tại", "Trong", "Để", "Nhằm", "Căn cứ", "Thực hiện")):
        return "body", subject, None
    return "", None, None


# Bodies above the province: their documents are implemented by an item, never its own.
_NATIONAL_ISSUERS = {
    "Thủ tướng Chính phủ", "Chính phủ", "Văn phòng Chính phủ", "Quốc hội", "Ủy ban Thường vụ Quốc hội",
    "Trung ương Đảng", "Tỉnh ủy",
}


def _national(issuer: str | None) -> bool:
    return issuer in _NATIONAL_ISSUERS or (issuer or "").startswith(("Bộ ", "Ngân hàng Nhà nước"))


def primary_document(paragraph: str, heading: str = "", not_before: str | None = None) -> DocumentRef | None:
    """The directive an item reports, read from its opening paragraph (or, failing that, a
    heading that names a provincial document), with issuer and signer; None when the item has
    no document of its own (a meeting, a visit).

    A reference qualifies when it is the province's own: not a national or party number, and
    not introduced as someone's earlier document ("Kế hoạch số 193/KH-UBND ngày 07/12/2020 của
    UBND tỉnh", or dated before ``not_before``) unless it stands in parentheses, the bulletins'
    way of citing the directive they report.
    """
    kind, issuer, signer = _subject(paragraph)
    matches = find_reference_matches(paragraph)
    if not matches and heading:
        matches = [m for m in find_reference_matches(heading) if not m.explicit_issuer]
        kind = kind or ""
    candidates = []
    for m in matches:
        implied = issuer_from_number(m.ref.number)
        if not m.in_parens and (m.explicit_issuer or (
                not_before and m.ref.issued_date and m.ref.issued_date < not_before)):
            continue
        if m.explicit_issuer and (issuer is None or fold(m.ref.issuer or "") != fold(issuer)):
            continue
        if _national(implied) and not (kind == "body" and fold(implied or "") == fold(issuer or "")):
            continue
        candidates.append(m)
    if not candidates:
        return None
    chosen = next((m for m in candidates if m.in_parens), candidates[0])
    ref = chosen.ref
    implied = issuer_from_number(ref.number)
    if kind == "ubnd":
        final_issuer = "UBND tỉnh"
    elif kind == "person":
        final_issuer = implied or "UBND tỉnh"
    elif kind == "body":
        final_issuer = issuer
    else:
        final_issuer = ref.issuer or implied
    return replace(ref, issuer=final_issuer, signer=signer or conveyed_official(paragraph),
                   doc_type=ref.doc_type or infer_doc_type(ref.number))


def item_documents(heading: str, paragraphs: list[str], fallback: DocumentRef | None = None,
                   not_before: str | None = None) -> list[DocumentRef]:
    """The item's own directive first, then the other documents it names.

    ``fallback`` (a document's own number read from its header) stands in when the opening
    paragraph names no directive. With neither, the list is empty: ``Item.primary`` is
    ``documents[0]`` and a mere mention must not pose as the item's source; the mentions are
    still found in the text by ``mentioned_documents``.
    """
    primary = primary_document(paragraphs[0], heading, not_before) if paragraphs else None
    primary = primary or fallback
    if primary is None:
        return []
    return [primary] + mentioned_documents(heading, paragraphs, exclude=primary.number)


def mentioned_documents(heading: str, paragraphs: list[str], exclude: str | None = None) -> list[DocumentRef]:
    """Every document named in an item (heading included), deduplicated, ``exclude`` left out;
    issuers not stated in the text are taken from the number ("-TTg" → Thủ tướng Chính phủ)."""
    found = []
    for text in [heading, *paragraphs]:
        for match in find_reference_matches(text):
            ref = match.ref
            if ref.number != exclude:
                found.append(ref if ref.issuer else replace(ref, issuer=issuer_from_number(ref.number)))
    return merge_references(found)


# --------------------------------------------------------------------------- bulletins


def _article_lines(lines: list[str], start: int, title: str | None) -> list[str]:
    """Lines after ``start`` up to the page trailer, chrome and repeated titles dropped."""
    body: list[str] = []
    title_key = _key(title) if title else None
    for line in lines[start:]:
        if is_trailer(line):
            break
        if is_chrome(line):
            continue
        # A numbered line ("I. CHỈ ĐẠO ĐIỀU HÀNH … TRONG TUẦN") is a section of this page, not another's title.
        if title_key is not None and is_bulletin_title(line) and not _NUMBERING.match(line):
            if _key(line) == title_key:
                continue     # the title repeated (page <title>, h1, print header)
            break            # another bulletin's title: a related-news list begins
        body.append(line)
    # A list of links left at the end (related news without its "Tin liên quan" label): two or
    # more short lines without final punctuation. One such line may be real text missing its period.
    tail = 0
    while tail < len(body) and len(body[-1 - tail].split()) <= 30 and not _FINAL.search(body[-1 - tail]):
        tail += 1
    return body[:-tail] if tail >= 2 else body


def _split_summary(summary: str) -> list[str]:
    text = re.sub(r"^(?:Trong tuần(?: qua)?,?\s*)?(?:UBND tỉnh đã\s+)?(?:ban hành|chỉ đạo)?\s*:\s*", "", summary)
    return [s.strip(" .;") for s in re.split(r";\s*", text) if s.strip(" .;")]


_GLUED_TITLE = re.compile(r"^(?P<title>.{10,250}?\(\s*(?i:từ\s+)?(?i:ngày)?[^()]{3,60}?\d{4}\s*\))\s+(?P<rest>\S.{10,})$")


def _split_glued_titles(lines: list[str]) -> list[str]:
    """Split a title run together with the next paragraph (PDF line joining): a bulletin title
    ends with its week in parentheses."""
    out: list[str] = []
    for i, line in enumerate(lines):
        match = _GLUED_TITLE.match(line) if i < 200 and len(line.split()) > 45 else None
        if match and is_bulletin_title(match.group("title")):
            out.extend([match.group("title"), match.group("rest")])
        else:
            out.append(line)
    return out


def parse_bulletin(lines: Iterable[str], source: str, *, heading_hints: Iterable[str] = ()) -> SourceDocument | None:
    """A bulletin's title, week, summary and items; None when ``lines`` hold no bulletin title."""
    lines = _split_glued_titles(clean_lines(lines))
    # A menu link "Chỉ đạo, điều hành nổi bật trong tuần" may come first: prefer a dated title.
    candidates = [i for i, line in enumerate(lines[:200]) if is_bulletin_title(line)]
    if not candidates:
        return None
    title_at = next((i for i in candidates if parse_week(lines[i])[1]), candidates[0])
    title = lines[title_at]
    week_start, week_end = parse_week(title)
    body = _article_lines(lines, title_at + 1, title)
    hints = list(heading_hints)

    summary = ""
    segments: list[str] = []
    if len(body) == 1 and _is_summary_only(body[0]):
        # Some weeks publish only the list of what was directed: each entry is an item.
        summary, segments = body[0], _split_summary(body[0])
        items = [Item(_summary_entry(s), [_summary_entry(s)], item_documents(s, [s])) for s in segments]
        return SourceDocument(source=source, kind="bulletin", title=title, items=items, summary=summary,
                              week_start=week_start, week_end=week_end)
    if body and _is_summary(body, hints):
        summary, segments = body[0], _split_summary(body[0])
        body = body[1:]

    judge = _HeadingJudge(segments, hints)
    # When the summary demonstrably lists the headings, a line it does not list needs more evidence.
    listed = bool(segments) and sum(judge.matches_summary(line) for line in body) >= min(2, len(segments))
    heads = []
    for i, line in enumerate(body[:-1]):
        threshold = 2 if i == 0 else 3
        if listed and not judge.matches_summary(line):
            threshold += 1
        if judge.is_heading(line, body[i + 1], threshold=threshold):
            heads.append(i)
    not_before = None
    if week_start:
        not_before = (dt.date.fromisoformat(week_start) - dt.timedelta(days=21)).isoformat()
    lead, items = _build_items(body, heads, segments, not_before)
    if lead:   # an introduction before the first heading belongs with the summary
        summary = "\n".join(filter(None, [summary, *lead]))
    return SourceDocument(source=source, kind="bulletin", title=title, items=items, summary=summary,
                          week_start=week_start, week_end=week_end)


_SUMMARY_CLOSING = re.compile(r"\s*(?:\.{3}|…)?\s*(?:là )?(?:những|các) nội dung chính\b.*$")


def _is_summary_only(line: str) -> bool:
    """A page whose whole article is the week's list: "A; B; C... là những nội dung chính …"."""
    return len(_split_summary(line)) >= 3 and not _has_parenthesised_ref(line) and not opens_report(line)


def _summary_entry(segment: str) -> str:
    """One entry of the list, without the closing "... là những nội dung chính …" words."""
    entry = _SUMMARY_CLOSING.sub("", segment).strip(" .;…")
    return entry[:1].upper() + entry[1:]


def _is_summary(body: list[str], hints: list[str]) -> bool:
    """Is the first line after the title the summary listing the items ("A; B; C.")?

    Yes when its segments reappear as later lines (headings), or when it is a ";"-list that is
    no report itself and is followed by a heading (bulletins whose headings reword the list).
    """
    first = body[0]
    if opens_report(first) and _has_parenthesised_ref(first):
        return False
    parts = _split_summary(first)
    later = [_key(line) for line in body[1:]]
    matched = sum(1 for part in parts if any(_similar(_key(part), k) for k in later))
    if len(parts) >= 2:
        if matched >= 1:
            return True
        judge = _HeadingJudge([], hints)
        return len(body) > 2 and judge.is_heading(body[1], body[2])
    # A one-item summary: the same words again as the next line (the item's heading).
    return len(body) > 2 and _similar(_key(body[1]), _key(first))


def _fallback_heading(paragraph: str, segments: list[str]) -> str:
    """A heading for an item the page gave none: its summary segment, else its first words."""
    key = _key(paragraph)
    for segment in segments:
        seg_key = _key(segment)
        if seg_key and len(set(seg_key.split()) & set(key.split())) >= 0.6 * len(seg_key.split()):
            return segment[:1].upper() + segment[1:]
    words = re.split(r"(?<=[.;])\s", paragraph, maxsplit=1)[0].split()
    return " ".join(words[:20]) + (" …" if len(words) > 20 else "")


def _build_items(body: list[str], heads: list[int], segments: list[str],
                 not_before: str | None) -> tuple[list[str], list[Item]]:
    """(introduction lines, items): headings start items; without headings, paragraphs that
    open a report with a reference do; text before the first item that reports nothing is an
    introduction."""
    items: list[Item] = []
    if not heads:
        # No headings at all: each paragraph that opens a report with its own reference starts an item.
        starts = [i for i, p in enumerate(body) if opens_report(p) and find_reference_matches(p)] or ([0] if body else [])
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(body)
            paragraphs = body[start:end]
            heading = _fallback_heading(paragraphs[0], segments)
            items.append(Item(heading, paragraphs, item_documents(heading, paragraphs, not_before=not_before)))
        return [], items
    lead = body[:heads[0]]
    if lead and any(opens_report(p) for p in lead):   # a report without a heading of its own
        heading = _fallback_heading(lead[0], segments)
        items.append(Item(heading, lead, item_documents(heading, lead, not_before=not_before)))
        lead = []
    for n, at in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(body)
        paragraphs = body[at + 1:end]
        if not paragraphs:
            # A section heading ("I. KINH TẾ") directly followed by an item heading: it joins the
            # page's introduction (kept in the summary passage) rather than being lost.
            lead.append(strip_numbering(body[at]))
            continue
        heading = strip_numbering(body[at]).rstrip(" :.")
        items.append(Item(heading, paragraphs, item_documents(heading, paragraphs, not_before=not_before)))
    return lead, items


# --------------------------------------------------------------------------- other documents

_STRUCTURAL_HEADING = re.compile(
    r"^(?:(?:Điều|Chương|Mục|Phần)\s+(?:\d{1,3}|[IVXLC]{1,6})\b|(?:\d{1,2}(?:\.\d{1,2})*|[IVXLC]{1,6})[.)]\s+\S)")
_HEADER_NUMBER = re.compile(r"(?i:số)\s*:\s*(?P<num>\d{1,5}\s?/\s?[^\s|,]+)")
_HEADER_DATE = re.compile(r"(?i:ngày)\s+\d{1,2}\s+(?i:tháng)\s+\d{1,2}\s+(?i:năm)\s+\d{4}|(?i:ngày)\s+\d{1,2}/\d{1,2}/\d{4}")


def _is_structural_heading(line: str) -> bool:
    words = len(line.split())
    if words > 25 or (_FINAL.search(line) and not re.match(r"^(?:Điều|Chương|Mục|Phần)\s", line)):
        return False
    letters = [c for c in line if c.isalpha()]
    all_caps = len(letters) >= 6 and all(c.isupper() for c in letters) and words >= 2
    return bool(_STRUCTURAL_HEADING.match(line)) or all_caps


def _own_header_reference(lines: list[str]) -> DocumentRef | None:
    """An official document's own number from its header ("Số: 143/KH-UBND", "Lạng Sơn, ngày 20
    tháng 6 năm 2022", a type line "KẾ HOẠCH")."""
    head = lines[:15]
    number = None
    for line in head:
        match = _HEADER_NUMBER.search(line)
        if match:
            number = normalize_doc_number(match.group("num"))
            break
    if number is None or not re.search(r"[A-ZĐ]", number):
        return None
    date = next((parse_date(m.group(0)) for line in head for m in [_HEADER_DATE.search(line)] if m), None)
    upper_types = {t.upper(): t for t in DOC_TYPES}
    doc_type = next((upper_types[line.strip()] for line in head if line.strip() in upper_types), None)
    return DocumentRef(number=number, doc_type=doc_type or infer_doc_type(number), issued_date=date,
                       issuer=issuer_from_number(number), raw=f"Số: {number}")


def parse_document(lines: Iterable[str], source: str, kind: str, *, heading_hints: Iterable[str] = (),
                   title: str | None = None) -> SourceDocument:
    """Any other document: headings (from markup or structure) start items; text before the first
    heading is an item titled by the document; a document without headings is one item titled
    by its first line (when short) or its file name."""
    all_lines = clean_lines(lines)
    body: list[str] = []
    for line in all_lines:
        if kind in ("html", "text", "markdown") and body and is_trailer(line):
            break
        if not is_chrome(line):
            body.append(line)
    stem = Path(source).stem
    hints = list(heading_hints)
    hint_keys = {_key(h) for h in hints}
    if title:
        title = _SPACES.sub(" ", nfc(title)).strip()
    if not title and body and len(body[0].split()) <= 25:
        title = body[0]
    title = title or stem
    if body and _key(body[0]) == _key(title) and len(body) > 1:
        body = body[1:]    # the title line itself is no content
    own = _own_header_reference(all_lines)

    judge = _HeadingJudge([], hints)
    heads = [
        i for i, line in enumerate(body)
        if i + 1 < len(body) and (_key(line) in hint_keys or _is_structural_heading(line)
                                  or judge.is_heading(line, body[i + 1], threshold=4))
    ]
    sections: list[tuple[str, list[str]]] = []
    if not heads:
        if body and len(body) > 1 and len(body[0].split()) <= 25 and not _FINAL.search(body[0]) and body[0] != title:
            sections.append((body[0], body[1:]))
        elif body:
            sections.append((title, body))
    else:
        if heads[0] > 0:
            sections.append((title, body[:heads[0]]))
        for n, at in enumerate(heads):
            end = heads[n + 1] if n + 1 < len(heads) else len(body)
            if end > at + 1:
                sections.append((strip_numbering(body[at]).rstrip(" :") or body[at], body[at + 1:end]))
    items = [Item(heading, paragraphs, item_documents(heading, paragraphs, fallback=own))
             for heading, paragraphs in sections]
    return SourceDocument(source=source, kind=kind, title=title, items=items)
