"""Hybrid search over the sample bulletins: the right directive first, with or without diacritics."""
from __future__ import annotations

import pytest

from retrieval.search.searcher import SearchFilters
from retrieval.text import fold

# (query, the directive that answers it) — written by reading the bulletins.
CASES = [
    ("ai chủ trì phòng chống sốt xuất huyết", "704/UBND-KGVX"),
    ("kế hoạch phát triển dịch vụ logistics", "143/KH-UBND"),
    ("xã đạt chuẩn nông thôn mới đến năm 2025", "146/KH-UBND"),
    ("tiêm vắc xin liều nhắc lại cho trẻ em 12 đến 17 tuổi", "2792/VP-KGVX"),
    ("ngăn chặn châu chấu gây hại hoa màu ở Bình Gia", "2648/VP-KT"),
    ("thời gian kiểm tra cải cách hành chính năm 2024", "80/KH-BCĐCCHC"),
    ("hoạt động đấu giá tài sản", "703/UBND-NC"),
    ("xe điện chở khách du lịch tại đền Chầu Lục", "962/QĐ-UBND"),
    ("tháng hành động phòng chống ma túy", "124/KH-UBND"),
    ("rà soát quy hoạch tỉnh thời kỳ 2021-2030", "723/UBND-KT"),
]


def top_docs(hits, n=3):
    return [h.passage.doc_number for h in hits[:n]]


@pytest.mark.parametrize("query,doc", CASES)
def test_accented_query_finds_its_directive(retrieval_service, query, doc):
    assert doc in top_docs(retrieval_service.search(query, k=5))


@pytest.mark.parametrize("query,doc", CASES)
def test_query_without_diacritics_finds_its_directive(retrieval_service, query, doc):
    assert doc in top_docs(retrieval_service.search(fold(query), k=5))


def test_hits_carry_their_metadata_and_method_ranks(retrieval_service):
    hit = retrieval_service.search("Sở Y tế chủ trì đánh giá tình hình dịch sốt xuất huyết", k=1)[0]
    p = hit.passage
    assert (p.doc_number, p.doc_type, p.issued_date, p.issuer) == ("704/UBND-KGVX", "Công văn", "2022-06-23",
                                                                   "UBND tỉnh")
    assert p.source.endswith("2022-06-20.txt")
    assert set(hit.ranks) == {"dense", "bm25", "bm25_fold"}


def test_filter_by_document_number_keeps_only_that_document(retrieval_service):
    hits = retrieval_service.search("tuyên truyền", k=10, filters=SearchFilters(doc_number="122 /kh-ubnd"))
    assert hits and all(h.passage.doc_number == "122/KH-UBND" or "122/KH-UBND" in h.passage.mentions
                        for h in hits)


def test_filter_by_date_range(retrieval_service):
    hits = retrieval_service.search("tuyên truyền", k=20,
                                    filters=SearchFilters(date_from="2022-01-01", date_to="2022-12-31"))
    assert hits and all((h.passage.issued_date or h.passage.bulletin_date).startswith("2022") for h in hits)


def test_batch_search_matches_single_search(retrieval_service):
    queries = [q for q, _ in CASES[:3]]
    batch = retrieval_service.searcher.search_many(queries, k=5)
    for query, hits in zip(queries, batch):
        assert [h.passage.id for h in hits] == [h.passage.id for h in retrieval_service.search(query, k=5)]


@pytest.mark.parametrize("query", ["", "   ", "!!!", "?"])
def test_query_without_words_matches_nothing(retrieval_service, query):
    assert retrieval_service.search(query, k=5) == []


@pytest.mark.parametrize("mention", ["924/QĐ-UBND", "924 /qđ-ubnd", "924/QD-UBND", "quyết định 924", "924"])
def test_document_filter_accepts_any_spelling_of_the_number(retrieval_service, mention):
    hits = retrieval_service.search("dự án", k=5, filters=SearchFilters(doc_number=mention))
    assert hits and all(h.passage.doc_number == "924/QĐ-UBND" or "924/QĐ-UBND" in h.passage.mentions
                        for h in hits)


def test_document_filter_with_unknown_number_is_an_error(retrieval_service):
    from retrieval.errors import InputError

    with pytest.raises(InputError, match="999/XX"):
        retrieval_service.search("dự án", filters=SearchFilters(doc_number="999/XX"))


def test_a_search_can_be_kept_to_one_page(retrieval_service, corpus_files):
    """Pages that name no document of their own are followed up by their file."""
    page = corpus_files[0].name
    hits = retrieval_service.search("phòng, chống dịch bệnh", k=5, filters=SearchFilters(source=page))
    assert hits and {h.passage.source for h in hits} == {page}
    answer = retrieval_service.ask("có chỉ đạo gì về phòng, chống dịch bệnh", source=page)
    assert not answer.abstained and {c.source for c in answer.citations} == {page}


def test_warm_up_loads_the_word_segmenter(tmp_path):
    """The first question must not pay for loading pyvi (~1.5 s)."""
    from fakes import HashingEmbedder
    from retrieval.index.lexical import _segmenter
    from retrieval.pipeline import ingest
    from retrieval.service import Retrieval

    source = tmp_path / "a.txt"
    source.write_text("Sở Y tế chủ trì phòng chống sốt xuất huyết.\n", encoding="utf-8")
    ingest([source], tmp_path / "index", HashingEmbedder())
    _segmenter.cache_clear()
    Retrieval(tmp_path / "index", embedder=HashingEmbedder()).warm_up()
    assert _segmenter.cache_info().currsize == 1


def test_warm_up_builds_each_audience_s_documents_and_tasks(hashing_index):
    """A server warms every audience's view, so no audience's first question pays for its document
    catalog and task registry (seconds at a province's 10⁵ passages)."""
    from fakes import HashingEmbedder
    from retrieval.schema import AUDIENCES
    from retrieval.service import Retrieval

    service = Retrieval(hashing_index, embedder=HashingEmbedder())
    service.warm_up(AUDIENCES)
    for audience in AUDIENCES:
        built = service.view(audience).__dict__
        assert {"searcher", "answerer", "documents", "tasks"} <= set(built), audience
