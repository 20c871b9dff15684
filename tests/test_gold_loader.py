"""The gold-set loader is strict: every problem is an InputError naming the item and its line."""
from __future__ import annotations

import pytest

from retrieval.errors import InputError
from retrieval.goldset.load import load_gold, loads_gold

GOOD = """\
- id: g001
  question: "Ai chủ trì đánh giá tình hình dịch sốt xuất huyết?"
  kind: responsible
  expected_docs: ["704 /ubnd-kgvx"]
  must_contain: ["Sở Y tế"]
  abstain: false
  source_quote: "Sở Y tế chủ trì, phối hợp …"
- id: g002
  question: "Giá cà phê hôm nay?"
  abstain: true
- id: g050
  turns:
    - question: "Kế hoạch 146/KH-UBND về việc gì?"
      expected_docs: ["146/KH-UBND"]
      source_quote: "Kế hoạch số 146/KH-UBND"
    - question: "Ai chủ trì?"
      must_contain: ["Sở Nội vụ", 115]
      source_quote: ["Sở Nội vụ", "chủ trì"]
"""


def test_good_file_loads_with_normalised_numbers_and_defaults():
    items = loads_gold(GOOD)
    assert [i.id for i in items] == ["g001", "g002", "g050"]
    first, second, conversation = items
    assert first.turns[0].expected_docs == ("704/UBND-KGVX",)
    assert first.turns[0].line == 1 and second.line == 8
    assert second.turns[0].abstain and second.kind == "general"
    assert conversation.multi_turn and conversation.kind == "multiturn"
    assert [t.line for t in conversation.turns] == [13, 16]
    assert conversation.turns[1].must_contain == ("Sở Nội vụ", "115")
    assert conversation.unit_id(1) == "g050#2" and first.unit_id(0) == "g001"


def error_of(text: str) -> str:
    with pytest.raises(InputError) as caught:
        loads_gold(text, "gold.yaml")
    return str(caught.value)


def test_unknown_key_names_item_and_line():
    message = error_of(GOOD.replace("  abstain: false\n", "  abstian: false\n"))
    assert message.startswith("gold.yaml:6: item g001:") and "unknown key 'abstian'" in message


def test_unknown_key_in_a_turn_names_its_line():
    message = error_of(GOOD.replace('      must_contain: ["Sở Nội vụ", 115]', '      must_contian: ["x"]'))
    assert message.startswith("gold.yaml:17: item g050:") and "must_contian" in message


@pytest.mark.parametrize("old,new,line,fragment", [
    ('  expected_docs: ["704 /ubnd-kgvx"]', '  expected_docs: "704/UBND-KGVX"', 4, "must be a list"),
    ('  expected_docs: ["704 /ubnd-kgvx"]', '  expected_docs: ["Sở Y tế"]', 4, "not a document number"),
    ("  abstain: false\n", "  abstain: maybe\n", 6, "true or false"),
    ('  question: "Giá cà phê hôm nay?"\n', "  question:\n", 9, "'question' must be a text"),
    ("  abstain: true\n", '  abstain: true\n  must_contain: ["x"]\n', 8, "cannot go with"),
    ('  source_quote: "Sở Y tế chủ trì, phối hợp …"\n', "", 1, "no source_quote"),
    ('  expected_docs: ["704 /ubnd-kgvx"]\n  must_contain: ["Sở Y tế"]\n', "", 1, "neither expected_docs"),
    ("- id: g002\n", "- id: g001\n", 8, "duplicate id (first used on line 1)"),
    ("  turns:\n", "  question: x\n  turns:\n", 11, "not both"),
    ("  kind: responsible\n", "  kind: responsible\n  kind: fact\n", 4, "given twice"),
])
def test_malformed_items(old, new, line, fragment):
    assert old in GOOD
    message = error_of(GOOD.replace(old, new, 1))
    assert message.startswith(f"gold.yaml:{line}:"), message
    assert fragment in message


def test_errors_name_the_item_id():
    assert "item g002:" in error_of(GOOD.replace("  abstain: true\n", "  abstain: 1\n"))


def test_item_without_id_or_not_a_mapping():
    assert error_of('- question: "x"\n  abstain: true\n').startswith("gold.yaml:1: item 1 has no 'id'")
    assert "item 2 must be a mapping" in error_of('- id: a\n  question: x\n  abstain: true\n- just text\n')


def test_not_a_list_empty_and_bad_yaml():
    assert "expected a list" in error_of("id: g001\n")
    assert "empty" in error_of("")
    assert "empty" in error_of("[]\n")
    assert error_of('- id: a\n  question: "unterminated\n').startswith("gold.yaml:")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_gold(tmp_path / "khong-co.yaml")
