"""One document by its number, or the one in focus, answered by the actions themselves (no Rasa,
no model): what it says, who signed or issued it, when; unknown numbers are said plainly."""
from __future__ import annotations

DOCUMENT = ("ask_document", "action_describe_document")


def test_a_document_by_number_then_its_signer_date_and_issuer_as_follow_ups(talk):
    conversation = talk()
    about = conversation.say("Công văn 704/UBND-KGVX nói gì?", *DOCUMENT)
    assert about.text.startswith("Công văn số 704/UBND-KGVX do UBND tỉnh ban hành ngày 23/6/2022: "
                                 "Chỉ đạo tăng cường công tác phòng, chống sốt xuất huyết.")
    assert about.cited == ["704/UBND-KGVX"] and conversation.slots["focus_task"] is None
    signer = conversation.say("Văn bản đó do ai ký?", *DOCUMENT)
    assert signer.text.startswith("Bản tin không ghi người ký Công văn số 704/UBND-KGVX.")
    date = conversation.say("ban hành ngày nào?", *DOCUMENT)
    assert date.text.startswith("Công văn số 704/UBND-KGVX ban hành ngày 23/6/2022 (của UBND tỉnh)")
    issuer = conversation.say("của cơ quan nào?", *DOCUMENT)
    assert issuer.text.startswith("Công văn số 704/UBND-KGVX do UBND tỉnh ban hành ngày 23/6/2022.")
    assert all(r.cited == ["704/UBND-KGVX"] for r in (signer, date, issuer))


def test_a_short_mention_finds_the_document(talk):
    conversation = talk()
    reply = conversation.say("văn bản 115 nói gì", *DOCUMENT)
    assert reply.text.startswith("Kế hoạch số 115/KH-UBND do UBND tỉnh ban hành ngày 27/5/2024")
    assert conversation.slots["focus_doc"] == "115/KH-UBND"


def test_an_unknown_document_is_said_plainly(talk):
    reply = talk().say("Công văn 9999/UBND-XYZ nói gì?", *DOCUMENT)
    assert reply.abstained is True and not reply.citations
    assert reply.text.startswith("Tôi chưa có văn bản “Công văn 9999/UBND-XYZ” trong dữ liệu")


def test_no_number_and_nothing_in_focus_asks_which_document(talk):
    reply = talk().say("văn bản nào?", *DOCUMENT)
    assert reply.abstained is True and reply.text.startswith("Bạn muốn hỏi văn bản nào?")
