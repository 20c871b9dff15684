"""Vietnamese document references: "(Kế hoạch số 143/KH-UBND, ngày 20/6/2022)", "Quyết định số
221/QĐ-TTg ngày 22/02/2021 của Thủ tướng Chính phủ", "Kết luận số 69-KL/TW", and user mentions
such as "kế hoạch 143" or "cv 704/ubnd-kgvx".

Numbers are compared through ``normalize_doc_number`` (exact form) or ``doc_number_key``
(diacritic- and case-insensitive), never as written.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Iterator, NamedTuple

from retrieval.schema import DocumentRef
from retrieval.text import fold, nfc
from retrieval.vocabulary import vocabulary

# --------------------------------------------------------------------------- document types

# Longest first so "Thông tư liên tịch" wins over "Thông tư", "Nghị quyết" over nothing.
DOC_TYPES = [
    "Thông tư liên tịch", "Nghị quyết liên tịch", "Quyết định", "Kế hoạch", "Công văn", "Chỉ thị",
    "Thông báo", "Nghị quyết", "Nghị định", "Thông tư", "Công điện", "Kết luận", "Tờ trình",
    "Báo cáo", "Hướng dẫn", "Đề án", "Luật", "Pháp lệnh", "Chương trình", "Quy định", "Quy chế",
    "Văn bản", "Giấy mời", "Lệnh", "Điện",
]
# "Văn bản" names no type: a "văn bản số 703/UBND-NC" is typed from its number.
_UNTYPED = {"Văn bản"}

# Type code (the part of a number that names the kind of document) → type.
TYPE_CODES = {
    "QĐ": "Quyết định", "KH": "Kế hoạch", "CT": "Chỉ thị", "TB": "Thông báo", "NQ": "Nghị quyết",
    "NĐ": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "NQLT": "Nghị quyết liên tịch",
    "CĐ": "Công điện", "KL": "Kết luận", "TTR": "Tờ trình", "BC": "Báo cáo", "HD": "Hướng dẫn",
    "ĐA": "Đề án", "CV": "Công văn", "CTR": "Chương trình", "GM": "Giấy mời", "L": "Luật",
    "PL": "Pháp lệnh", "QC": "Quy chế",
}

# Issuer codes → the body they stand for. Used when the text does not say "của …".
ISSUER_CODES = {
    "UBND": "UBND tỉnh", "VP": "Văn phòng UBND tỉnh", "VPUBND": "Văn phòng UBND tỉnh",
    "TTG": "Thủ tướng Chính phủ", "CP": "Chính phủ", "VPCP": "Văn phòng Chính phủ",
    "TW": "Trung ương Đảng", "TU": "Tỉnh ủy", "HĐND": "HĐND tỉnh", "BCĐCCHC": "Ban Chỉ đạo cải cách hành chính tỉnh", "BCĐ": "Ban Chỉ đạo",
    "UBTVQH": "Ủy ban Thường vụ Quốc hội", "BXD": "Bộ Xây dựng", "BYT": "Bộ Y tế", "BTC": "Bộ Tài chính",
    "BCA": "Bộ Công an", "BQP": "Bộ Quốc phòng", "BNV": "Bộ Nội vụ", "BTP": "Bộ Tư pháp",
    "BCT": "Bộ Công Thương", "BGDĐT": "Bộ Giáo dục và Đào tạo", "BGTVT": "Bộ Giao thông vận tải",
    "BKHĐT": "Bộ Kế hoạch và Đầu tư", "BTNMT": "Bộ Tài nguyên và Môi trường",
    "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn", "BNNMT": "Bộ Nông nghiệp và Môi trường",
    "BTTTT": "Bộ Thông tin và Truyền thông", "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch",
    "BLĐTBXH": "Bộ Lao động - Thương binh và Xã hội", "BKHCN": "Bộ Khoa học và Công nghệ",
    "BNG": "Bộ Ngoại giao", "BDTTG": "Bộ Dân tộc và Tôn giáo", "NHNN": "Ngân hàng Nhà nước Việt Nam",
}

# Mixed-case codes kept in their official spelling after upper-casing ("QĐ-TTg", "TTr-UBND").
_CANONICAL_CASE = {"TTG": "TTg", "TTR": "TTr", "CTR": "CTr"}

# --------------------------------------------------------------------------- numbers

# One code of a number: starts with a capital (ASCII or Đ), may hold digits ("QH15").
_CODE = r"[A-ZĐ][A-Za-zĐđ0-9]*"
_CODES = rf"{_CODE}(?:-{_CODE})*"
# 143/KH-UBND · 924 /QĐ-UBND · 73/2019/NĐ-CP · 81/2023/QH15 · 01/2014/TTLT-BTP-BNV · 69-KL/TW.
# Spaces are tolerated around "/" only (the typo seen in real captures); a spaced hyphen
# ("2024 - UBND tỉnh") is ordinary prose.
_NUMBER = (
    r"(?<![\w/.\-])"
    r"(?P<num>\d{1,5}(?:"
    rf"\s?/\s?(?:\d{{4}}\s?/\s?)?{_CODES}(?:/{_CODES})?"
    rf"|-{_CODES}/{_CODES}"
    r"))"
    r"(?![\w])"
)
_NUMBER_RE = re.compile(_NUMBER)
_TYPE_ALT = "|".join(re.escape(t) for t in DOC_TYPES)
# The type word (any case) with "số"/"số:" right before the number.
_TYPE_BEFORE_RE = re.compile(rf"(?i:(?P<type>{_TYPE_ALT}))\s+(?i:số\s*:?\s*)?$")
_SO_BEFORE_RE = re.compile(r"(?i:số)\s*:?\s*$")

# --------------------------------------------------------------------------- dates

_DATE_NUM = r"(?P<d>\d{1,3})\s?[/.\-]\s?(?P<m>\d{1,2})\s?[/.\-]\s?(?P<y>\d{4})"
_DATE_WORDS = r"(?P<d2>\d{1,2})\s+(?i:tháng)\s+(?P<m2>\d{1,2})\s*,?\s+(?i:năm)\s+(?P<y2>\d{4})"
_DATE = rf"(?:{_DATE_NUM}|{_DATE_WORDS})"
_DATE_RE = re.compile(rf"(?<!\d){_DATE}(?!\d)")
_NGAY = r"(?i:ngày)"
# ", ngày 20/6/2022" (also "ban hành ngày …" and a date without "ngày").
_DATE_AFTER_RE = re.compile(rf"\s*,?\s*(?:(?i:ban hành)\s+)?(?:{_NGAY}\s*)?{_DATE}(?!\d)")
# The typo ", ngày 703/UBND-NC, ngày 27/5/2024": a bogus "ngày …" then the real one.
_DATE_AFTER_TYPO_RE = re.compile(rf"\s*,?\s*{_NGAY}\s+[^\s,()]{{1,30}}\s*,\s*{_NGAY}\s*{_DATE}(?!\d)")
_OF_RE = re.compile(r"\s*,?\s*(?i:của)\s+")


def iso_date(day: int, month: int, year: int) -> str | None:
    """ISO date, or None when the parts make no calendar date (31/2, a "ngày 703")."""
    if not 1900 <= year <= 2099:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """"20/6/2022", "05-09-2019", "ngày 5 tháng 6 năm 2024" → ISO; None when absent or invalid."""
    match = _DATE_RE.search(nfc(text))
    return _date_of(match) if match else None


def _date_of(match: re.Match) -> str | None:
    d, m, y = (match.group("d"), match.group("m"), match.group("y"))
    if d is None:
        d, m, y = match.group("d2"), match.group("m2"), match.group("y2")
    return iso_date(int(d), int(m), int(y))


@lru_cache(maxsize=1 << 16)   # a catalog normalises every number and mention once more at start
def normalize_doc_number(number: str) -> str:
    """Canonical form of a document number: "924 /qđ-ubnd" → "924/QĐ-UBND".

    Spaces around "/" and "-" go, letters are upper-cased except the official mixed-case codes
    ("TTg", "TTr", "CTr"), text is NFC. Apply it to both sides of any comparison.
    """
    text = re.sub(r"\s*([/\-])\s*", r"\1", nfc(number).strip())
    text = re.sub(r"\s+", "", text).upper()
    return "".join(_CANONICAL_CASE.get(part, part) for part in re.split(r"([/\-])", text))


@lru_cache(maxsize=1 << 16)
def doc_number_key(number: str) -> str:
    """Looser key for lookups typed without diacritics: "221/qd-ttg" and "221/QĐ-TTg" agree."""
    return fold(normalize_doc_number(number)).upper()


def _codes(number: str) -> list[str]:
    """Alphabetic code parts of a normalised number, upper-cased: 73/2019/NĐ-CP → [NĐ, CP]."""
    return [c.upper() for c in re.split(r"[/\-]", number) if c and not c.isdigit()]


def infer_doc_type(number: str) -> str | None:
    """Type implied by a number's codes: QĐ → Quyết định, KH → Kế hoạch, "704/UBND-KGVX" → Công văn.

    A number whose first code names a body rather than a type (UBND-…, VP-…, BXD-…) is a
    Công văn: that is how official letters are numbered. "QH15" alone is ambiguous (a law or a
    resolution of the National Assembly): None.
    """
    codes = _codes(normalize_doc_number(number))
    if not codes:
        return None
    party = re.match(r"^\d+-", normalize_doc_number(number)) is not None
    head = codes[0]
    if head in TYPE_CODES:
        return TYPE_CODES[head]
    if re.fullmatch(r"QH\d*|UBTVQH\d*", head):
        return None
    if party:
        return None
    return "Công văn"


def issuer_from_number(number: str) -> str | None:
    """Issuer implied by a number's last code: "-UBND" → UBND tỉnh, "/VP-KT" → Văn phòng UBND tỉnh."""
    codes = _codes(normalize_doc_number(number))
    if not codes:
        return None
    for code in [c for c in codes if c not in TYPE_CODES] or codes:
        if code in ISSUER_CODES:
            return ISSUER_CODES[code]
        if re.fullmatch(r"QH\d*", code):
            return "Quốc hội"
        if re.fullmatch(r"UBTVQH\d*", code):
            return ISSUER_CODES["UBTVQH"]
    return None


# --------------------------------------------------------------------------- issuers after "của"

# Words and verb phrases that end an issuer's name ("… về việc", "… năm 2024", "… sửa đổi").
_STOP_WORDS = set(vocabulary().name_stops + vocabulary().issuer_name_stops)
_STOP_BIGRAMS = set(vocabulary().issuer_name_stop_bigrams)
_TYPE_START_RE = re.compile(rf"(?i:{_TYPE_ALT})\b")
_TRAILING_PUNCT = ",.;:)”\"’!?"


def issuer_after_of(text: str) -> str | None:
    """The body named at the start of ``text`` (the words after "của"), or None.

    Names mix capitalised and lower-case syllables ("Bộ Nông nghiệp và Phát triển nông thôn",
    "Ban Chấp hành Trung ương Đảng khóa XI"), so the name runs until a function word or verb
    phrase ("về", "sửa đổi", "thực hiện"), punctuation, or 10 words.
    """
    tokens = text.split("\n", 1)[0].split()   # a name never runs over a line break
    words: list[str] = []
    for i, token in enumerate(tokens):
        if token.startswith("("):
            break
        core = token.rstrip(_TRAILING_PUNCT)
        if not core:
            break
        if not words and not core[0].isupper():
            return None
        lower = core.lower()
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if core == lower:   # capitalised words are parts of names
            if lower in _STOP_WORDS or f"{lower} {following.rstrip(_TRAILING_PUNCT).lower()}" in _STOP_BIGRAMS:
                break
            if lower == "và" and (not following[:1].isupper() or _TYPE_START_RE.match(" ".join(tokens[i + 1:i + 4]))):
                break
        words.append(core)
        if core != token or len(words) >= 10:
            break
    while words and words[-1] == "và":
        words.pop()
    return " ".join(words) or None


# --------------------------------------------------------------------------- finding references


@dataclass(frozen=True)
class RefMatch:
    """A reference and where it sits: ``in_parens`` marks "(Kế hoạch số …, ngày …)"."""

    ref: DocumentRef
    start: int
    end: int
    number_start: int
    in_parens: bool
    explicit_issuer: bool


def find_reference_matches(text: str) -> list[RefMatch]:
    """Every document reference in ``text``, in order, with its position (duplicates kept)."""
    text = nfc(text)
    found: list[RefMatch] = []
    for match in _NUMBER_RE.finditer(text):
        if found and match.start() < found[-1].end:
            continue   # inside the previous reference (the typo "ngày 703/UBND-NC, ngày 27/5/2024")
        number_raw = match.group("num")
        number = normalize_doc_number(number_raw)
        if not re.search(r"[A-ZĐ]", number):
            continue
        start = match.start("num")
        before = text[max(0, start - 40):start]
        doc_type = None
        type_match = _TYPE_BEFORE_RE.search(before)
        if type_match:
            start = start - len(before) + type_match.start()
            word = type_match.group("type")
            doc_type = next((t for t in DOC_TYPES if t.lower() == word.lower()), None)
            if doc_type in _UNTYPED:
                doc_type = None
        else:
            so = _SO_BEFORE_RE.search(before)
            if so:
                start = start - len(before) + so.start()
        doc_type = doc_type or infer_doc_type(number)

        end = match.end("num")
        rest = text[end:end + 120]
        issued = None
        date_match = _DATE_AFTER_RE.match(rest) or _DATE_AFTER_TYPO_RE.match(rest)
        if date_match:
            issued = _date_of(date_match)
            end += date_match.end()
        raw_end = end
        issuer = None
        of = _OF_RE.match(text, end)
        if of:
            issuer = issuer_after_of(text[of.end():of.end() + 160])
            if issuer:
                end = of.end() + text[of.end():].find(issuer) + len(issuer)
                # A date may follow the issuer instead: "số 5/KH-UBND của UBND tỉnh ngày 3/1/2024".
                if issued is None:
                    late = _DATE_AFTER_RE.match(text, end)
                    if late and re.match(rf"\s*,?\s*{_NGAY}", text[end:late.end()]):
                        issued = _date_of(late)
                        end = late.end()
        opened = text.rfind("(", 0, start)
        closed = text.rfind(")", 0, start)
        in_parens = opened > closed and text.find(")", raw_end) != -1 and \
            text[opened + 1:start].strip() == ""
        ref = DocumentRef(number=number, doc_type=doc_type, issued_date=issued, issuer=issuer,
                          raw=text[start:end].strip())
        found.append(RefMatch(ref, start, end, match.start("num"), in_parens, issuer is not None))
    return _share_list_dates(text, found)


_LIST_JOINER = re.compile(r"^\s*(?:,|và|;)\s*$")


def _share_list_dates(text: str, found: list[RefMatch]) -> list[RefMatch]:
    """"Quyết định số: 99/QĐ-UBND, 103/QĐ-UBND, 105/QĐ-UBND, ngày 26/01/2023": the date after the
    last number of a list dates every number of it."""
    out = list(found)
    for i in range(len(out) - 2, -1, -1):
        this, after = out[i], out[i + 1]
        if this.ref.issued_date or not after.ref.issued_date:
            continue
        if _LIST_JOINER.match(text[this.end:after.number_start]):
            out[i] = replace(this, ref=replace(this.ref, issued_date=after.ref.issued_date))
    return out


def find_references(text: str) -> list[DocumentRef]:
    """Document references in ``text`` in order of appearance (a number named twice appears twice)."""
    return [m.ref for m in find_reference_matches(text)]


def merge_references(refs: Iterable[DocumentRef]) -> list[DocumentRef]:
    """Deduplicate by number, keeping first-seen order and filling gaps from later mentions."""
    merged: dict[str, DocumentRef] = {}
    for ref in refs:
        old = merged.get(ref.number)
        if old is None:
            merged[ref.number] = ref
            continue
        merged[ref.number] = replace(
            old,
            doc_type=old.doc_type or ref.doc_type,
            issued_date=old.issued_date or ref.issued_date,
            issuer=old.issuer or ref.issuer,
            signer=old.signer or ref.signer,
        )
    return list(merged.values())


# --------------------------------------------------------------------------- user mentions

class DocMention(NamedTuple):
    """A document as a user names it: ("Kế hoạch", "143") or (None, "924/QĐ-UBND").

    ``number`` is a full normalised number, or a bare number prefix ("143", "15/2024") when the
    user gave only digits.
    """

    doc_type: str | None
    number: str

    @property
    def is_prefix(self) -> bool:
        return not re.search(r"[A-Za-zĐđ]", self.number)


# Folded aliases users type: full names and the usual abbreviations.
_MENTION_TYPES: dict[str, str | None] = {fold(t): t for t in DOC_TYPES}
_MENTION_TYPES.update({fold(code).lower(): name for code, name in TYPE_CODES.items() if len(code) >= 2})
_MENTION_TYPES.update({"van ban": None, "vb": None, "cv": "Công văn", "qd": "Quyết định", "kh": "Kế hoạch"})
_MENTION_TYPE_ALT = "|".join(sorted((re.escape(k) for k in _MENTION_TYPES), key=len, reverse=True))
_FULL_NUMBER = r"\d{1,5}(?:\s?/\s?\d{4})?(?:\s?[/\-]\s?[a-zđ][a-zđ0-9]*)+"
_MENTION_RE = re.compile(
    rf"(?<![\w])(?P<type>{_MENTION_TYPE_ALT})\.?\s*(?:so\s*:?\s*)?"
    rf"(?P<num>{_FULL_NUMBER}|\d{{1,5}}(?:/\d{{4}})?)(?![\w])"
)
_BARE_NUMBER_RE = re.compile(rf"(?<![\w/])(?P<num>{_FULL_NUMBER})(?![\w])")


def _fold_same_length(text: str) -> str:
    """Folded text with one character per input character, so spans map back to the original."""
    return "".join((fold(ch) or " ")[0] for ch in text)


class MentionSpan(NamedTuple):
    """Where a user's text names a document: ``text[start:end]`` ("kế hoạch 143", "704/UBND-KGVX")."""

    start: int
    end: int
    mention: DocMention


def find_mention_spans(text: str) -> list[MentionSpan]:
    """Documents a user's question names, with their spans in ``nfc(text)``, left to right:
    "kế hoạch 143", "KH 143", "quyết định số 924", "công văn 704/UBND-KGVX", "924/QĐ-UBND",
    also typed without diacritics."""
    original = nfc(text)
    folded = _fold_same_length(original)
    spans: list[MentionSpan] = []
    for match in _MENTION_RE.finditer(folded):
        doc_type = _MENTION_TYPES[match.group("type")]
        raw = original[match.start("num"):match.end("num")]
        number = normalize_doc_number(raw) if re.search(r"[^\d/\s]", raw) else re.sub(r"\s+", "", raw)
        if not DocMention(None, number).is_prefix:
            doc_type = doc_type or infer_doc_type(number)
        spans.append(MentionSpan(match.start(), match.end(), DocMention(doc_type, number)))
    typed = list(spans)
    for match in _BARE_NUMBER_RE.finditer(folded):
        if any(s.start <= match.start() < s.end for s in typed):
            continue
        number = normalize_doc_number(original[match.start("num"):match.end("num")])
        spans.append(MentionSpan(match.start("num"), match.end("num"), DocMention(infer_doc_type(number), number)))
    return sorted(spans, key=lambda s: s.start)


def find_mentions(text: str) -> list[DocMention]:
    """The documents of ``find_mention_spans``, without their spans."""
    return [s.mention for s in find_mention_spans(text)]


def parse_mention(text: str) -> DocMention | None:
    """The first document a user names in ``text``, or None."""
    found = find_mentions(text)
    return found[0] if found else None


def _leading_number(number: str) -> str:
    match = re.match(r"(\d+)(?:/(\d{4})/)?", number)
    if not match:
        return ""
    return str(int(match.group(1))) + (f"/{match.group(2)}" if match.group(2) else "")


def mention_matches(mention: DocMention, number: str) -> bool:
    """Does a known document number answer the user's mention?"""
    if not mention.is_prefix:
        return doc_number_key(mention.number) == doc_number_key(number)
    digits, _, year = mention.number.partition("/")
    lead = _leading_number(normalize_doc_number(number))
    want = str(int(digits)) + (f"/{year}" if year else "")
    if lead != want and not (not year and lead.split("/")[0] == want):
        return False
    return mention.doc_type is None or infer_doc_type(number) in (mention.doc_type, None)


class KnownNumbers:
    """Known document numbers, in their order, looked up by a user's mention without reading them
    all: a province's years of directives name tens of thousands (a scan per question took 0.35–0.55 s
    at 6·10⁴). ``matching(m)`` is exactly ``[n for n in numbers if mention_matches(m, n)]``."""

    def __init__(self, numbers: Iterable[str]):
        self.numbers = list(dict.fromkeys(numbers))
        self._by_key: dict[str, list[str]] = {}
        self._by_lead: dict[str, list[str]] = {}   # a prefix mention matches only its leading digits
        for number in self.numbers:
            self._by_key.setdefault(doc_number_key(number), []).append(number)
            self._by_lead.setdefault(_leading_number(normalize_doc_number(number)).split("/")[0], []).append(number)

    def __contains__(self, number: str) -> bool:
        return number in self._by_key.get(doc_number_key(number), ())

    def __iter__(self) -> Iterator[str]:
        return iter(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)

    def with_key(self, key: str) -> list[str]:
        """The numbers whose ``doc_number_key`` is ``key`` ("221/qd-ttg" and "221/QĐ-TTg" share one)."""
        return list(self._by_key.get(key, ()))

    def matching(self, mention: DocMention) -> list[str]:
        if not mention.is_prefix:
            return self.with_key(doc_number_key(mention.number))
        digits = mention.number.partition("/")[0]
        pool = self._by_lead.get(str(int(digits)), []) if digits.isdigit() else self.numbers
        return [number for number in pool if mention_matches(mention, number)]


def resolve_document_mention(text: str, known_numbers: Iterable[str]) -> str | None:
    """The one known document number that ``text`` names ("kế hoạch 143" → "143/KH-UBND").

    None when the text names none, or when its mention fits several known documents.
    """
    known = known_numbers if isinstance(known_numbers, KnownNumbers) else KnownNumbers(known_numbers)
    candidates: list[str] = []
    for mention in find_mentions(text):
        hits = known.matching(mention)
        if not mention.is_prefix and hits:
            return hits[0]
        candidates.extend(h for h in hits if h not in candidates)
    return candidates[0] if len(candidates) == 1 else None
