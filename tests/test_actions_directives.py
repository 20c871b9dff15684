"""What was directed, answered by the actions themselves (no Rasa, no model: see action_turns.py):
answers cite their source and set the conversation's focus; declines are recorded for review; the
document or page in focus answers follow-ups; the week's bulletin answers "what's new"."""
from __future__ import annotations

ASK = ("ask_directive", "action_answer_directive")
LATEST = ("ask_latest", "action_latest_directives")


def test_a_directive_question_is_answered_with_its_source_and_becomes_the_focus(talk):
    conversation = talk()
    reply = conversation.say("UBND tỉnh chỉ đạo gì về phòng, chống sốt xuất huyết?", *ASK)
    assert reply.abstained is False and reply.cited == ["704/UBND-KGVX"]
    assert "sốt xuất huyết" in reply.text and "Nguồn: Công văn số 704/UBND-KGVX ngày 23/6/2022" in reply.text
    assert reply.citations[0]["issuer"] == "UBND tỉnh" and reply.citations[0]["quote"]
    assert conversation.slots["focus_doc"] == "704/UBND-KGVX"
    assert conversation.slots["focus_source"] == "langson-chi-dao-dieu-hanh-2022-06-20.txt"
    assert conversation.slots["focus_task"]["doc_number"] == "704/UBND-KGVX"   # the answer states a task


def test_a_question_nothing_answers_is_declined_and_kept_for_the_gold_set_review(talk, assistant):
    conversation = talk()
    reply = conversation.say("UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?", *ASK)
    assert reply.abstained is True and not reply.citations and "chưa tìm thấy" in reply.text
    assert "focus_doc" not in conversation.slots
    records = assistant.feedback.records()
    assert [(r.rating, r.conversation_id, r.question) for r in records] == \
        [("abstained", conversation.sender, "UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?")]


def test_a_follow_up_naming_the_document_by_its_kind_is_answered_from_it(talk):
    conversation = talk()
    conversation.say("Kế hoạch 146/KH-UBND về việc gì?", "ask_document", "action_describe_document")
    reply = conversation.say("Kế hoạch đó đặt mục tiêu bao nhiêu xã đạt chuẩn?", *ASK)
    assert reply.cited == ["146/KH-UBND"] and "115/181 xã" in reply.text


def test_a_page_naming_no_document_becomes_the_page_in_focus(talk):
    conversation = talk()
    reply = conversation.say("UBND tỉnh họp phiên thường kỳ tháng 5 bàn những nội dung gì?", *ASK)
    assert "phiên thường kỳ tháng 5" in reply.text and set(reply.cited) == {None}
    assert conversation.slots["focus_doc"] is None
    assert conversation.slots["focus_source"] == "langson-chi-dao-dieu-hanh-2024-05-27.txt"


def test_this_weeks_directives_are_the_bulletin_of_the_week_today_falls_in(talk):
    reply = talk().say("tuần này UBND tỉnh có chỉ đạo gì mới?", *LATEST)    # today: 29/5/2024
    assert reply.text.startswith("Chỉ đạo, điều hành nổi bật của UBND tỉnh trong tuần (từ ngày 27/5 đến ngày 02/6/2024)")
    assert "1. UBND tỉnh họp phiên thường kỳ tháng 5" in reply.text
    assert "924/QĐ-UBND" in reply.cited and None not in reply.cited   # numbered items are the sources


def test_a_week_without_a_bulletin_says_so_and_offers_the_latest(talk):
    reply = talk().say("tuần trước có chỉ đạo gì nổi bật", *LATEST)
    assert reply.text.startswith("Chưa có bản tin chỉ đạo, điều hành cho tuần trước (từ 20/5/2024 đến 26/5/2024).")
    assert "Bản tin gần nhất hiện có: Chỉ đạo, điều hành nổi bật" in reply.text


def test_a_dated_question_with_a_topic_is_answered_about_the_topic(talk):
    reply = talk().say("Hồi tháng 6/2022 tỉnh có chỉ đạo gì về phòng, chống sốt xuất huyết không?", *LATEST)
    assert reply.cited == ["704/UBND-KGVX"] and not reply.text.startswith("Chỉ đạo, điều hành nổi bật")
