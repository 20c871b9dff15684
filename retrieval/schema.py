"""Typed records that cross stage borders (ingest → index → search → answer)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
class Passage:
    """A retrievable chunk, carrying the metadata of the item and document it came from."""

    id: str
    text: str
    source: str = ""
    title: str = ""            # bulletin / document title
    heading: str = ""          # item heading
    doc_number: str | None = None
    doc_type: str | None = None
    issued_date: str | None = None
    issuer: str | None = None
    signer: str | None = None
    bulletin_date: str | None = None   # week start of the bulletin (ISO)
    mentions: list[str] = field(default_factory=list)   # other document numbers named in the item
    extra: dict[str, Any] = field(default_factory=dict)  # JSONL fields other than id/text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
class Citation:
    doc_number: str | None
    doc_type: str | None
    issued_date: str | None
    issuer: str | None
    title: str
    bulletin: str
    source: str
    quote: str
    score: float
    passage_id: str = ""


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DocumentInfo:
    """What the index knows of one document: its own item in a bulletin, or only where it is named."""

    number: str
    doc_type: str | None = None
    issued_date: str | None = None
    issuer: str | None = None
    signer: str | None = None
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DigestItem:
    heading: str
    doc_number: str | None = None
    doc_type: str | None = None
    issued_date: str | None = None
    issuer: str | None = None
    passage_id: str = ""


@dataclass
class Digest:
    """One weekly bulletin as a list of its items ("Tuần này UBND tỉnh có chỉ đạo gì mới?")."""

    title: str
    week_start: str | None
    source: str
    items: list[DigestItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Task:
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
    doc_number: str | None = None
    doc_type: str | None = None
    issued_date: str | None = None
    issuer: str | None = None
    signer: str | None = None
    bulletin: str = ""                       # bulletin / document title
    source: str = ""                         # input file name
    passage_id: str = ""
    successors: dict[str, str] = field(default_factory=dict)
    unknown_agencies: list[str] = field(default_factory=list)  # names that look like agencies but are not in the gazetteer

    @property
    def successor(self) -> str | None:
        """The successor of the lead agency, where the gazetteer maps one."""
        return self.successors.get(self.lead) if self.lead else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["successor"] = self.successor
        return data
