"""The plumbing every channel shares (bot/channels/): the splitter, the per-sender lock, the rendering
of buttons and citations. Plain functions and objects: no server, no gateway."""
from __future__ import annotations

import asyncio
import re

import pytest

from bot.channels.ordering import KeyedLock
from bot.channels.rendering import (
    CHOICE_HINT,
    MAX_QUOTE_CHARS,
    SourceCard,
    chosen_payload,
    plain_text,
    source_card,
    source_cards,
)
from bot.channels.splitting import split_text
from bot.rasa_client import BotMessage

# --- splitting --------------------------------------------------------------------------------------------


def test_split_text_cuts_at_sentence_ends_within_the_limit_and_loses_nothing():
    sentences = [f"Câu số {i} nói về nhiệm vụ của Sở Nội vụ trong kế hoạch năm 2024." for i in range(120)]
    text = " ".join(sentences) + "\nNguồn: Kế hoạch số 146/KH-UBND ngày 23/6/2022 của UBND tỉnh"
    parts = split_text(text, 2000)
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert all(p.endswith(".") and p.startswith("Câu số") for p in parts[:-1])   # after a sentence, not inside
    assert max(len(p) for p in parts) > 2000 - len(sentences[-1]) - 1           # as full as a sentence allows
    assert " ".join(parts).split() == text.split()                               # nothing lost, nothing added
    assert split_text("  Ngắn thôi. ", 2000) == ["Ngắn thôi."] and split_text(" \n ", 2000) == []


def test_split_text_cuts_between_words_and_inside_a_word_only_when_it_must():
    assert [len(p) for p in split_text("x" * 4500, 2000)] == [2000, 2000, 500]
    words = split_text("từ " * 1000, 100)
    assert all(len(p) <= 100 and p == p.strip() for p in words) and " ".join(words) == ("từ " * 1000).strip()
    assert split_text("Một. Hai. Ba.", 9) == ["Một. Hai.", "Ba."]


def test_split_text_keeps_list_numbers_with_their_items():
    listing = "\n".join(f"{i}. Việc số {i} cần làm ngay." for i in range(1, 400))
    parts = split_text(listing, 500)
    assert len(parts) > 1 and all(len(p) <= 500 and re.match(r"\d+\. Việc", p) for p in parts)
    assert "\n".join(parts) == listing


@pytest.mark.parametrize("text, limit, parts", [
    # a lower-case word after a full stop does not start a sentence (the old Telegram rule cut there)
    ("A1 xong. Các sở v.v. phối hợp ngay.", 30, ["A1 xong.", "Các sở v.v. phối hợp ngay."]),
    # … nor does one with a diacritic (the old Zalo rule's À-Ỹ range took "đ" for a capital)
    ("A1 xong. Các sở v.v. đã phối hợp.", 30, ["A1 xong.", "Các sở v.v. đã phối hợp."]),
    # a sentence may end inside quotes (the old Zalo rule never cut after .”)
    ("Chủ tịch nói: “Làm ngay.” Sau đó các sở báo cáo.", 40, ["Chủ tịch nói: “Làm ngay.”", "Sau đó các sở báo cáo."]),
    # a list number is not a sentence (the old Zalo rule cut "1." from its item)
    ("Có hai việc. 1. Việc A. 2. Việc B.", 20, ["Có hai việc.", "1. Việc A.", "2. Việc B."]),
])
def test_split_text_sentence_rule(text, limit, parts):
    assert split_text(text, limit) == parts


def test_split_text_measures_what_the_channel_counts():
    doubled = split_text("ab " * 10, 8, measure=lambda s: 2 * len(s))
    assert doubled == ["ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab"]   # "ab ab" measures 10
    assert split_text("ab " * 10, 8) == ["ab ab ab", "ab ab ab", "ab ab ab", "ab"]


# --- ordering ---------------------------------------------------------------------------------------------

def test_keyed_lock_serves_one_key_in_arrival_order_and_other_keys_meanwhile():
    async def run() -> tuple[list[str], list[int]]:
        locks, events, sizes = KeyedLock(), [], []
        first_may_end = asyncio.Event()

        async def job(key: str, name: str, hold: asyncio.Event | None = None) -> None:
            async with locks.hold(key):
                events.append(f"start {name}")
                if hold is not None:
                    await hold.wait()
                events.append(f"end {name}")

        a = [asyncio.create_task(job("a", "a1", first_may_end)),
             asyncio.create_task(job("a", "a2")), asyncio.create_task(job("a", "a3"))]
        await asyncio.create_task(job("b", "b1"))     # b, coming after them, is not held up by a
        sizes.append(len(locks))                      # b's lock is gone, a's is held
        first_may_end.set()
        await asyncio.gather(*a)
        sizes.append(len(locks))
        return events, sizes

    events, sizes = asyncio.run(run())
    assert events == ["start a1", "start b1", "end b1", "end a1", "start a2", "end a2", "start a3", "end a3"]
    assert sizes == [1, 0]


def test_keyed_lock_forgets_a_key_whose_waiter_was_cancelled():
    async def run() -> list[int]:
        locks, sizes = KeyedLock(), []
        release = asyncio.Event()

        async def holder() -> None:
            async with locks.hold("a"):
                await release.wait()

        async def waiter() -> None:
            async with locks.hold("a"):
                pass

        held = asyncio.create_task(holder())
        waiting = asyncio.create_task(waiter())
        await asyncio.sleep(0)             # both tasks run up to their first wait
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        sizes.append(len(locks))
        release.set()
        await held
        sizes.append(len(locks))
        return sizes

    assert asyncio.run(run()) == [1, 0]


# --- rendering --------------------------------------------------------------------------------------------

def test_plain_text_numbers_buttons_once_across_the_reply():
    listed = BotMessage("Bạn muốn hỏi việc nào?\n1. Tổ chức sơ kết phong trào thi đua năm 2023\n2. Báo cáo kết quả",
                        buttons=[{"title": "Tổ chức sơ kết phong trào…", "payload": "/p1"},
                                 {"title": "Báo cáo kết quả", "payload": "/p2"}])
    plain = BotMessage("Chọn một:", buttons=[{"title": "Có", "payload": "/yes"}, {"payload": "/no"}])
    texts, buttons = plain_text([listed, plain, BotMessage("Hết.")])
    assert texts[0] == listed.text + "\n" + CHOICE_HINT                  # the text's own list, not twice
    assert texts[1] == "Chọn một:\n3. Có\n4. /no\n" + CHOICE_HINT       # numbered on across the reply
    assert texts[2] == "Hết."
    assert [b["payload"] for b in buttons] == ["/p1", "/p2", "/yes", "/no"]


def test_a_typed_number_chooses_a_button_and_anything_else_is_itself():
    buttons = [{"title": "Có", "payload": "/yes"}, {"title": "Không", "payload": "/no"}]
    assert [chosen_payload(text, buttons) for text in (" 2 ", "1", "0", "3", "2 việc", "hai")] == \
        ["/no", "/yes", "0", "3", "2 việc", "hai"]
    assert chosen_payload("1", []) == "1"


def test_source_cards_replace_the_sources_lines_and_skip_quotes_the_text_shows():
    shown = "Sở Y tế chủ trì phòng, chống sốt xuất huyết."
    message = BotMessage(f"Theo công văn: {shown}\nNguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022 của UBND tỉnh",
                         citations=[{"doc_number": "704/UBND-KGVX", "doc_type": "Công văn",
                                     "issued_date": "2022-06-23", "issuer": "UBND tỉnh", "quote": shown},
                                    {"title": "Bản tin tuần 22", "quote": "Một câu khác."}])
    body, cards = source_cards(message)
    assert body == f"Theo công văn: {shown}"
    assert cards == [SourceCard("Công văn 704/UBND-KGVX", "23/6/2022, UBND tỉnh"),
                     SourceCard("Bản tin tuần 22", None, "Một câu khác.")]
    assert source_cards(BotMessage("Nguồn: không có trích dẫn")) == ("Nguồn: không có trích dẫn", [])


def test_a_source_card_caps_its_quote_and_shows_an_odd_date_as_it_is():
    card = source_card({"doc_number": "1/QĐ", "issued_date": "2022-13", "quote": "từ " * 200})
    assert card.name == "Văn bản 1/QĐ" and card.details == "2022-13"
    assert card.quote.endswith(" …") and len(card.quote) <= MAX_QUOTE_CHARS + 2
    assert source_card({}).name == "Văn bản"
