"""Conversations with the real assistant: Rasa (trained model) + action server over the sample index,
through Rasa's REST webhook, as every channel talks to it."""
from __future__ import annotations

import sqlite3

import pytest

from retrieval.text import fold


def cited(reply) -> set[str]:
    return {c["doc_number"] for c in reply.citations}


def assert_cites(reply, number):
    """Both forms of the citation: the readable line and the machine-readable payload."""
    assert number in cited(reply), reply
    assert "Nguồn:" in reply.text and number in reply.text.split("Nguồn:", 1)[1], reply.text


def test_greeting_help_chitchat_and_out_of_scope_get_their_answers(dialogue):
    talk = dialogue.conversation()
    assert "UBND tỉnh Lạng Sơn" in talk.say("xin chào").text
    assert "Ai chủ trì" in talk.say("bạn làm được gì?").text
    assert "ngoài phạm vi" in talk.say("giá vàng hôm nay bao nhiêu?").text
    assert "chỉ trò chuyện được về các văn bản chỉ đạo" in talk.say("bạn có người yêu chưa").text
    assert talk.say("cảm ơn nhé").text
    assert talk.say("tạm biệt").text


def test_a_directive_question_is_answered_with_its_source(dialogue):
    reply = dialogue.conversation().say("UBND tỉnh chỉ đạo gì về phòng, chống sốt xuất huyết?")
    assert_cites(reply, "704/UBND-KGVX")
    assert reply.abstained is False
    citation = reply.citations[0]
    assert citation["issued_date"] == "2022-06-23" and citation["issuer"] == "UBND tỉnh" and citation["quote"]


def test_who_leads_then_partners_then_deadline_as_follow_ups(dialogue):
    talk = dialogue.conversation()
    first = talk.say("Ai chủ trì xây dựng kế hoạch triển khai Phong trào thi đua trong quý III năm 2022?")
    assert "chủ trì" in first.text
    assert_cites(first, "146/KH-UBND")
    partners = talk.say("Còn phối hợp với ai?")
    assert partners.text.lower().startswith(("phối hợp", "văn bản không nêu cơ quan phối hợp"))
    assert "146/KH-UBND" in cited(partners)
    deadline = talk.say("Hạn chót khi nào?")
    assert "quý III năm 2022" in deadline.text
    assert "146/KH-UBND" in cited(deadline)


def test_questions_without_diacritics_and_with_chat_shorthand(dialogue):
    reply = dialogue.conversation().say("ubnd tinh chi dao j ve phong chong sot xuat huyet vay")
    assert_cites(reply, "704/UBND-KGVX")
    tasks = dialogue.conversation().say("so y te dc giao nhung viec gi")
    assert "Sở Y tế" in tasks.text and tasks.citations


def test_a_document_by_number_then_its_signer_and_date_as_follow_ups(dialogue):
    talk = dialogue.conversation()
    about = talk.say("Công văn 704/UBND-KGVX nói gì?")
    assert "sốt xuất huyết" in about.text
    assert_cites(about, "704/UBND-KGVX")
    signer = talk.say("Văn bản đó do ai ký?")
    assert "704/UBND-KGVX" in signer.text and "không ghi người ký" in signer.text
    date = talk.say("ban hành ngày nào?")
    assert "23/6/2022" in date.text


def test_a_document_named_by_a_short_mention(dialogue):
    reply = dialogue.conversation().say("kế hoạch 146 về việc gì")
    assert_cites(reply, "146/KH-UBND")
    assert "Phong trào thi đua" in reply.text


def test_an_unknown_document_is_said_plainly(dialogue):
    reply = dialogue.conversation().say("Công văn 9999/UBND-XYZ nói gì?")
    assert "chưa có văn bản" in reply.text and not reply.citations


def test_an_agencys_tasks_are_listed_with_their_documents(dialogue):
    reply = dialogue.conversation().say("Sở Y tế được giao những việc gì?")
    assert "Sở Y tế có" in reply.text and "1." in reply.text
    assert reply.citations and all(c["doc_number"] for c in reply.citations)


def test_this_weeks_directives_come_from_the_bulletin_of_this_week(dialogue):
    reply = dialogue.conversation().say("tuần này UBND tỉnh có chỉ đạo gì mới?")   # today: 29/5/2024
    assert "27/5 đến ngày 02/6/2024" in reply.text
    assert "924/QĐ-UBND" in reply.text and reply.citations
    older = dialogue.conversation().say("tuần trước có chỉ đạo gì nổi bật")
    assert "Chưa có bản tin" in older.text and "Bản tin gần nhất" in older.text


def test_deadlines_coming_up(dialogue):
    reply = dialogue.conversation().say("việc nào sắp đến hạn?")
    assert "đến hạn" in reply.text


def test_a_question_nothing_answers_is_declined_not_invented(dialogue):
    reply = dialogue.conversation().say("UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?")
    assert reply.abstained is True and not reply.citations
    assert "chưa tìm thấy" in reply.text


def test_who_leads_a_plan_is_the_agency_leading_it_as_a_whole(dialogue):
    talk = dialogue.conversation()
    talk.say("Kế hoạch 146/KH-UBND về việc gì?")
    reply = talk.say("Ai chủ trì?")
    assert reply.text.startswith("Sở Nội vụ chủ trì") and "146/KH-UBND" in cited(reply)


def test_an_ambiguous_follow_up_asks_which_task_with_buttons_and_the_choice_answers(dialogue):
    talk = dialogue.conversation()
    talk.say("Kế hoạch 146/KH-UBND về việc gì?")
    question = talk.say("Hạn chót khi nào?")      # the plan has several tasks with their own deadlines
    if not question.buttons:
        pytest.fail(f"expected a choice between the plan's tasks, got: {question.text}")
    assert "Bạn muốn hỏi việc nào" in question.text
    payload = question.buttons[1]["payload"]
    assert payload.startswith("/choose_option")
    chosen = talk.say(payload)
    assert "Thời hạn: vào năm 2023" in chosen.text and "146/KH-UBND" in cited(chosen)
    assert "vào năm 2023" in talk.say("Hạn chót khi nào?").text    # the chosen task is now the focus
    typed = dialogue.conversation()
    typed.say("Kế hoạch 146/KH-UBND về việc gì?")
    assert typed.say("hạn chót khi nào?").buttons
    first = typed.say("cái đầu tiên")
    assert "quý III năm 2022" in first.text and "146/KH-UBND" in cited(first)


def test_feedback_is_recorded_with_the_conversation_and_the_answer(dialogue):
    talk = dialogue.conversation()
    talk.say("Công văn 704/UBND-KGVX nói gì?")
    assert "Cảm ơn" in talk.say("👍").text
    assert "Xin lỗi" in talk.say("sai rồi, không đúng").text
    with sqlite3.connect(dialogue.feedback_path) as db:
        rows = db.execute("SELECT * FROM sqlite_master WHERE type = 'table'").fetchall()
    assert rows
    from retrieval.feedback import FeedbackStore

    mine = [r for r in FeedbackStore(dialogue.feedback_path).records() if r.conversation_id == talk.sender]
    assert [r.rating for r in mine] == ["up", "down"]
    assert all("704/UBND-KGVX" in r.answer for r in mine)
    assert all(fold("Công văn 704") in fold(r.question) for r in mine)
    assert any(c.get("doc_number") == "704/UBND-KGVX" for c in mine[0].citations)


def test_abstentions_are_recorded_for_the_gold_set_review(dialogue):
    from retrieval.feedback import FeedbackStore

    talk = dialogue.conversation()
    talk.say("UBND tỉnh chỉ đạo gì về nuôi cá hồi trên sao Hỏa?")
    mine = [r for r in FeedbackStore(dialogue.feedback_path).records() if r.conversation_id == talk.sender]
    assert [r.rating for r in mine] == ["abstained"]


def test_nlu_reads_intents_and_entities_typed_any_way(dialogue):
    parsed = dialogue.parse("ai chu tri danh gia tinh hinh dich sot xuat huyet")
    assert parsed["intent"]["name"] == "ask_responsible"
    parsed = dialogue.parse("sở gd&đt dc giao nv j tuần này")
    assert parsed["intent"]["name"] == "agency_tasks"
    assert {(e["entity"], e["value"]) for e in parsed["entities"]} == {("agency", "sở gd&đt"), ("date", "tuần này")}
    parsed = dialogue.parse("qđ 924 ai ký")
    assert parsed["intent"]["name"] == "ask_document"
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("doc_number", "qđ 924")]


def test_a_follow_up_about_that_plan_answers_from_the_plan_in_focus(dialogue):
    """"Kế hoạch đó …" is the plan just answered about, not a search over every document's tasks."""
    talk = dialogue.conversation()
    first = talk.say("Kế hoạch 146/KH-UBND về việc gì?")
    assert_cites(first, "146/KH-UBND")
    lead = talk.say("Kế hoạch đó do ai chủ trì?")
    assert not lead.buttons, lead.text           # no list of other documents' tasks to choose from
    assert cited(lead) == {"146/KH-UBND"} and "Sở Nội vụ" in lead.text


def test_a_dated_question_with_a_topic_is_answered_about_the_topic(dialogue):
    """"Hồi tháng 6/2022 … về sốt xuất huyết?" asks about the topic, not for that month's digest."""
    reply = dialogue.conversation().say("Hồi tháng 6/2022 tỉnh có chỉ đạo gì về phòng, chống sốt xuất huyết không?")
    assert_cites(reply, "704/UBND-KGVX")
    assert not reply.text.startswith("Chỉ đạo, điều hành nổi bật") and "sốt xuất huyết" in reply.text
