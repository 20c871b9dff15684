"""A full administrative document as Decree 30/2020/NĐ-CP lays it out, read into its own metadata.

Header: the issuing body (upper case, its parent body above it), the national motto, "Số: …",
"<place>, ngày … tháng … năm …", the type in capitals (KẾ HOẠCH, QUYẾT ĐỊNH …; none for a Công
văn) and the subject (trích yếu, "V/v …" for a Công văn), "Kính gửi: …" for a letter. Body:
sections (I., 1., Điều 1.). Footer: "Nơi nhận:" and the signer block ("TM. ỦY BAN NHÂN DÂN",
"KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", the name). Copies from Word or PDF put the two header columns on
one line or on alternate lines, so every field is found by its own pattern, not by position.

The header fields become the document's ``DocumentRef`` (number, type, date, issuer, signer)
and every item of the body cites it: a reference inside the body ("Thực hiện Công văn số …") is a
mention, never the document's own number.
"""
from __future__ import annotations

import re
from typing import Iterable

from retrieval.ingest.article import is_person_name
from retrieval.ingest.bulletin import clean_lines, mentioned_documents, parse_document
from retrieval.ingest.loaders.paragraphs import MOTTO_RE
from retrieval.ingest.references import DOC_TYPES, ISSUER_CODES, infer_doc_type, normalize_doc_number, parse_date
from retrieval.schema import DocumentRef, Item, SourceDocument
from retrieval.text import fold
from retrieval.vocabulary import vocabulary

HEADER_LINES = 20
_NUMBER = re.compile(r"(?i:số)\s*:\s*(?P<num>\d{1,5}\s?/\s?(?:\d{4}\s?/\s?)?[A-ZĐ][\wĐđ\-]*(?:/[\wĐđ\-]+)?)")
_PLACE_DATE = re.compile(r"(?P<place>[A-ZĐÀ-Ỹ][\wÀ-ỹ]*(?: [A-ZĐÀ-Ỹ][\wÀ-ỹ]*){0,3})\s*,\s*(?P<date>(?i:ngày)\s+\d{1,2}"
                         r"\s+(?i:tháng)\s+\d{1,2}\s+(?i:năm)\s+\d{4})")
_UPPER_TYPES = {t.upper(): t for t in DOC_TYPES}
_SUBJECT_PREFIX = re.compile(r"^(?i:v/v|về việc)\s*:?\s*")
_RULER = re.compile(r"^[\s\-_–—=*.|]+$")
_FOOTER = re.compile(r"^(?i:nơi nhận)\s*:")
_BLOCK_TITLE = re.compile(r"^(?:(?:TM|KT|TL|TUQ|Q)\.\s*)?(?:PHÓ |CHỦ |CHÁNH |GIÁM |TRƯỞNG |THỦ |BỘ |ỦY |UỶ |HỘI |VĂN )"
                          r"[A-ZĐÀ-Ỹ ]{2,60}$")
_BODY_START = re.compile(r"^(?:Căn cứ|Kính gửi|Thực hiện|Để|Nhằm|Theo|Trong|Ngày|Thời gian|Hiện nay|Qua|"
                         r"Triển khai|Ủy ban|Uỷ ban|UBND|Chủ tịch|CHỦ TỊCH|QUYẾT ĐỊNH\s*:)")


def is_official_document(lines: list[str]) -> bool:
    """Its head carries the national motto, or both a "Số: …" number and a dated place line."""
    head = " ".join(lines[:HEADER_LINES])
    return bool(MOTTO_RE.search(head)) or bool(_NUMBER.search(head) and _PLACE_DATE.search(head))


_PLACE_WORDS = tuple(words.upper() for words in vocabulary().place_words)   # "TỈNH", "THỊ XÃ", …
# Departments mirror ministries: "SỞ KHOA HỌC VÀ CÔNG NGHỆ" is cased as "Bộ Khoa học và Công nghệ" is.
_MINISTRY_TAILS = {fold(name[3:]): name[3:] for name in ISSUER_CODES.values() if name.startswith("Bộ ")}


def _sentence_case(upper: str) -> str:
    """"PHÓ CHỦ TỊCH" → "Phó Chủ tịch", "ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN" → "UBND tỉnh Lạng Sơn",
    "SỞ Y TẾ" → "Sở Y tế" (cased like its ministry)."""
    text = re.sub(r"\s+", " ", upper).strip()
    text = re.sub(r"(?i:ủy ban nhân dân|uỷ ban nhân dân)", "UBND", text)
    unit, _, tail = text.partition(" ")
    if unit.upper() == "SỞ" and fold(tail) in _MINISTRY_TAILS:
        return f"Sở {_MINISTRY_TAILS[fold(tail)]}"
    words = text.split()
    out: list[str] = []
    proper = False      # a place name after TỈNH / HUYỆN … keeps its capitals
    for i, word in enumerate(words):
        if word in ("UBND", "HĐND"):
            out.append(word)
        elif proper or i == 0:
            out.append(word.capitalize())
        elif word.upper() == "CHỦ":     # "Chủ tịch" keeps its capital wherever it stands
            out.append("Chủ")
        else:
            out.append(word.lower())
        proper = proper or word.upper() in ("TỈNH", "PHỐ", "HUYỆN", "XÃ", "PHƯỜNG", "TRẤN", "QUẬN")
    return " ".join(out)


def _issuer(header: list[str]) -> str | None:
    """The issuing body from the header's upper-case lines left once motto, number and date go:
    the lowest unit ("SỞ Y TẾ" under "UBND TỈNH LẠNG SƠN"); the Office reads "Văn phòng UBND tỉnh …"."""
    units: list[str] = []
    for line in header:
        rest = MOTTO_RE.sub(" ", line)
        rest = _NUMBER.sub(" ", rest)
        rest = _PLACE_DATE.sub(" ", rest)
        rest = re.sub(r"[|\t]", " ", rest).strip(" -_–—")
        if not rest or rest.upper() in _UPPER_TYPES:
            continue
        letters = [c for c in rest if c.isalpha()]
        if not letters or not all(c.isupper() for c in letters):
            if units:
                break
            continue
        if units and rest.startswith(_PLACE_WORDS):
            units[-1] = f"{units[-1]} {rest}"     # "ỦY BAN NHÂN DÂN" / "TỈNH LẠNG SƠN": one unit
        else:
            units.append(rest)
    if not units:
        return None
    lowest = _sentence_case(units[-1])
    if len(units) > 1 and lowest == "Văn phòng":
        return f"Văn phòng {_sentence_case(units[-2])}"
    return lowest


def _signer(footer: list[str]) -> str | None:
    """"Name, Title" from the signer block: the last capitalised name, the title line above it."""
    title = None
    name = None
    for line in footer:
        for part in re.split(r"\s*\|\s*|\s{2,}", line):
            part = part.strip()
            if _BLOCK_TITLE.match(part) and not part.startswith(("TM.", "TL.")):
                title = re.sub(r"^(?:KT|TUQ|Q)\.\s*", "", part)
            elif is_person_name(part, most=5):
                name = part
    if not name:
        return None
    return f"{name}, {_title_case(title)}" if title else name


# Nouns of office titles keep their capital: "PHÓ CHÁNH VĂN PHÒNG" → "Phó Chánh Văn phòng".
_TITLE_NOUNS = {"CHỦ", "CHÁNH", "VĂN", "GIÁM", "TRƯỞNG", "THỦ", "TỔNG", "CỤC"}


def _title_case(upper: str) -> str:
    words = re.sub(r"\s+", " ", upper).strip().split()
    return " ".join(w.capitalize() if i == 0 or w in _TITLE_NOUNS else w.lower() for i, w in enumerate(words))


def _subject(lines: list[str]) -> tuple[str, int]:
    """The trích yếu and the index of the first line after it."""
    subject: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if subject and (_BODY_START.match(line) or _RULER.match(line) or line.upper() in _UPPER_TYPES):
            break
        if not subject and _RULER.match(line):
            i += 1
            continue
        if subject and not line[:1].islower() and len(" ".join(subject).split()) >= 4:
            break
        subject.append(_SUBJECT_PREFIX.sub("", line))
        i += 1
        if len(subject) >= 3:
            break
    return " ".join(subject).strip(" .:"), i


def _without_recipients(lines: list[str]) -> list[str]:
    """The body without "Kính gửi: …" and its list of addressees ("- Các sở, ban, ngành tỉnh;")."""
    out: list[str] = []
    skipping = False
    for line in lines:
        if re.match(r"^(?i:kính gửi)\b", line):
            skipping = True
            continue
        if skipping and re.match(r"^[-+•]\s", line) and len(line.split()) <= 15:
            continue
        skipping = False
        out.append(line)
    return out


def parse_official(lines: Iterable[str], source: str, kind: str) -> SourceDocument | None:
    """A document with a Decree-30 header as one document: header → its DocumentRef, sections →
    items citing it; None when ``lines`` carry no such header."""
    lines = clean_lines(lines)
    if not is_official_document(lines):
        return None
    head = lines[:HEADER_LINES]
    number_match = next((m for m in (_NUMBER.search(line) for line in head) if m), None)
    date_match = next((m for m in (_PLACE_DATE.search(line) for line in head) if m), None)
    if number_match is None:
        return None
    number = normalize_doc_number(number_match.group("num"))
    # Where the header ends: after the type line, or after the date line for a letter.
    type_at = next((i for i, line in enumerate(head) if line.strip().upper() in _UPPER_TYPES
                    and line.strip().isupper()), None)
    date_at = next((i for i, line in enumerate(head) if _PLACE_DATE.search(line)), 0)
    number_at = next(i for i, line in enumerate(head) if _NUMBER.search(line))
    doc_type = _UPPER_TYPES[head[type_at].strip().upper()] if type_at is not None else infer_doc_type(number)
    after = (type_at if type_at is not None else max(date_at, number_at)) + 1
    rest = lines[after:]
    subject, used = _subject(rest)
    if type_at is None:
        # A letter's "V/v …" may sit under its number, before the date line.
        vv = next((line for line in head[:after] if _SUBJECT_PREFIX.match(line)), None)
        if vv and not subject.startswith(_SUBJECT_PREFIX.sub("", vv)[:20]):
            subject, used = _SUBJECT_PREFIX.sub("", vv).strip(" .:"), 0
    body = rest[used:]
    # The footer starts at "Nơi nhận:" or at the signer block, whichever comes first (copies put
    # the block before, after or beside the list of recipients).
    tail = max(0, len(body) - 15)
    starts = [i for i, line in enumerate(body) if _FOOTER.match(line)]
    starts += [i for i in range(tail, len(body)) if _BLOCK_TITLE.match(body[i])]
    footer_at = min(starts, default=len(body))
    footer, body = body[footer_at:], body[:footer_at]
    body = _without_recipients(body)
    ref = DocumentRef(number=number, doc_type=doc_type,
                      issued_date=parse_date(date_match.group("date")) if date_match else None,
                      issuer=_issuer(head[:max(number_at, date_at) + 1]), signer=_signer(footer),
                      raw=number_match.group(0))
    title = subject[:1].upper() + subject[1:] if subject else f"{doc_type or 'Văn bản'} {number}"
    sections = parse_document(body, source, kind, title=title).items if body else []
    items = [Item(item.heading, item.paragraphs,
                  [ref] + mentioned_documents(item.heading, item.paragraphs, exclude=number))
             for item in sections]
    return SourceDocument(source=source, kind=kind, title=title, items=items)

