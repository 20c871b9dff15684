"""The agency gazetteer of Lạng Sơn: canonical names, spellings, and what became of each body.

``Gazetteer.find`` locates agency names in any text, written with or without diacritics and in
any case: text and aliases are cut into tokens (words and "&"; commas, hyphens and dots are
ignored), tokens are compared folded, and a token that carries diacritics must also carry the
alias's marks ("bản" is not "Ban"), so accented text is matched exactly while text typed without
accents still matches. The longest alias wins. A few context rules keep common words out
("cơ sở y tế" holds no Sở Y tế; "UBND tỉnh Cao Bằng" is not our UBND tỉnh).

``successor`` answers "who does this body's work on a date" by following the chain of
reorganisations recorded in the data file (agencies_langson.yaml).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from retrieval.errors import InputError
from retrieval.text import fold, nfc
from retrieval.vocabulary import vocabulary

DEFAULT_PATH = Path(__file__).with_name("data") / "agencies_langson.yaml"

KINDS = frozenset({
    "provincial leadership", "department", "board", "district", "district-level group",
    "commune-level group", "press", "mass organisation", "armed forces", "central body", "central branch",
    "group",
})
# Bodies of the province itself: "<alias> tỉnh", "<alias> tỉnh Lạng Sơn" are the same body.
_PROVINCIAL_KINDS = frozenset({"provincial leadership", "department", "board", "press",
                               "mass organisation", "armed forces"})
# UBNDs below the province: a directive to their chairman is a directive to them.
_LOCAL_UBND_KINDS = frozenset({"district", "district-level group", "commune-level group"})

# Verbs (and verb-like openers) that start what an agency must do. Names stop before them and the
# task extractor uses them to recognise an action. Lower case, accented; compared folded too.
ACTION_WORDS = frozenset(vocabulary().action_words)


@dataclass(frozen=True)
class Agency:
    """One gazetteer entry (see the data file's header for the meaning of each field)."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    successor: str | None = None
    successor_from: str | None = None
    source: str | None = None
    source_note: str | None = None
    functions_to: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    members: tuple[str, ...] = ()   # a collective name's member kinds: "Các sở, ban, ngành" → department, board


@dataclass(frozen=True)
class AgencyMatch:
    """An agency named in a text: ``text[start:end]`` as written and its canonical name.

    ``canonical`` is None only for names that look like agencies but are not in the gazetteer
    (``Gazetteer.mentions``); ``Gazetteer.find`` always gives a canonical name.
    """

    start: int
    end: int
    text: str
    canonical: str | None

    @property
    def known(self) -> bool:
        return self.canonical is not None


# --------------------------------------------------------------------------- tokens

class _Token(NamedTuple):
    start: int
    end: int
    raw: str
    folded: str
    marks: str     # combining marks (sorted) + "đ": equal for the same accented syllable


_TOKEN_RE = re.compile(r"\w+|&")
# Between two tokens of one name: spaces, commas, hyphens/dashes, a dot ("UBND TP. Lạng Sơn").
_NAME_GAP_RE = re.compile(r"[\s,.\-–—]*")


def _marks(word: str) -> str:
    lower = nfc(word).lower()
    marks = sorted(ch for ch in unicodedata.normalize("NFD", lower) if unicodedata.category(ch) == "Mn")
    return "".join(marks) + ("đ" if "đ" in lower else "")


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.start(), m.end(), m.group(), fold(m.group()), _marks(m.group()))
            for m in _TOKEN_RE.finditer(text)]


def _same_word(text_token: _Token, alias_folded: str, alias_marks: str) -> bool:
    """Folded equality; a written word with diacritics must also carry the alias's marks (so
    "bản" ≠ "Ban"), while a word typed without any ("so", "ubnd") matches on its letters."""
    if text_token.folded != alias_folded:
        return False
    return not text_token.marks or text_token.marks == alias_marks


# --------------------------------------------------------------------------- alias variants

# Spelled-out forms of common abbreviations; both directions are generated except "TP".
_EXPANSIONS = [
    (r"\bUBND\b", "Ủy ban nhân dân"), (r"\b(?:Ủy|Uỷ) ban nhân dân\b", "UBND"),
    (r"\bHĐND\b", "Hội đồng nhân dân"), (r"\bHội đồng nhân dân\b", "HĐND"),
    (r"\bMTTQ\b", "Mặt trận Tổ quốc"), (r"\bMặt trận Tổ quốc\b", "MTTQ"),
    (r"\bTP\b\.?", "thành phố"), (r"\s*&\s*", " và "), (r"\s+và\s+", " & "),
]


def _variants(alias: str) -> set[str]:
    """The alias and every spelling reachable by the expansions above."""
    found = {alias}
    frontier = [alias]
    while frontier:
        current = frontier.pop()
        for pattern, repl in _EXPANSIONS:
            new = re.sub(pattern, repl, current)
            if new not in found and len(found) < 64:
                found.add(new)
                frontier.append(new)
    return found


def _generated(agency: Agency, spelling: str) -> set[str]:
    """Rule-made aliases: provincial suffixes, and "Chủ tịch UBND …" for local UBNDs."""
    out: set[str] = set()
    folded = fold(spelling)
    if agency.kind in _PROVINCIAL_KINDS and "lang son" not in folded:
        if folded.endswith(" tinh") or folded == "tinh":
            out.add(f"{spelling} Lạng Sơn")
        else:
            out.update({f"{spelling} tỉnh", f"{spelling} tỉnh Lạng Sơn", f"{spelling} Lạng Sơn"})
    if agency.kind in _LOCAL_UBND_KINDS and re.match(r"(?:ubnd|uy ban nhan dan)\b", folded):
        out.add(f"Chủ tịch {spelling}")
    return out


# --------------------------------------------------------------------------- context rules

# Words that, written right before an alias's first word, make it part of another word:
# "cơ sở y tế", "trụ sở", "thông báo", "văn bản" (typed "van ban" without accents).
_BAD_PREV = {
    "so": {"cơ", "trụ", "co", "tru"},
    "bao": {"thông", "cảnh", "dự", "tình", "khai", "công", "đăng", "nhắc", "thong", "canh", "dang"},
    "ban": {"văn", "van", "phiên", "dự"},
    "hoi": {"xã", "cơ", "đại", "quốc", "tổng", "hiệp", "co", "dai"},
    "cuc": {"bố", "kết", "tiểu", "bo", "ket"},
    "thanh": {"tăng", "kiểm"},
}
# Words that, written right after an alias's last word, make it part of another word.
_BAD_NEXT = {
    "doan": {"kết", "ket", "tụ"},     # "tỉnh đoàn kết" is not Tỉnh đoàn
    "tinh": {"thần", "than", "hình", "hinh", "táo", "thức"},
}

# Lower-case words between a body and a place name: "… tỉnh Cao Bằng", "… huyện Bảo Lạc".
_PLACE_WORDS = {syllable for words in vocabulary().place_words for syllable in words.split()}

# Heads of names that look like agencies ("Sở …", "Ban …") for the unknown-name detector.
_HEAD_RE = re.compile(
    r"(?<![\w])(?:Chi cục|Sở|Ban|UBND|Ủy ban|Uỷ ban|Hội|Liên đoàn|Liên minh|Trung tâm|Cục|Văn phòng|"
    r"Công an|Bệnh viện|Kho bạc|Bộ Chỉ huy|Bộ đội|Đài|Báo|Tỉnh đoàn|Ngân hàng|Bảo hiểm|Trạm|Đồn)(?![\w])")
# UBNDs named in the plural, of other levels or of the whole country: "UBND các tỉnh, thành phố
# trực thuộc Trung ương", "Chủ tịch UBND các quận, huyện" — one generic body, kept as written.
_PLURAL_UBND_RE = re.compile(
    r"(?<![\w])(?:Chủ tịch\s+)?(?P<name>(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+các\s+(?:tỉnh|quận|thị xã|huyện|xã)"
    r"(?:\s*,\s*(?:thành phố|thị xã|thị trấn|phường|huyện|quận|đặc khu))*(?:\s+trực thuộc Trung ương)?)(?![\w])")
# "UBND các huyện Tràng Định, Hữu Lũng và Đình Lập": each named district's UBND.
_DISTRIBUTIVE_RE = re.compile(
    r"(?<![\w])(?:Chủ tịch\s+)?(?P<head>UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+các\s+(?P<level>huyện|xã|phường|thị trấn)"
    r"\s+(?P<names>{name}(?:\s*(?:,|và)\s*{name})*)".format(
        name=r"(?!UBND\b|Ủy\b|Uỷ\b|Sở\b|Ban\b)[A-ZĐÀ-Ỹ][\wÀ-ỹ]*(?:\s+(?!UBND\b)[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)*"))
# Head + next word that are ordinary words ("Ban hành", "Hội nghị", "Sở hữu").
_NOT_NAMES = {
    "ban": {"hành", "đầu", "ngày", "đêm", "bố"},
    "hoi": {"nghị", "thảo", "thi", "diễn", "chợ", "viên", "nhập", "tụ", "đủ", "khỏe", "báo", "xuân",
            "trường", "đàm", "ý", "họp"},
    "so": {"hữu", "dĩ", "thích", "trường"},
    "cuc": {"bộ", "diện"},
    "bao": {"cáo", "đảm", "vệ", "quản", "hiểm", "chí", "động", "lãnh"},
    "dai": {"hội", "biểu", "diện", "học"},
    "tram": {"trọng"},
    "ngan hang": {"đề", "câu"},
    "bo doi": set(),
    "van phong": {"phẩm"},
}
# Names that are generic on their own ("Ban Chỉ đạo, cơ chế điều hành" names no body).
_GENERIC_NAMES = {
    "ban chi dao", "ban to chuc", "ban quan ly", "hoi dong", "ban thuong vu", "ban giam doc",
    "ban giam khao", "ban bien tap", "ubnd", "uy ban", "trung tam", "van phong", "cong an",
}
# Verbs that are part of a name after these words ("chương trình xây dựng nông thôn mới").
_NAME_COMPOUNDS = {"tu xay", "trinh xay", "an dau", "ly du"}
# Lower-case words that end a name ("Sở Tư pháp và cơ quan có thẩm quyền").
_NAME_STOPS = set(vocabulary().name_stops + vocabulary().agency_name_stops)


def _action_keys() -> dict[str, list[tuple[tuple[str, str], ...]]]:
    index: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for word in ACTION_WORDS:
        key = tuple((t.folded, t.marks) for t in _tokens(word))
        index.setdefault(key[0][0], []).append(key)
    for keys in index.values():
        keys.sort(key=len, reverse=True)
    return index


_ACTION_INDEX = _action_keys()


def action_length(words: list[str], i: int) -> int:
    """Number of words of the action word starting at ``words[i]`` (0 when none starts there).

    Accented words must carry the action's marks ("năm" is not "nắm"); unaccented ones match
    on their letters.
    """
    if i >= len(words):
        return 0
    tokens = [_Token(0, 0, w, fold(w), _marks(w)) for w in words[i:i + 4]]
    for key in _ACTION_INDEX.get(tokens[0].folded, []):
        if len(key) <= len(tokens) and all(_same_word(t, f, m) for t, (f, m) in zip(tokens, key)):
            return len(key)
    return 0


# --------------------------------------------------------------------------- the gazetteer


class Gazetteer:
    """Canonical agencies and their spellings; build with ``Gazetteer.load``."""

    def __init__(self, agencies: Iterable[Agency]):
        self._by_name: dict[str, Agency] = {}
        for agency in agencies:
            if agency.name in self._by_name:
                raise InputError(f"agency listed twice in the gazetteer: {agency.name}")
            if agency.kind not in KINDS:
                raise InputError(f"unknown kind {agency.kind!r} for {agency.name}")
            for member in agency.members:
                if member not in KINDS:
                    raise InputError(f"{agency.name}: unknown member kind {member!r}")
            self._by_name[agency.name] = agency
        for agency in self._by_name.values():
            for other in (agency.successor, agency.parent):
                if other and other not in self._by_name:
                    raise InputError(f"{agency.name}: {other!r} is not in the gazetteer")
            if agency.successor and not agency.successor_from:
                raise InputError(f"{agency.name}: successor without successor_from")
        # (folded tokens, marks) of each spelling → canonical; explicit spellings first so a
        # generated one never overrides a written one.
        self._keys: dict[tuple[tuple[str, str], ...], str] = {}
        # Per spelling key: which gaps between its words hold punctuation in some spelling. A
        # comma in the text is accepted only there ("UBND tỉnh, Lạng Sơn đã …" is no
        # "UBND tỉnh Lạng Sơn"), while text without the alias's commas still matches.
        self._punct: dict[tuple[tuple[str, str], ...], tuple[bool, ...]] = {}
        for explicit in (True, False):
            for agency in self._by_name.values():
                for spelling in self._spellings(agency, explicit):
                    tokens = _tokens(spelling)
                    key = tuple((t.folded, t.marks) for t in tokens)
                    if not key:
                        continue
                    owner = self._keys.get(key)
                    if owner is None:
                        self._keys[key] = agency.name
                    elif owner != agency.name:
                        if explicit:
                            raise InputError(f"spelling {spelling!r} names both {owner} and {agency.name}")
                        continue
                    gaps = tuple(bool(spelling[a.end:b.start].strip()) for a, b in zip(tokens, tokens[1:]))
                    old = self._punct.get(key, (False,) * len(gaps))
                    self._punct[key] = tuple(x or y for x, y in zip(old, gaps))
        # First folded token → candidate spellings, longest first.
        self._index: dict[str, list[tuple[tuple[tuple[str, str], ...], str]]] = {}
        for key, name in self._keys.items():
            self._index.setdefault(key[0][0], []).append((key, name))
        for candidates in self._index.values():
            candidates.sort(key=lambda c: -len(c[0]))
        self._folded_names = {fold(k): k for k in self._by_name}

    @staticmethod
    def _spellings(agency: Agency, explicit: bool) -> set[str]:
        written = {agency.name, *agency.aliases}
        if explicit:
            return written
        out: set[str] = set()
        for spelling in written:
            for variant in _variants(spelling):
                out.add(variant)
                for generated in _generated(agency, variant):
                    out.update(_variants(generated))
        return out - written

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        """The gazetteer in ``path`` (default: the Lạng Sơn data file), parsed once per path."""
        return _load_cached(str(Path(path or DEFAULT_PATH).resolve()))

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> Gazetteer:
        agencies = []
        for entry in entries:
            if not isinstance(entry, dict) or "name" not in entry or "kind" not in entry:
                raise InputError(f"gazetteer entry needs a name and a kind: {entry!r}")
            since = entry.get("successor_from")
            agencies.append(Agency(
                name=nfc(str(entry["name"])).strip(),
                kind=str(entry["kind"]),
                aliases=tuple(nfc(str(a)).strip() for a in entry.get("aliases") or ()),
                parent=entry.get("parent"),
                successor=entry.get("successor"),
                successor_from=since.isoformat() if isinstance(since, dt.date) else since,
                source=entry.get("source"),
                source_note=entry.get("source_note"),
                functions_to=dict(entry.get("functions_to") or {}),
                note=entry.get("note"),
                members=tuple(str(kind) for kind in entry.get("members") or ()),
            ))
        return cls(agencies)

    # ------------------------------------------------------------------ lookups

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._by_name.values())

    def entry(self, name: str) -> Agency | None:
        canonical = self.canonical(name)
        return self._by_name.get(canonical) if canonical else None

    def kind(self, name: str) -> str | None:
        agency = self.entry(name)
        return agency.kind if agency else None

    def collectives_of(self, name: str) -> tuple[str, ...]:
        """The collective names that include ``name`` by its kind: a task "giao các sở, ban, ngành" is
        Sở Y tế's too (so an official asking for Sở Y tế's work sees it)."""
        agency = self.entry(name)
        if agency is None:
            return ()
        return tuple(group.name for group in self._by_name.values() if agency.kind in group.members)

    def canonical(self, name: str) -> str | None:
        """Canonical name for any spelling ("sở tt&tt", "UBND TP Lạng Sơn"), or None."""
        if name in self._by_name:
            return name
        tokens = _tokens(nfc(name))
        for key, canonical in self._index.get(tokens[0].folded, []) if tokens else []:
            if len(key) == len(tokens) and all(_same_word(t, f, m) for t, (f, m) in zip(tokens, key)):
                return canonical
        return None

    def successor(self, name: str, on: str | None = None) -> str | None:
        """The body doing ``name``'s work on date ``on`` (ISO; today when None), following the
        chain of reorganisations ("Sở Bưu chính, Viễn thông" → "Sở Thông tin và Truyền thông" →
        "Sở Khoa học và Công nghệ"); None when ``name`` itself still existed then, or is unknown.
        """
        start = self.canonical(name)
        if start is None:
            return None
        on = on or dt.date.today().isoformat()
        current, seen = start, {start}
        while True:
            agency = self._by_name[current]
            if not agency.successor or not agency.successor_from or agency.successor_from > on:
                break
            current = agency.successor
            if current in seen:      # a cycle in the data: stop rather than loop
                break
            seen.add(current)
        return current if current != start else None

    def as_of(self, name: str, on: str | None) -> str | None:
        """The canonical name of the body as it was on ``on`` (no change applied when None)."""
        canonical = self.canonical(name)
        if canonical is None or on is None:
            return canonical
        return self.successor(canonical, on) or canonical

    # ------------------------------------------------------------------ finding names in text

    def find(self, text: str) -> list[AgencyMatch]:
        """Gazetteer agencies named in ``text``, left to right, longest spelling first."""
        text = nfc(text)
        tokens = _tokens(text)
        found: list[AgencyMatch] = []
        i = 0
        while i < len(tokens):
            hit = self._match_at(text, tokens, i)
            if hit is None:
                i += 1
                continue
            n, canonical = hit
            start, end = tokens[i].start, tokens[i + n - 1].end
            found.append(AgencyMatch(start, end, text[start:end], canonical))
            i += n
        return found

    def _match_at(self, text: str, tokens: list[_Token], i: int) -> tuple[int, str] | None:
        for key, canonical in self._index.get(tokens[i].folded, []):
            n = len(key)
            if i + n > len(tokens):
                continue
            span = tokens[i:i + n]
            if not all(_same_word(t, f, m) for t, (f, m) in zip(span, key)):
                continue
            gaps = [text[a.end:b.start] for a, b in zip(span, span[1:])]
            if any(not _NAME_GAP_RE.fullmatch(gap) or ("," in gap and not punct)
                   for gap, punct in zip(gaps, self._punct[key])):
                continue
            if self._bad_context(text, tokens, i, i + n):
                continue
            return n, canonical
        return None

    @staticmethod
    def _bad_context(text: str, tokens: list[_Token], i: int, j: int) -> bool:
        """True when the words around tokens[i:j] show it is no agency name."""
        if i > 0 and not text[tokens[i - 1].end:tokens[i].start].strip() \
                and tokens[i - 1].raw.lower() in _BAD_PREV.get(tokens[i].folded, ()):
            return True
        if j < len(tokens) and not text[tokens[j - 1].end:tokens[j].start].strip():
            if tokens[j].raw.lower() in _BAD_NEXT.get(tokens[j - 1].folded, ()):
                return True
            # Followed by a proper name ("UBND tỉnh Cao Bằng", "Sở Y tế Hà Nội", "Sở Tài nguyên
            # và Môi trường tỉnh Cao Bằng"): another body. Our own province's name is spelled
            # out by the generated aliases, so it never reaches this rule.
            k = j
            while k < len(tokens) and tokens[k].raw in _PLACE_WORDS and k - j < 2 \
                    and not text[tokens[k - 1].end:tokens[k].start].strip():
                k += 1
            if k + 1 < len(tokens) and not text[tokens[k - 1].end:tokens[k].start].strip() \
                    and not text[tokens[k].end:tokens[k + 1].start].strip():
                nxt, after = tokens[k].raw, tokens[k + 1].raw
                if nxt[:1].isupper() and after[:1].isupper() and not nxt.isupper() and not after.isupper():
                    return (fold(nxt), fold(after)) != ("lang", "son")
        return False

    def mentions(self, text: str) -> list[AgencyMatch]:
        """Known agencies and agency-looking names the gazetteer does not know (canonical None)."""
        text = nfc(text)
        known = self._distributive(text)
        known += [m for m in self.find(text) if not any(a.start <= m.start < a.end or m.start <= a.start < m.end
                                                         for a in known)]
        known += [m for m in self._plural_ubnds(text) if not any(a.start <= m.start < a.end for a in known)]
        unknown = [m for m in self._unknown_spans(text, known)]
        return sorted(known + unknown, key=lambda m: m.start)

    def _plural_ubnds(self, text: str) -> list[AgencyMatch]:
        """"UBND các tỉnh, thành phố trực thuộc Trung ương": a generic body the gazetteer need not list."""
        out = []
        for m in _PLURAL_UBND_RE.finditer(text):
            name = m.group("name")
            if self.canonical(name) is None:   # the chairman stands for his UBND, as for known ones
                out.append(AgencyMatch(m.start(), m.end(), name, None))
        return out

    def _distributive(self, text: str) -> list[AgencyMatch]:
        """"UBND các huyện A, B và C" → UBND huyện A, UBND huyện B, UBND huyện C (as written when unknown)."""
        out: list[AgencyMatch] = []
        for m in _DISTRIBUTIVE_RE.finditer(text):
            # The class [A-ZĐÀ-Ỹ] also holds lower-case accented letters: names must really be capitalised.
            if not all(w[0].isupper() for w in re.findall(r"\w+", m.group("names")) if w != "và"):
                continue
            base, names = m.start("names"), m.group("names")
            cuts = [0] + [x for sep in re.finditer(r"\s*,\s*|\s+và\s+", names) for x in sep.span()] + [len(names)]
            for k, (a, b) in enumerate(zip(cuts[::2], cuts[1::2])):
                name = f"UBND {m.group('level')} {names[a:b]}"
                start = m.start() if k == 0 else base + a
                canonical = self.canonical(name)    # a commune the gazetteer does not list stays as written
                out.append(AgencyMatch(start, base + b, text[start:base + b] if canonical else name, canonical))
        return out

    def unknown_agency_names(self, text: str) -> list[str]:
        """Names that look like agencies ("Sở …", "Ban …", "UBND …", "Hội …") but are not known."""
        names = [m.text for m in self.mentions(text) if not m.known]
        return list(dict.fromkeys(names))

    def _unknown_spans(self, text: str, known: list[AgencyMatch]) -> list[AgencyMatch]:
        out: list[AgencyMatch] = []
        covered = [(m.start, m.end) for m in known]
        starts = sorted(m.start for m in known)
        for head in _HEAD_RE.finditer(text):
            if any(a <= head.start() < b for a, b in covered):
                continue
            limit = next((s for s in starts if s > head.start()), len(text))
            end = min(_name_end(text, head.end()), limit)
            name = text[head.start():end].strip(" ,-–")
            key = fold(name)
            words = key.split()
            head_key = fold(head.group())
            following = fold(text[head.end():head.end() + 20]).split()[:1]
            if following and following[0] in {fold(w) for w in _NOT_NAMES.get(head_key, ())}:
                continue
            if len(words) <= len(head_key.split()) or key in _GENERIC_NAMES:
                continue
            if self.canonical(name):
                continue
            out.append(AgencyMatch(head.start(), head.start() + len(name), name, None))
            covered.append((head.start(), head.start() + len(name)))
        return out


def _name_end(text: str, pos: int) -> int:
    """Where a name that started before ``pos`` ends: capitalised words, and lower-case words
    that are neither function words nor verbs; at most 12 words; never across punctuation except
    a hyphen between capitalised words ("Ban Thi đua - Khen thưởng")."""
    end = pos
    count = 0
    rest = list(re.finditer(r"\s*(?:[-–]\s*)?([\w&]+)", text[pos:pos + 200]))
    words = [m.group(1) for m in rest]
    cursor = pos
    for k, match in enumerate(rest):
        if match.start() != cursor - pos:
            break                     # punctuation between the previous word and this one
        gap = match.group(0)[:match.start(1) - match.start()]
        word = match.group(1)
        lower = word.lower()
        if ("-" in gap or "–" in gap) and not word[:1].isupper():
            break
        if not word[:1].isupper() and not word.isdigit():
            if lower in _NAME_STOPS or action_length(words, k):
                if lower == "và" and k + 1 < len(rest) and rest[k + 1].group(1)[:1].isupper() \
                        and not _HEAD_RE.match(text, pos + rest[k + 1].start(1)):
                    pass              # "Sở Tài nguyên và Môi trường", not "… tỉnh và Sở Tư pháp"
                elif k and fold(f"{words[k - 1]} {word}") in _NAME_COMPOUNDS:
                    pass              # "Ban Quản lý dự án đầu tư xây dựng"
                else:
                    break
        cursor = pos + match.end()
        end = cursor
        count += 1
        if count >= 12:
            break
    # A name never ends on "và".
    trimmed = re.sub(r"(?:\s+(?:và|&))+$", "", text[:end])
    return len(trimmed)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Gazetteer:
    try:
        with open(path, encoding="utf-8") as fh:
            # libyaml's safe loader when built in: the same data, ~15x faster than the pure-Python one.
            data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the agency gazetteer {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), list):
        raise InputError(f"{path}: expected a mapping with an 'agencies' list")
    return Gazetteer.from_entries(data["agencies"])
