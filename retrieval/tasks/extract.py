"""Tasks from directives: who leads, with whom, who else acts, by when, under which document.

Rules (the labelled set follows the same ones):

* A sentence is cut into clauses at ";". A clause *opens* a task when it names its actors:
  - an agency list in subject position (at the start, right after "Đối với", or after an
    introduction ending in "," or ":" — "Theo đó, …", "Về tiến độ thực hiện: …", "Đối với …, …")
    followed by an action;
  - a requester (UBND tỉnh, its chairman, "đồng chí …") followed by "yêu cầu / đề nghị / giao
    (cho) / chỉ đạo" and an agency list: the listed agencies are the actors;
  - with no subject at all, "yêu cầu / đề nghị / giao (cho)" followed by an agency list.
  Clauses that name no actor continue the task opened before them in the sentence, except one
  that starts with an action and has a dated deadline of its own after a clause that had one: it
  is a task of its own with the same actors. A sentence read as several tasks quotes each part.
* Roles: the first actor is the ``lead`` (the "chủ trì" agency is always the first actor named in
  these directives: "X chủ trì, phối hợp với Y …"); the other actors of the same clause are
  ``assignees`` (so ``assignees`` never repeats the lead; all actors = lead + assignees); bare
  "các cơ quan, đơn vị" acting beside the districts are the provincial "Các sở, ban, ngành";
  agencies after "phối hợp (chặt chẽ) (với)" anywhere in the task are ``partners``. Objects of
  "chỉ đạo / huy động / đôn đốc X" are none of these.
* Requesters (provincial leadership) and central bodies never act in a provincial task; a
  sentence that names the item's own document is the item's report line, not a task.
* A sentence of the same paragraph that names nobody and starts with an action ("Tăng cường …",
  "Theo đó, tăng cường …", "Đối với …, cần …") right after a task is a *new task* with the same
  lead and assignees (its own quote, action and deadline): officials ask about each duty, and
  each needs its own sentence as evidence. It keeps only the partners it names itself.
* A "Thời gian / Thời hạn …" sentence naming nobody gives its deadline to the item's previous
  task when that task has none. In a plan (Kế hoạch) with no task yet, it is the schedule of the
  body that issued the plan (a Ban Chỉ đạo's inspection plan), unless that is the leadership.
* Deadlines are read from the task's own text (first dated one, else a recurring one); a
  frequency in a purpose clause ("để thường xuyên …") or said of the people ("hướng dẫn người dân
  thường xuyên …") is not the agency's deadline.
* Agency names are canonical as the agency was on the document's date; ``successors`` says who
  does the work today. Agency-looking names the gazetteer does not know keep their written form
  and are listed in ``unknown_agencies``.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.ingest.references import find_references, iso_date
from retrieval.schema import CitesDocument, DocumentRef, Item, Passage, SourceDocument, Task
from retrieval.tasks.agencies import AgencyMatch, Gazetteer, action_length
from retrieval.text import fold, nfc, split_sentences
from retrieval.vocabulary import vocabulary

_NOT_ACTORS = {"provincial leadership", "central body"}

# --------------------------------------------------------------------------- deadlines

_D = (r"\d{1,2}\s*[/.\-]\s*\d{1,2}(?:\s*[/.\-]\s*\d{4})?"
      r"|\d{1,2}\s+tháng\s+\d{1,2}(?:\s*,?\s*năm\s+\d{4})?")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_BY = r"(?:trước|chậm nhất|muộn nhất|không quá|hạn chót|đến hết|hết|đến|tới|hoàn thành|xong|cuối|trong|vào)"
_DEADLINES = [   # (kind, pattern); all case-insensitive
    ("recurring", r"(?:trước|vào)\s+ngày\s+\d{1,2}(?:\s*/\s*\d{1,2})?\s+(?:hằng|hàng)\s+(?:tháng|quý|năm)"),
    ("range", rf"từ\s+(?:ngày\s+)?(?:{_D})\s*(?:đến|tới|-|–)\s*(?:hết\s+)?(?:ngày\s+)?(?P<date>{_D})"),
    ("year_range", r"từ\s+năm\s+\d{4}\s*(?:đến|tới|-|–)\s*(?:hết\s+)?năm\s+(?P<y>\d{4})"),
    ("date", rf"(?<!tính )(?P<by>{_BY})(?:\s+(?:vào|là|trước|trong))?\s+(?:ngày\s+)?(?P<date>{_D})(?![\d/])"),
    ("month", rf"(?P<by>{_BY})\s+tháng\s+(?P<m>\d{{1,2}})(?:\s*(?:/|năm)\s*(?P<y>\d{{4}}))?(?![\d/])"),
    ("quarter", rf"(?P<by>{_BY})\s+quý\s+(?P<q>IV|III|II|I|[1-4])\b(?:\s*(?:/|năm)\s*(?P<y>\d{{4}}))?"),
    ("half", r"trong\s+6\s+tháng\s+(?P<h>đầu|cuối)\s+năm\s+(?P<y>\d{4})"),
    ("year", rf"(?<!tầm nhìn )(?P<by>{_BY})\s+năm\s+(?P<y>\d{{4}})"),
    ("recurring", r"định kỳ(?:\s+(?:hằng|hàng)\s+(?:ngày|tuần|tháng|quý|năm)\b)?|(?:hằng|hàng)\s+(?:ngày|tuần|tháng|quý|năm)\b"
                  r"|thường xuyên"),
]
_DEADLINE_RES = [(kind, re.compile(p, re.IGNORECASE)) for kind, p in _DEADLINES]
# A frequency counts only for the assigned agency's own action. In the same phrase (since the last
# , ; :) after a purpose word ("… để thường xuyên tư vấn") or after the people an agency guides
# ("hướng dẫn người dân thường xuyên kiểm tra"), it says how others act or why, not by when.
_NOT_OWN_FREQUENCY = re.compile(
    r"\b(?:để|nhằm|người dân|(?<!ban )(?<!đồng )nhân dân|hộ gia đình|bà con)\b[^,;:]*$", re.IGNORECASE)


def _day_month_year(text: str) -> tuple[int, int, int | None]:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    return numbers[0], numbers[1], (numbers[2] if len(numbers) > 2 else None)


def _with_year(day: int, month: int, year: int | None, ref: str | None) -> str | None:
    """ISO date; a missing year comes from the reference date (the next year when the date
    would otherwise lie more than two months before it: "trước ngày 10/01" in December)."""
    if year is not None:
        return iso_date(day, month, year)
    if not ref:
        return None
    ref_date = dt.date.fromisoformat(ref)
    found = iso_date(day, month, ref_date.year)
    if found and dt.date.fromisoformat(found) < ref_date - dt.timedelta(days=60):
        found = iso_date(day, month, ref_date.year + 1)
    return found


def _end_of_month(year: int, month: int) -> str | None:
    if not 1 <= month <= 12:
        return None
    return iso_date(calendar.monthrange(year, month)[1], month, year)


def _deadline_date(kind: str, m: re.Match, ref: str | None) -> str | None:
    by = fold(m.groupdict().get("by") or "")
    before = by == "truoc"          # "trước" is exclusive: keep the boundary as written
    ref_year = int(ref[:4]) if ref else None
    if kind in ("range", "date"):
        return _with_year(*_day_month_year(m.group("date")), ref)
    year = int(m.group("y")) if m.groupdict().get("y") else ref_year
    if year is None:
        return None
    if kind in ("year", "year_range"):
        return f"{year:04d}-01-01" if before else f"{year:04d}-12-31"
    if kind == "half":
        return f"{year:04d}-06-30" if m.group("h") == "đầu" else f"{year:04d}-12-31"
    if kind == "month":
        month = int(m.group("m"))
        return iso_date(1, month, year) if before else _end_of_month(year, month)
    if kind == "quarter":
        quarter = _ROMAN[m.group("q").lower()]
        return iso_date(1, 3 * quarter - 2, year) if before else _end_of_month(year, 3 * quarter)
    return None


def find_deadline(text: str, ref_date: str | None = None) -> tuple[str, str | None] | None:
    """(deadline as written, ISO date or None) of the first dated deadline in ``text``, else of
    the first recurring one ("hằng tháng", "thường xuyên"); None when there is none."""
    text = nfc(text)
    dated: list[tuple[int, int, str, str | None]] = []
    recurring: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DEADLINE_RES:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue    # inside a longer deadline already read ("từ ngày … đến ngày …")
            taken.append(m.span())
            if kind == "recurring":
                if not _NOT_OWN_FREQUENCY.search(text, 0, m.start()):
                    recurring.append((m.start(), m.group(0)))
            else:
                dated.append((m.start(), m.end(), m.group(0), _deadline_date(kind, m, ref_date)))
    if dated:
        _, _, written, iso = min(dated)
        return written, iso
    if recurring:
        return min(recurring)[1], None
    return None


# --------------------------------------------------------------------------- context


@dataclass
class TaskContext(CitesDocument):
    """What a sentence's tasks inherit: the item's document, the dates to resolve against, and
    (state kept by ``extract_from_sentence``) the paragraph's last task and the item's tasks."""

    document: DocumentRef | None = None   # the item's own directive
    bulletin: str = ""
    source: str = ""
    ref_date: str | None = None           # document date (else the bulletin week), for deadlines
    gazetteer: Gazetteer | None = None
    last: Task | None = None              # last task of the current paragraph
    heading_actors: list[AgencyMatch] = field(default_factory=list)   # "1. Sở Y tế:" over its duties
    item_tasks: list[Task] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)   # districts the item's last task named

    @classmethod
    def for_item(cls, doc: SourceDocument, item: Item, gazetteer: Gazetteer | None = None) -> TaskContext:
        primary = item.primary
        return cls(
            document=primary,
            bulletin=doc.title, source=Path(doc.source).name,
            ref_date=(primary.issued_date if primary else None) or doc.week_end or doc.week_start,
            gazetteer=gazetteer,
        )

    @property
    def gaz(self) -> Gazetteer:
        if self.gazetteer is None:
            self.gazetteer = Gazetteer.load()
        return self.gazetteer

    def new_paragraph(self) -> None:
        self.last = None


# --------------------------------------------------------------------------- sentence analysis

# Between two agencies of one list: "A, B", "A và B", "A, đề nghị B" (a comma is needed before
# "đề nghị": "UBND tỉnh đề nghị B" is a request, not a list).
_LIST_GAP = re.compile(r"\s*(?:,\s*(?:(?:và|đề nghị|nhất là|đặc biệt là|trong đó có|cùng với|cùng)\s+)?"
                       r"|\s+(?:(?:và|nhất là|đặc biệt là|trong đó có|cùng với|cùng)\s+)?)", re.IGNORECASE)
_PAREN = re.compile(r"\s*\([^()]*\)")
_LEAD_MARK = re.compile(r"\s*[,:]?\s*(?:là\s+(?:cơ quan|đơn vị)\s+(?:chủ trì|đầu mối|thường trực)"
                        r"|(?:có trách nhiệm\s+)?chủ trì|làm đầu mối)\b\s*,?", re.IGNORECASE)
# "theo chức năng, nhiệm vụ (, địa bàn) được giao (quản lý)", "căn cứ chức năng nhiệm vụ được giao",
# "theo chức năng, nhiệm vụ" alone: words between the actors and their action.
_FILLER = re.compile(r"\s*[,:]?\s*(?:(?:có\s+)?liên qua[nm]\s*)?(?:theo|trong phạm vi|căn cứ(?:\s+vào)?)\s+"
                     r"(?:chức năng|nhiệm vụ)(?:\s*,?\s*(?:chức năng|nhiệm vụ|quyền hạn|địa bàn))*"
                     r"(?:[^;]{0,25}?(?:được giao(?:\s+quản lý)?|của mình))?\s*,?", re.IGNORECASE)
_PARTNER = re.compile(r"\s*[,:]?\s*(?:phối hợp(?:\s+chặt chẽ)?(?:\s+với)?|với sự phối hợp của)\s+", re.IGNORECASE)
_DUTY = re.compile(r"\s*[,:]?\s*(?:được giao(?:\s+bổ sung)?(?:\s+nhiệm vụ)?|có trách nhiệm|cần phải|cần|phải)\s+",
                   re.IGNORECASE)
_TRIGGER = re.compile(r"\b(?:yêu cầu|đề nghị|giao cho|giao|chỉ đạo|chỉ thị)\s*[,:]?\s*", re.IGNORECASE)
_BLOCKERS = set(vocabulary().clause_blockers)   # they make the clause a report, not a task
_INTRO = re.compile(r"^(?:Theo đó|Đồng thời|Ngoài ra|Bên cạnh đó|Mặt khác|Cùng với đó|Trong đó)\s*,\s*",
                    re.IGNORECASE)
_BULLET = re.compile(r"|[-–+•*]|\(?(?:\d{1,2}|[a-zđ]|[IVX]{1,4})[.)]", re.IGNORECASE)
_DEADLINE_SENTENCE = re.compile(r"^(?:Thời gian|Thời hạn)\b", re.IGNORECASE)
# A sentence that only dates what came before it: "Hoàn thành trước ngày 22/9/2021.", "Xong trong tháng 6."
_ONLY_DEADLINE = re.compile(r"^(?:Hoàn thành|Xong|Báo cáo kết quả)\s+(?:trước|trong|chậm nhất|xong trước)\b[^,;]{0,40}$",
                            re.IGNORECASE)
# "Đối với <agencies> <action>": the agencies right after "Đối với" are the ones addressed (an
# action must follow them; "Đối với các dự án …, Sở …" names a topic, not an agency).
_ADDRESSEE = re.compile(r"(?:(?:Theo đó|Đồng thời|Ngoài ra|Bên cạnh đó)\s*,\s*)?(?:[-–+•]\s*)?Đối với",
                        re.IGNORECASE)
_DISTRICT_INTRO = re.compile(r"^\s*Đối với\s+(?:\d+\s+|các\s+)?huyện\s+", re.IGNORECASE)
_BARE_DISTRICT = {"ubnd huyen", "uy ban nhan dan huyen"}


@dataclass
class _Opener:
    """A clause that opens a task: its actors, partners, and where its action starts."""

    span_start: int
    action_start: int
    actors: list[AgencyMatch]
    partners: list[AgencyMatch] = field(default_factory=list)


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the ";"-separated clauses, ignoring ";" inside parentheses."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch == ";" and depth == 0:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(sentence)))
    return spans


def _parse_list(sentence: str, mentions: list[AgencyMatch], i: int) -> tuple[list[int], int]:
    """Indices of the agency list starting at mentions[i] ("A, B và C", "A (B)"), and its end."""
    members, end, j = [i], mentions[i].end, i + 1
    while True:
        paren = _PAREN.match(sentence, end)
        if paren:   # "Sở Nội vụ (Ban Thi đua - Khen thưởng)": the unit inside names no other actor
            end = paren.end()
            while j < len(mentions) and mentions[j].start < end:
                j += 1
        if j < len(mentions) and _LIST_GAP.fullmatch(sentence, end, mentions[j].start):
            members.append(j)
            end, j = mentions[j].end, j + 1
            continue
        return members, end


def _subject_position(prefix: str) -> bool:
    """May an agency list that follows ``prefix`` (the clause so far) be the clause's subject?"""
    p = prefix.rstrip()
    if _BULLET.fullmatch(p):     # "- Sở Y tế: …", "a) UBND các huyện, thành phố …"
        return True
    return (p.endswith((",", ":")) or bool(re.search(r"(?i)(?:^|\s)đồng chí$", p))
            or bool(re.search(r"(?i)nòng cốt là$", p)) or bool(_ADDRESSEE.fullmatch(p)))


def _action_start(sentence: str, pos: int, end: int) -> int | None:
    """Where the action begins at or after ``pos``: up to four filler words may come first
    ("… liên quam theo …"), but never a word that makes the clause a report ("đã", "là", "có")."""
    words = list(re.finditer(r"\w+", sentence[pos:end]))
    texts = [w.group() for w in words]
    for k in range(min(5, len(words))):
        if action_length(texts, k):
            return pos + words[k].start()
        if texts[k].lower() in _BLOCKERS:
            return None
    return None


def _roles_after(sentence: str, mentions: list[AgencyMatch], pos: int, end: int,
                 next_mention: int) -> tuple[int | None, list[AgencyMatch]]:
    """Read "chủ trì", fillers, "phối hợp với …", duty markers after the actors; return where
    the action starts (None when no action follows) and the partners named on the way."""
    partners: list[AgencyMatch] = []
    while True:
        for pattern in (_LEAD_MARK, _FILLER):
            m = pattern.match(sentence, pos, end)
            if m:
                pos = m.end()
                break
        else:
            m = _PARTNER.match(sentence, pos, end)
            k = next((k for k in range(next_mention, len(mentions)) if m and mentions[k].start == m.end()), None)
            if m and k is not None:
                members, pos = _parse_list(sentence, mentions, k)
                partners += [mentions[x] for x in members]
                next_mention = members[-1] + 1
                continue
            m = _DUTY.match(sentence, pos, end)
            if m:
                pos = m.end()
                continue
            return _action_start(sentence, pos, end), partners


def _is_actor(gaz: Gazetteer, m: AgencyMatch) -> bool:
    return not m.known or gaz.kind(m.canonical) not in _NOT_ACTORS


def _open_clause(sentence: str, start: int, end: int, mentions: list[AgencyMatch], gaz: Gazetteer,
                 report_line: bool, allow_bare_trigger: bool, issuer: str | None = None) -> _Opener | None:
    """The task a clause opens, if it names its actors (see the module's rules)."""
    inside = [k for k, m in enumerate(mentions) if start <= m.start < end]
    k = inside[0] if inside else None
    while k is not None and k < len(mentions) and mentions[k].start < end:
        members, list_end = _parse_list(sentence, mentions, k)
        if _subject_position(sentence[start:mentions[k].start]):
            actors = [mentions[x] for x in members]
            if all(_is_actor(gaz, a) for a in actors):
                if report_line and issuer and any(a.canonical == issuer for a in actors):
                    return None          # "Ban Chỉ đạo … ban hành Kế hoạch … (Kế hoạch số …)"
                action, partners = _roles_after(sentence, mentions, list_end, end, members[-1] + 1)
                if action is not None:
                    return _Opener(start, action, actors, partners)
                return None
            if not report_line:          # a requester: "UBND tỉnh yêu cầu: Sở Y tế chủ trì …"
                return _triggered(sentence, list_end, end, mentions, gaz, start)
            return None
        k = members[-1] + 1
    if allow_bare_trigger and not report_line:   # "Đồng chí yêu cầu Sở … ", no requester named
        return _triggered(sentence, start, end, mentions, gaz, start, with_chi_dao=False)
    return None


def _triggered(sentence: str, pos: int, end: int, mentions: list[AgencyMatch], gaz: Gazetteer,
               span_start: int, with_chi_dao: bool = True) -> _Opener | None:
    for trig in _TRIGGER.finditer(sentence, pos, end):
        if not with_chi_dao and fold(trig.group()).startswith("chi"):
            continue
        k = next((k for k, m in enumerate(mentions) if m.start == trig.end()), None)
        if k is None:
            continue
        members, list_end = _parse_list(sentence, mentions, k)
        actors = [mentions[x] for x in members if _is_actor(gaz, mentions[x])]
        if not actors:
            continue
        action, partners = _roles_after(sentence, mentions, list_end, end, members[-1] + 1)
        if action is not None:
            return _Opener(span_start, action, actors, partners)
    return None


def _district_opener(sentence: str, gaz: Gazetteer) -> _Opener | None:
    """"Đối với 02 huyện Tràng Định, Bình Gia …, cần tập trung …": those districts' UBNDs act."""
    m = _DISTRICT_INTRO.match(sentence)
    if not m:
        return None
    names: list[AgencyMatch] = []
    words = list(re.finditer(r"[\w]+|[,;.()]", sentence[m.end():]))
    current: list[re.Match] = []

    def close() -> bool:
        if not current:
            return False
        a, b = m.end() + current[0].start(), m.end() + current[-1].end()
        canonical = gaz.canonical(f"UBND huyện {sentence[a:b]}")
        if canonical:
            names.append(AgencyMatch(a, b, sentence[a:b], canonical))
        current.clear()
        return bool(canonical)

    end = m.end()
    for word in words:
        text = word.group()
        if text[:1].isupper():
            current.append(word)
            continue
        if not close():
            break
        end = m.end() + word.start()
        if text not in (",", "và", "huyện"):
            break
    if not names:
        return None
    for comma in re.finditer(r",\s*(?:(?:cần|phải)\s+)?", sentence[end:]):
        action = _action_start(sentence, end + comma.end(), end + comma.end() + 40)
        if action == end + comma.end():
            return _Opener(0, action, names)
    return None


# --------------------------------------------------------------------------- tasks


def _agency_name(m: AgencyMatch, gaz: Gazetteer, ctx: TaskContext) -> list[str]:
    """Names a mention stands for in a task: canonical as of the document's date, the districts
    of the previous task for a bare "(Chủ tịch) UBND huyện", the written form when unknown."""
    if not m.known:
        return [m.text]
    written = re.sub(r"^chu tich ", "", fold(m.text))
    if written in _BARE_DISTRICT and ctx.districts:
        return list(ctx.districts)
    return [gaz.as_of(m.canonical, ctx.ref_date) if ctx.ref_date else m.canonical]


_LOCAL_KINDS = {"district", "district-level group"}


def _by_level(actors: list[AgencyMatch], gaz: Gazetteer) -> list[AgencyMatch]:
    """Bare "các cơ quan, đơn vị" acting together with the districts ("các cơ quan, đơn vị, UBND
    các huyện, thành phố rà soát …") are the provincial level of the pair: the sở, ban, ngành the
    directive addresses, not any related body."""
    if not any(a.known and gaz.kind(a.canonical) in _LOCAL_KINDS for a in actors):
        return actors
    return [AgencyMatch(a.start, a.end, a.text, "Các sở, ban, ngành")
            if re.sub(r"\W+", " ", fold(a.text)).strip() == "cac co quan don vi" else a for a in actors]


def _names(matches: list[AgencyMatch], gaz: Gazetteer, ctx: TaskContext) -> list[str]:
    out: list[str] = []
    for m in matches:
        out += [n for n in _agency_name(m, gaz, ctx) if n not in out]
    return out


def _make_task(ctx: TaskContext, sentence: str, action: str, lead: str | None, assignees: list[str],
               partners: list[str], span: str, unknown: list[str]) -> Task:
    gaz = ctx.gaz
    assignees = [a for a in assignees if a != lead]
    partners = [p for p in partners if p != lead and p not in assignees]
    deadline = find_deadline(span, ctx.ref_date)
    successors = {}
    for name in [lead, *assignees, *partners]:
        if name and gaz.canonical(name) == name:
            later = gaz.successor(name)
            if later:
                successors[name] = later
    return Task(
        action=action.strip(" ,;:.…/\n") or action.strip(), lead=lead, partners=partners, assignees=assignees,
        deadline=deadline[0] if deadline else None, deadline_date=deadline[1] if deadline else None,
        quote=sentence, document=ctx.document, bulletin=ctx.bulletin, source=ctx.source,
        successors=successors, unknown_agencies=unknown,
    )


def _names_own_document(sentence: str, ctx: TaskContext) -> bool:
    return bool(ctx.doc_number) and any(r.number == ctx.doc_number for r in find_references(sentence))


def extract_from_sentence(sentence: str, context: TaskContext) -> list[Task]:
    """Tasks of one sentence. ``context`` carries the item's document and, across the sentences
    of a paragraph, the previous task (for continuations); this function updates it."""
    sentence = nfc(sentence).strip()
    gaz = context.gaz
    mentions = gaz.mentions(sentence)
    unknown = list(dict.fromkeys(m.text for m in mentions if not m.known))
    report_line = _names_own_document(sentence, context)

    openers: list[tuple[int, int, _Opener]] = []     # (clause index, clause end, opener)
    clauses = _clauses(sentence)
    for index, (start, end) in enumerate(clauses):
        opener = _open_clause(sentence, start, end, mentions, gaz, report_line, allow_bare_trigger=not openers,
                              issuer=gaz.canonical(context.issuer or ""))
        if opener is None and index == 0:
            opener = _district_opener(sentence, gaz)
        if opener:
            openers.append((index, end, opener))

    tasks: list[Task] = []
    if openers:
        tasks = _opener_tasks(sentence, clauses, openers, mentions, unknown, context)
    elif context.last is None and context.heading_actors and _continues(_BULLET_MARK.sub("", sentence)):
        # "1. Sở Y tế:" then "- Chủ trì, phối hợp với …; hoàn thành trước …": the heading's agency acts.
        body = _BULLET_MARK.sub("", sentence)
        offset = len(sentence) - len(body)
        actors = _names(_by_level(context.heading_actors, gaz), gaz, context)
        partners = _extra_partners(sentence, offset, len(sentence), mentions, gaz, context)
        tasks.append(_make_task(context, sentence, body, actors[0], actors[1:], partners, sentence, unknown))
    elif context.last is not None and _continues(sentence):
        body = _INTRO.sub("", sentence)
        offset = len(sentence) - len(body)
        prev = context.last
        # The subject carries over, the partners do not: "phối hợp với …" qualified the sentence
        # that named them, and each later duty names its own partners if it has any.
        partners = _extra_partners(sentence, offset, len(sentence), mentions, gaz, context)
        tasks.append(_make_task(context, sentence, body, prev.lead, list(prev.assignees), partners,
                                sentence, unknown))
        if _ONLY_DEADLINE.match(body) and prev.deadline is None and tasks[-1].deadline:
            # "Hoàn thành trước ngày 22/9/2021.": the deadline of the duty just stated, too.
            prev.deadline, prev.deadline_date = tasks[-1].deadline, tasks[-1].deadline_date
    elif _DEADLINE_SENTENCE.match(sentence) and context.item_tasks and context.item_tasks[-1].deadline is None:
        found = find_deadline(sentence, context.ref_date)
        if found:
            context.item_tasks[-1].deadline, context.item_tasks[-1].deadline_date = found
        return []
    elif _DEADLINE_SENTENCE.match(sentence) and not context.item_tasks and not mentions:
        owner = _plan_owner(context)
        if owner and find_deadline(sentence, context.ref_date):
            tasks.append(_make_task(context, sentence, sentence, owner, [], [], sentence, unknown))

    context.last = tasks[-1] if tasks else None
    context.item_tasks.extend(tasks)
    return tasks


def _opener_tasks(sentence: str, clauses: list[tuple[int, int]], openers: list[tuple[int, int, _Opener]],
                  mentions: list[AgencyMatch], unknown: list[str], ctx: TaskContext) -> list[Task]:
    """One task per opener, plus one per later ";" clause with a dated deadline of its own (same
    actors; partners only as that clause names them). A sentence read as several tasks gives each
    its own part as quote, the way a reader cuts it."""
    gaz = ctx.gaz
    tasks: list[Task] = []
    quotes: list[str] = []
    for n, (index, _, opener) in enumerate(openers):
        last = openers[n + 1][0] if n + 1 < len(openers) else len(clauses)
        stop = clauses[last][0] if last < len(clauses) else len(sentence)
        actors = _names(_by_level(opener.actors, gaz), gaz, ctx)
        starts = [opener.span_start] + [clauses[k][0] for k in _own_deadline_clauses(sentence, clauses, index, last,
                                                                                      ctx.ref_date)]
        for j, start in enumerate(starts):
            end = starts[j + 1] if j + 1 < len(starts) else stop
            action_start = opener.action_start if j == 0 else start
            partners = _names(opener.partners, gaz, ctx) if j == 0 else []
            partners += [p for p in _extra_partners(sentence, action_start, end, mentions, gaz, ctx)
                         if p not in partners]
            tasks.append(_make_task(ctx, sentence, sentence[action_start:end], actors[0] if actors else None,
                                    actors[1:], partners, sentence[start:end], unknown))
            quotes.append(sentence[start:end].strip())
        named_districts = [a for a in actors if gaz.kind(a) == "district"]
        if named_districts:
            ctx.districts = named_districts
    if len(tasks) > 1:
        for task, quote in zip(tasks, quotes):
            task.quote = quote
    return tasks


def _dated(text: str, ref_date: str | None) -> bool:
    found = find_deadline(text, ref_date)
    return bool(found and found[1])


def _own_deadline_clauses(sentence: str, clauses: list[tuple[int, int]], first: int, last: int,
                          ref_date: str | None) -> list[int]:
    """Clauses first+1 … last-1 that start a task of their own: they start with an action and
    carry a dated deadline while the clauses before them already had one ("xây dựng kế hoạch
    trong quý III; sơ kết vào năm 2023"). A final "thời gian thực hiện trước …" clause starts
    with no action: it is the deadline of the whole list."""
    found: list[int] = []
    seen = _dated(sentence[slice(*clauses[first])], ref_date)
    for k in range(first + 1, last):
        text = sentence[slice(*clauses[k])]
        dated = _dated(text, ref_date)
        if dated and seen and action_length(re.findall(r"\w+", text), 0):
            found.append(k)
        seen = seen or dated
    return found


def _plan_owner(ctx: TaskContext) -> str | None:
    """Who keeps a plan's own schedule ("Thời gian kiểm tra: tháng 6") when no task names anyone:
    the body that issued the plan, unless it is the leadership (whose plans assign the work to
    others, so a timeline with nobody named assigns nothing)."""
    issuer = ctx.gaz.canonical(ctx.issuer or "")
    if ctx.doc_type != "Kế hoạch" or issuer is None or ctx.gaz.kind(issuer) in _NOT_ACTORS:
        return None
    return ctx.gaz.as_of(issuer, ctx.ref_date) if ctx.ref_date else issuer


_BULLET_MARK = re.compile(r"^\s*(?:[-–+•*]|\(?(?:\d{1,2}|[a-zđ])[.)])\s*")


def agency_heading(text: str, gaz: Gazetteer) -> list[AgencyMatch]:
    """The agencies of a line that is nothing but their names ("1. Sở Y tế:", "b) UBND các huyện,
    thành phố:", an item heading "Công an tỉnh"), under which a document lists their duties."""
    body = _BULLET_MARK.sub("", nfc(text)).strip().rstrip(":").strip()
    mentions = gaz.mentions(body)
    if not mentions or mentions[0].start != 0:
        return []
    members, end = _parse_list(body, mentions, 0)
    if body[end:].strip(" ,.") or not all(_is_actor(gaz, mentions[k]) for k in members):
        return []
    return [mentions[k] for k in members]


def _continues(sentence: str) -> bool:
    """Does a sentence that names no actor go on with the previous task's duties?"""
    body = _INTRO.sub("", sentence)
    if re.match(r"(?i)^Đối với\b", body):
        return bool(re.search(r"(?i)\b(?:cần|phải)\b", body))
    words = re.findall(r"\w+", body)
    return bool(action_length(words, 0))


def _extra_partners(sentence: str, start: int, stop: int, mentions: list[AgencyMatch], gaz: Gazetteer,
                    ctx: TaskContext) -> list[str]:
    """Partners named by "phối hợp (chặt chẽ) (với) …" inside the action text."""
    found: list[AgencyMatch] = []
    for m in re.finditer(r"(?:phối hợp(?:\s+chặt chẽ)?(?:\s+với)?|với sự phối hợp của)\s+",
                         sentence[start:stop], re.IGNORECASE):
        at = start + m.end()
        plural = re.match(r"các\s+", sentence[at:stop], re.IGNORECASE)
        # "phối hợp với các Trung tâm Y tế khu vực": the plural belongs to an unknown body's name.
        k = next((k for k, x in enumerate(mentions) if x.start == at or (
            plural and x.start == at + plural.end() and not x.known)), None)
        if k is not None:
            members, _ = _parse_list(sentence, mentions, k)
            for x in members:
                if mentions[x].start < stop:
                    found.append(_pluralised(mentions[x]) if x == k and plural and not mentions[x].known
                                 else mentions[x])
        else:
            generic = _generic_partner(sentence, at, stop)
            if generic:
                found.append(generic)
    return _names(found, gaz, ctx)


def _pluralised(m: AgencyMatch) -> AgencyMatch:
    return AgencyMatch(m.start, m.end, f"Các {m.text}", m.canonical)


_PARTNER_STOPS = set(vocabulary().partner_stops)


def _generic_partner(sentence: str, at: int, stop: int) -> AgencyMatch | None:
    """"phối hợp với các cơ sở giáo dục bảo đảm …", "… với lực lượng chức năng phía Trung Quốc duy trì …":
    a collective the grammar of names does not cover, up to the action that follows it."""
    words = list(re.finditer(r"[\w&]+|[^\w\s]", sentence[at:stop]))
    texts = [w.group() for w in words]
    if len(texts) < 2 or texts[0].lower() not in ("các", "lực") or (texts[0].lower() == "lực" and
                                                                     texts[1].lower() != "lượng"):
        return None
    end = None
    for k in range(1, min(len(texts), 10)):
        if not texts[k][0].isalnum() or texts[k].lower() in _PARTNER_STOPS or action_length(texts, k):
            end = k
            break
    if end is None or end < 2 or not action_length(texts, end) and texts[end] not in (",", ";", "."):
        return None
    phrase = sentence[at:at + words[end - 1].end()]
    return AgencyMatch(at, at + len(phrase), phrase[:1].upper() + phrase[1:], None)


# --------------------------------------------------------------------------- documents


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _passage_for(sentence: str, candidates: list[Passage]) -> str:
    """The id of the passage holding the sentence (its opening words for split sentences)."""
    probe = _normalise(sentence)[:80]
    for passage in candidates:
        if probe in _normalise(passage.text):
            return passage.id
    return ""


def extract_tasks(doc: SourceDocument, passages: list[Passage] | None = None, *,
                  gazetteer: Gazetteer | None = None) -> list[Task]:
    """Every task of every item of ``doc``; ``passages`` (the document's chunks) fill passage_id."""
    gaz = gazetteer or Gazetteer.load()
    stem = Path(doc.source).stem
    tasks: list[Task] = []
    for number, item in enumerate(doc.items, start=1):
        context = TaskContext.for_item(doc, item, gaz)
        context.heading_actors = agency_heading(item.heading, gaz)
        prefix = f"{stem}:{number:02d}:"
        candidates = [p for p in passages or [] if p.id.startswith(prefix)] or \
                     [p for p in passages or [] if p.heading == item.heading]
        for paragraph in item.paragraphs:
            context.new_paragraph()
            heading = agency_heading(paragraph, gaz) if paragraph.rstrip().endswith(":") else []
            if heading:
                context.heading_actors = heading
                continue
            for sentence in split_sentences(paragraph):
                found = extract_from_sentence(sentence, context)
                for task in found:
                    task.passage_id = _passage_for(sentence, candidates)
                tasks.extend(found)
    return tasks
