"""Judging rules, summary figures and the baseline diff of a gold-set run."""
from __future__ import annotations

import json
import unicodedata

import pytest

from retrieval.errors import InputError
from retrieval.goldset.judge import contains, judge
from retrieval.goldset.metrics import compare, load_result, percentile, summarize
from retrieval.goldset.model import (ABSTAINED_WRONGLY, MISSING_FACT, SHOULD_HAVE_ABSTAINED, WRONG_CITATION,
                                     GoldQuestion, Reply, UnitResult)


def reply(text="", docs=(), abstained=False):
    return Reply(text=text, citations=[{"doc_number": d} for d in docs], abstained=abstained)


RESPONSIBLE = GoldQuestion("Ai chủ trì?", expected_docs=("704/UBND-KGVX",), must_contain=("Sở Y tế",),
                           source_quote=("Sở Y tế chủ trì",))


def test_pass_needs_the_document_in_the_top_three_and_every_string():
    answer = reply("UBND tỉnh yêu cầu: SỞ Y TẾ chủ trì.", ["143/KH-UBND", "1/A-B", "704/UBND-KGVX"])
    verdict = judge(RESPONSIBLE, answer)
    assert verdict.passed and verdict.hit_at_3 and not verdict.hit_at_1


def test_document_numbers_compare_after_normalising_spaces_case_and_diacritics():
    gold = GoldQuestion("q", expected_docs=("924/QĐ-UBND",), source_quote=("x",))
    assert judge(gold, reply("", ["924 /qđ-ubnd"])).hit_at_1
    assert judge(gold, reply("", ["924/qd-ubnd"])).hit_at_1


def test_fourth_citation_is_a_wrong_citation():
    verdict = judge(RESPONSIBLE, reply("Sở Y tế chủ trì", ["1/A-B", "2/A-B", "3/A-B", "704/UBND-KGVX"]))
    assert not verdict.passed and verdict.reasons == [WRONG_CITATION] and verdict.hit_at_3 is False


def test_missing_fact_lists_the_missing_string():
    verdict = judge(RESPONSIBLE, reply("Sở Nội vụ chủ trì", ["704/UBND-KGVX"]))
    assert verdict.reasons == [MISSING_FACT] and verdict.missing == ["Sở Y tế"] and verdict.found == 0


def test_abstaining_wrongly_reports_every_reason_that_applies():
    verdict = judge(RESPONSIBLE, reply("Xin lỗi, tôi chưa tìm thấy …", [], abstained=True))
    assert verdict.reasons == [ABSTAINED_WRONGLY, WRONG_CITATION, MISSING_FACT]


def test_abstain_true_passes_only_when_the_assistant_abstains():
    gold = GoldQuestion("Giá xăng hôm nay?", abstain=True)
    assert judge(gold, reply("Xin lỗi …", abstained=True)).passed
    verdict = judge(gold, reply("Giá xăng là …", ["1/A-B"]))
    assert not verdict.passed and verdict.reasons == [SHOULD_HAVE_ABSTAINED]


@pytest.mark.parametrize("answer,needle,found", [
    ("Sở Y tế chủ trì", "sở y tế", True),                       # case-insensitive
    (unicodedata.normalize("NFD", "Sở Y tế chủ trì"), "Sở Y tế", True),   # NFD answer, NFC needle
    ("Sở  Y\ntế", "Sở Y tế", True),                             # whitespace collapsed
    ("So Y te chu tri", "Sở Y tế", False),                      # a needle with diacritics needs them
    ("Số Y tế", "Sở Y tế", False),
    ("Sở Y tế chủ trì", "so y te", True),                       # a needle without diacritics also matches folded
    ("trước ngày 10/6/2024.", "10/6/2024", True),
    ("trước ngày 10/6/2024.", "10/6/2025", False),
])
def test_contains(answer, needle, found):
    assert contains(answer, needle) is found


def unit(unit_id, kind="fact", passed=True, skipped=False, expect_abstain=False, abstained=False, hit1=None,
         hit3=None, must=(), found=0, latency=100.0, turn=None, item_id=None):
    return UnitResult(unit_id=unit_id, item_id=item_id or unit_id.split("#")[0], turn=turn, kind=kind,
                      question="q", expected_docs=[], must_contain=list(must), expect_abstain=expect_abstain,
                      abstained=abstained, passed=passed, skipped=skipped, hit_at_1=hit1, hit_at_3=hit3,
                      found=found, latency_ms=None if skipped else latency,
                      reasons=[] if passed or skipped else [MISSING_FACT])


def test_summary_figures():
    units = [
        unit("a", hit1=True, hit3=True, must=["x", "y"], found=2, latency=100),
        unit("b", passed=False, hit1=False, hit3=True, must=["x"], found=0, latency=300),
        unit("c", kind="unanswerable", expect_abstain=True, abstained=True, latency=50),
        unit("d", kind="unanswerable", expect_abstain=True, abstained=False, passed=False, latency=60),
        unit("e", abstained=True, passed=False, hit1=False, hit3=False, latency=70),
        unit("m#1", kind="multiturn", skipped=True, turn=1),
    ]
    s = summarize(units)
    assert (s["judged"], s["skipped"], s["passed"], s["pass_rate"]) == (5, 1, 2, 0.4)
    assert s["per_kind"]["fact"] == {"judged": 3, "passed": 1, "skipped": 0, "pass_rate": 0.3333}
    assert s["per_kind"]["multiturn"]["pass_rate"] is None and s["per_kind"]["multiturn"]["skipped"] == 1
    assert (s["citation_hit_at_1"], s["citation_hit_at_3"]) == (0.3333, 0.6667)
    assert s["must_contain_recall"] == 0.6667
    assert (s["abstention_precision"], s["abstention_recall"]) == (0.5, 0.5)
    assert (s["latency_ms_p50"], s["latency_ms_p95"]) == (70, 300)


def test_conversation_passes_only_when_every_turn_passes():
    s = summarize([unit("m#1", turn=1), unit("m#2", turn=2, passed=False), unit("n#1", turn=1)])
    assert (s["conversations"], s["conversations_passed"]) == (2, 1)


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_baseline_lists_regressions_and_improvements(tmp_path):
    before = {"units": [{"unit_id": "a", "passed": True}, {"unit_id": "b", "passed": False},
                        {"unit_id": "c", "passed": True}, {"unit_id": "gone", "passed": True},
                        {"unit_id": "m#1", "passed": True, "skipped": False}]}
    path = tmp_path / "prev.json"
    path.write_text(json.dumps(before), encoding="utf-8")
    now = [unit("a", passed=False), unit("b"), unit("c"), unit("new"), unit("m#1", skipped=True, turn=1)]
    assert compare(load_result(path), now) == {"regressed": ["a"], "improved": ["b"], "new": ["new"],
                                               "gone": ["gone"]}


def test_baseline_that_is_not_a_result_is_an_input_error(tmp_path):
    path = tmp_path / "prev.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON result"):
        load_result(path)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON result"):
        load_result(path)


def test_a_date_matches_with_or_without_leading_zeros():
    assert contains("Công văn số 2473/VP-KGVX ban hành ngày 6/6/2022.", "06/6/2022")
    assert contains("ban hành ngày 06/06/2022", "6/6/2022")
    assert not contains("ban hành ngày 16/6/2022", "6/6/2022")
