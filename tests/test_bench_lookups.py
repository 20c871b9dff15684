"""The per-question lookups bench (``make bench``, ``--only-lookups``) copies an index into distinct
documents and bulletins and times lookups that find what they look for. No timing asserted here."""
from __future__ import annotations

from retrieval.bench_lookups import copied, lookups, shifted
from retrieval.index.hybrid import HybridIndex


def test_a_copy_is_its_own_document():
    assert shifted("143/KH-UBND", 0) == "143/KH-UBND"
    assert shifted("143/KH-UBND", 2) == "2143/KH-UBND"
    assert shifted("69-KL/TW", 1) == "1069-KL/TW"


def test_copies_make_distinct_documents_and_bulletins(hashing_index):
    index = HybridIndex.load(hashing_index)
    base, numbers = list(index.passages), list(index.document_numbers)
    assert len(copied(base, numbers, 2 * len(base) + 5)[0]) == 2 * len(base) + 5   # a last copy cut short
    many, known = copied(base, numbers, 3 * len(base))
    assert len({p.id for p in many}) == len(many)
    assert len(set(known)) == 3 * len(set(numbers))   # each copy names its own documents
    owned = {p.doc_number for p in base if p.doc_number}
    assert len({p.doc_number for p in many if p.doc_number}) == 3 * len(owned)
    assert len({p.source for p in many}) == 3 * len({p.source for p in base})


def test_every_timed_lookup_finds_what_it_looks_for(hashing_index):
    result = lookups(hashing_index, passages=2_000, tasks=500, repeats=1)
    assert result["passages"] == 2_000 and result["tasks"] == 500
    found = result["found"]
    assert found["resolve_short"] >= 1 and found["resolve_number"] == 1
    assert found["document_own"] == found["document_named_only"] == found["naming_citation"] == 1
    assert found["digests"] > 1 and found["tasks_of"] > 0 and found["due_soon"] >= 0
    assert set(result["ms"]) == set(result["first_ms"]) == set(found)
