"""Typed records that cross stage borders (ingest → index → search → answer)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


# Who may read an input: everyone, or officials only (`trolyao ingest --access`, access.yaml).
PUBLIC, INTERNAL = "public", "internal"
ACCESS_LEVELS = (PUBLIC, INTERNAL)
# Who is asking: a citizen sees public inputs only; an official sees both.
AUDIENCES = ("public", "official")


def readable_by(access: str, audience: str) -> bool:
    """Whether ``audience`` may read what an input of ``access`` says."""
    return audience == "official" or access == PUBLIC


@dataclass(frozen=True)
class DocumentRef:
    """A document named in the text: "(Kế hoạch số 143/KH-UBND, ngày 20/6/2022)".

    ``number`` is normalised ("924 /QĐ-UBND" → "924/QĐ-UBND"); ``raw`` keeps what was written.
    ``issued_date`` is ISO (YYYY-MM-DD) or None when the text gives no valid date.
    ``issuer`` is the body that issued it ("UBND tỉnh", "Văn phòng UBND tỉnh", "Thủ tướng Chính phủ");
    ``signer`` the person who signed or directed it ("Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh").
    """

    number: str
    doc_type: str | None = None
    issued_date: str | None = None
    issuer: str | None = None
    signer: str | None = None
    raw: str = ""

    def flat(self) -> dict[str, str | None]:
        """The fields as records and JSON have always spelled them (``doc_number``, ``doc_type``, …)."""
        return {"doc_number": self.number or None, "doc_type": self.doc_type, "issued_date": self.issued_date,
                "issuer": self.issuer, "signer": self.signer}

    @classmethod
    def from_flat(cls, data: dict[str, Any]) -> DocumentRef | None:
        """Takes (pops) the flat document fields of ``data``; None when none is set."""
        values = {key: data.pop(key, None) for key in DOCUMENT_FIELDS}
        if not any(values.values()):
            return None
        return cls(number=values["doc_number"] or "", doc_type=values["doc_type"],
                   issued_date=values["issued_date"], issuer=values["issuer"], signer=values["signer"])


DOCUMENT_FIELDS = ("doc_number", "doc_type", "issued_date", "issuer", "signer")


class CitesDocument:
    """Read access to the document a record carries (``document``), under the names its JSON uses."""

    document: DocumentRef | None

    @property
    def doc_number(self) -> str | None:
        return self.document.number or None if self.document else None

    @property
    def doc_type(self) -> str | None:
        return self.document.doc_type if self.document else None

    @property
    def issued_date(self) -> str | None:
        return self.document.issued_date if self.document else None

    @property
    def issuer(self) -> str | None:
        return self.document.issuer if self.document else None

    @property
    def signer(self) -> str | None:
        return self.document.signer if self.document else None


def _flat_dict(record: Any, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """``asdict`` with the document spread into the flat fields records have always had."""
    data: dict[str, Any] = {}
    for key, value in asdict(record).items():
        if key == "document":
            flat = record.document.flat() if record.document else dict.fromkeys(DOCUMENT_FIELDS)
            data.update({k: v for k, v in flat.items() if k not in omit})
        else:
            data[key] = value
    return data


def _from_flat(cls, data: dict[str, Any]):
    data = dict(data)
    document = DocumentRef.from_flat(data)
    known = {f.name for f in fields(cls)}
    return cls(document=document, **{k: v for k, v in data.items() if k in known})


@dataclass
class Item:
    """One item of a bulletin (or one section of another document): a heading and its paragraphs.

    ``documents[0]``, when present, is the item's own directive (the one it reports); the rest
    are documents it mentions (laws, decisions it implements, earlier plans).
    """

    heading: str
    paragraphs: list[str]
    documents: list[DocumentRef] = field(default_factory=list)

    @property
    def primary(self) -> DocumentRef | None:
        return self.documents[0] if self.documents else None


@dataclass
class SourceDocument:
    """What a loader/parser makes of one input file.

    ``kind`` is "bulletin" for the weekly "Chỉ đạo, điều hành nổi bật" pages, otherwise the
    input format ("html", "docx", "pdf", "text", "markdown"). ``week_start``/``week_end``
    are ISO dates for bulletins. JSONL inputs do not become a SourceDocument: they are
    passages already (see ``Passage``).
    """

    source: str
    kind: str
    title: str
    items: list[Item]
    summary: str = ""
    week_start: str | None = None
    week_end: str | None = None


@dataclass
class Passage(CitesDocument):
    """A retrievable chunk, carrying the item's document it came from."""

    id: str
    text: str
    source: str = ""
    title: str = ""            # bulletin / document title
    heading: str = ""          # item heading
    document: DocumentRef | None = None
    bulletin_date: str | None = None   # week start of the bulletin (ISO)
    mentions: list[str] = field(default_factory=list)   # other document numbers named in the item
    extra: dict[str, Any] = field(default_factory=dict)  # JSONL fields other than id/text
    access: str = PUBLIC       # its input's access level (PUBLIC or INTERNAL)

    def to_dict(self) -> dict[str, Any]:
        return _flat_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return _from_flat(cls, data)


@dataclass
class Hit:
    """A search result: a passage and its fused score, with the per-method ranks that made it."""

    passage: Passage
    score: float
    ranks: dict[str, int] = field(default_factory=dict)     # method → 1-based rank
    signals: dict[str, float] = field(default_factory=dict)  # method → raw score (cosine, BM25)
    row: int = -1                                             # row in the index

    def to_dict(self) -> dict[str, Any]:
        data = self.passage.to_dict()
        data["score"] = round(self.score, 6)
        data["ranks"] = self.ranks
        data["signals"] = {k: round(v, 6) for k, v in self.signals.items()}
        return data


@dataclass
class Citation(CitesDocument):
    """Where an answer comes from: the document, the item (``title``) of the bulletin or document
    it was read in, the quoted sentence. Its JSON (``trolyao ask --json``, the chat payload) has
    no signer: a citation names a document, the answer says who signed it."""

    document: DocumentRef | None
    title: str
    bulletin: str
    source: str
    quote: str
    score: float
    passage_id: str = ""
    access: str = PUBLIC       # INTERNAL: shown to officials only, marked "Nội bộ"

    @classmethod
    def from_passage(cls, passage: Passage, quote: str | None = None, score: float = 1.0) -> Citation:
        return cls(document=passage.document, title=passage.heading or passage.title, bulletin=passage.title,
                   source=passage.source, quote=passage.text if quote is None else quote, score=score,
                   passage_id=passage.id, access=passage.access)

    @classmethod
    def from_task(cls, task: Task) -> Citation:
        return cls(document=task.document, title=task.bulletin, bulletin=task.bulletin, source=task.source,
                   quote=task.quote, score=1.0, passage_id=task.passage_id, access=task.access)

    def to_dict(self) -> dict[str, Any]:
        return _flat_dict(self, omit=("signer",))


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer, "abstained": self.abstained,
                "citations": [c.to_dict() for c in self.citations]}


@dataclass
class DocumentInfo(CitesDocument):
    """What the index knows of one document: its own item in a bulletin, or only where it is named."""

    document: DocumentRef
    directed_by: str | None = None   # "Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh" (… chỉ đạo (Công văn …))
    subject: str = ""          # the item heading: what the document is about
    summary: str = ""          # the item's first sentence
    details: list[str] = field(default_factory=list)   # the sentences after it (what it says)
    bulletin: str = ""         # the bulletin (or document) title it was read from
    bulletin_date: str | None = None
    source: str = ""
    passage_id: str = ""
    mentioned_in: list[str] = field(default_factory=list)   # item headings that only name it
    named_by: str | None = None    # for a document only named: the document of the first item naming it

    @property
    def number(self) -> str:
        return self.document.number

    def to_dict(self) -> dict[str, Any]:
        return {("number" if key == "doc_number" else key): value for key, value in _flat_dict(self).items()}


@dataclass
class DigestItem(CitesDocument):
    heading: str
    document: DocumentRef | None = None
    passage_id: str = ""


@dataclass
class Digest:
    """One weekly bulletin as a list of its items ("Tuần này UBND tỉnh có chỉ đạo gì mới?")."""

    title: str
    week_start: str | None
    source: str
    items: list[DigestItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "week_start": self.week_start, "source": self.source,
                "items": [_flat_dict(i, omit=("signer",)) for i in self.items]}


@dataclass
class Task(CitesDocument):
    """A task a directive assigns: who leads, who cooperates, who else acts, by when, under which document.

    Agency names are canonical gazetteer names of the agency *as it was* when the document was
    issued ("Sở Thông tin và Truyền thông"); ``successors`` maps any of them that no longer exists
    under that name to the body that took over its work ("Sở Khoa học và Công nghệ"), so an
    official asking today is pointed to the right body.
    """

    action: str                              # what must be done, as written (trimmed)
    lead: str | None                         # the agency that leads (chủ trì / is required to act)
    partners: list[str] = field(default_factory=list)   # phối hợp với … (incl. collective names)
    assignees: list[str] = field(default_factory=list)  # others given their own part of the work
    deadline: str | None = None              # as written: "trước ngày 10/6/2024", "hằng tháng"
    deadline_date: str | None = None         # ISO when the deadline is (or resolves to) a date
    quote: str = ""                          # the exact sentence the task was read from
    document: DocumentRef | None = None      # the directive that assigns it
    bulletin: str = ""                       # bulletin / document title
    source: str = ""                         # input file name
    passage_id: str = ""
    successors: dict[str, str] = field(default_factory=dict)
    unknown_agencies: list[str] = field(default_factory=list)  # names that look like agencies but are not in the gazetteer
    access: str = PUBLIC                     # its input's access level

    @property
    def successor(self) -> str | None:
        """The successor of the lead agency, where the gazetteer maps one."""
        return self.successors.get(self.lead) if self.lead else None

    def to_record(self) -> dict[str, Any]:
        """The flat form the index stores (and reads back with ``from_record``)."""
        return _flat_dict(self)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Task:
        return _from_flat(cls, data)

    def to_dict(self) -> dict[str, Any]:
        data = self.to_record()
        data["successor"] = self.successor
        return data
