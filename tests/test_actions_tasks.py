"""Who leads, with whom, by when, answered by the actions themselves (no Rasa, no model): follow-ups
resolve against the task or document in focus, ties ask which with buttons, an agency's tasks are
listed with their documents, deadlines are judged against the pinned today (29/5/2024)."""
from __future__ import annotations

RESPONSIBLE = ("ask_responsible", "action_answer_responsible")
DEADLINE = ("ask_deadline", "action_answer_deadline")
AGENCY = ("agency_tasks", "action_agency_tasks")
DOCUMENT = ("ask_document", "action_describe_document")
CHOOSE = ("choose_option", "action_resolve_choice")


def test_who_leads_then_partners_then_deadline_follow_the_task_in_focus(talk):
    conversation = talk()
    lead = conversation.say("Ai chủ trì phòng, chống sốt xuất huyết?", *RESPONSIBLE)
    assert lead.text.startswith("Sở Y tế chủ trì.") and lead.cited == ["704/UBND-KGVX"]
    assert conversation.slots["focus_agency"] == "Sở Y tế"
    partners = conversation.say("Còn phối hợp với ai?", *RESPONSIBLE)
    assert partners.text.startswith("Phối hợp: Các cơ quan liên quan.") and partners.cited == ["704/UBND-KGVX"]


def test_a_deadline_follow_up_reads_the_task_in_focus(talk):
    conversation = talk()
    conversation.say("Ai chủ trì xây dựng kế hoạch triển khai Phong trào thi đua trong quý III năm 2022?",
                     *RESPONSIBLE)
    reply = conversation.say("Hạn chót khi nào?", *DEADLINE)
    assert reply.text.startswith("Thời hạn: trong quý III năm 2022 (tức 30/9/2022).")
    assert reply.cited == ["146/KH-UBND"]


def test_who_leads_a_plan_is_the_agency_leading_it_as_a_whole(talk):
    conversation = talk()
    conversation.say("Kế hoạch 146/KH-UBND về việc gì?", *DOCUMENT)
    reply = conversation.say("Ai chủ trì?", *RESPONSIBLE)
    assert reply.text.startswith("Sở Nội vụ chủ trì.") and "triển khai, đôn đốc" in reply.text
    assert not reply.buttons


def test_several_tasks_ask_which_and_a_button_or_a_typed_ordinal_answers(talk):
    conversation = talk()
    conversation.say("Kế hoạch 146/KH-UBND về việc gì?", *DOCUMENT)
    question = conversation.say("Hạn chót khi nào?", *DEADLINE)
    assert question.text.startswith("Có nhiều việc khớp với câu hỏi. Bạn muốn hỏi việc nào?\n1. ")
    assert [b["payload"] for b in question.buttons][:2] == ['/choose_option{"option": "1"}',
                                                             '/choose_option{"option": "2"}']
    assert conversation.slots["pending"]["intent"] == "ask_deadline"
    options = conversation.slots["pending"]["options"]
    chosen = conversation.say('/choose_option{"option": "2"}', *CHOOSE,
                              entities=[{"entity": "option", "value": "2"}])
    assert chosen.text.startswith("Thời hạn: vào năm 2023") and chosen.cited == ["146/KH-UBND"]
    assert conversation.slots["pending"] is None and conversation.slots["focus_task"] == options[1]
    assert conversation.say("Hạn chót khi nào?", *DEADLINE).text.startswith("Thời hạn: vào năm 2023")

    typed = talk()
    typed.say("Kế hoạch 146/KH-UBND về việc gì?", *DOCUMENT)
    typed.say("hạn chót khi nào?", *DEADLINE)
    assert typed.say("cái đầu tiên", *CHOOSE).text.startswith("Thời hạn: trong quý III năm 2022")


def test_a_bare_question_with_nothing_in_focus_asks_what_is_meant(talk):
    reply = talk().say("Ai chủ trì?", *RESPONSIBLE)
    assert reply.abstained is True and reply.text.startswith("Bạn muốn hỏi cơ quan chủ trì việc nào?")


def test_overdue_tasks_are_listed_against_today(talk):
    reply = talk().say("việc nào đã quá hạn?", *DEADLINE)
    assert reply.text.startswith("Các việc đã quá hạn (tính đến 29/5/2024):\n1. ")
    assert "thời hạn: trong quý III năm 2022 (tức 30/9/2022) [Kế hoạch 146/KH-UBND]" in reply.text
    assert "146/KH-UBND" in reply.cited


def test_no_task_due_soon_is_said_plainly(talk):
    reply = talk().say("việc nào sắp đến hạn?", *DEADLINE)
    assert reply.text == "Không có việc nào sắp đến hạn trong các văn bản đã có (tính đến 29/5/2024)."


def test_an_agencys_tasks_are_listed_with_their_documents(talk):
    conversation = talk()
    reply = conversation.say("Sở Y tế được giao những việc gì?", *AGENCY)
    assert reply.text.startswith("Sở Y tế có ") and "\n1. " in reply.text
    assert set(reply.cited) == {"704/UBND-KGVX", "714/UBND-KGVX"}
    assert conversation.slots["focus_agency"] == "Sở Y tế"


def test_an_agency_without_tasks_is_told_so_and_stays_in_focus(talk):
    conversation = talk()
    reply = conversation.say("Tỉnh đoàn được giao những việc gì?", *AGENCY)
    assert reply.text == "Tôi chưa thấy nhiệm vụ nào giao cho Tỉnh đoàn trong các văn bản đã có."
    assert conversation.slots["focus_agency"] == "Tỉnh đoàn"


def test_tasks_given_to_every_department_are_listed_apart_as_shared(talk, hashing_retrieval):
    """A department named in no task still has the work given to "các sở, ban, ngành"; one with tasks
    of its own gets them first, and the shared ones counted after."""
    shared = hashing_retrieval.tasks.shared_tasks_of("Văn phòng UBND tỉnh")
    assert len(shared) > 5
    conversation = talk()
    reply = conversation.say("Văn phòng UBND tỉnh được giao những việc gì?", *AGENCY)
    assert reply.text.startswith("Tôi chưa thấy nhiệm vụ nào giao riêng cho Văn phòng UBND tỉnh")
    assert f"Có {len(shared)} nhiệm vụ giao chung cho Các sở, ban, ngành (Văn phòng UBND tỉnh là một trong số đó):" \
        in reply.text
    assert shared[0].task.action in reply.text and "\n5. " in reply.text and "\n6. " not in reply.text
    assert set(reply.cited) == {m.task.doc_number for m in shared[:5]}
    assert conversation.slots["focus_agency"] == "Văn phòng UBND tỉnh"
    health = talk().say("Sở Y tế được giao những việc gì?", *AGENCY)
    assert health.text.startswith("Sở Y tế có ") and "Ngoài ra có " in health.text
    assert health.text.index("Ngoài ra có ") > health.text.index("\n1. ")


def test_a_bare_follow_up_on_a_document_without_tasks_never_answers_from_another(talk, hashing_retrieval):
    assigned = {task.doc_number for task in hashing_retrieval.tasks.tasks}
    tried = 0
    for number in sorted({n for n in hashing_retrieval.index.document_numbers if n} - assigned):
        conversation = talk()
        described = conversation.say(f"Văn bản {number} nói gì?", *DOCUMENT)
        if described.cited != [number]:    # only mentioned by other documents: they are the sources
            continue
        tried += 1
        for follow_up, intent in (("Ai chủ trì?", RESPONSIBLE), ("Hạn chót khi nào?", DEADLINE)):
            reply = conversation.say(follow_up, *intent)
            assert set(reply.cited) <= {number} and (reply.cited or number in reply.text), (number, reply.text)
            assert conversation.slots["focus_doc"] == number
    assert tried >= 3
