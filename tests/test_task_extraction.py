"""Task extraction: deadlines of every shape, sentences from the bulletins and made-up ones of the
same family (2020-era, post-2025, "giao … chủ trì", "đề nghị …"), continuations, and both sample
bulletins end to end."""
from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.ingest import load_path
from retrieval.ingest.chunking import chunk_document
from retrieval.schema import DocumentRef, Task
from retrieval.tasks.agencies import Gazetteer
from retrieval.tasks.extract import (
    TaskContext,
    extract_from_sentence,
    extract_tasks,
    find_deadline,
)

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
BULLETIN_2022 = CORPUS / "langson-chi-dao-dieu-hanh-2022-06-20.txt"
BULLETIN_2024 = CORPUS / "langson-chi-dao-dieu-hanh-2024-05-27.txt"

# --------------------------------------------------------------------------- deadlines

DEADLINES = [
    # (text, reference date, written, ISO)
    ("thời gian thực hiện trước ngày 10/6/2024.", "2024-05-30", "trước ngày 10/6/2024", "2024-06-10"),
    ("hoàn thiện dự thảo báo cáo chậm nhất vào ngày 8/6/2024 gửi UBND tỉnh", None,
     "chậm nhất vào ngày 8/6/2024", "2024-06-08"),
    ("Thời gian kiểm tra hoàn thành trong tháng 6 năm 2024.", None, "trong tháng 6 năm 2024", "2024-06-30"),
    ("xây dựng kế hoạch trong quý III năm 2022; sơ kết vào năm 2023", None, "trong quý III năm 2022", "2022-09-30"),
    ("(từ ngày 01/6/2024 đến ngày 30/6/2024)", None, "từ ngày 01/6/2024 đến ngày 30/6/2024", "2024-06-30"),
    ("phấn đấu đến năm 2025 toàn tỉnh có 115 xã", None, "đến năm 2025", "2025-12-31"),
    ("tổng kết Phong trào thi đua vào năm 2025.", None, "vào năm 2025", "2025-12-31"),
    ("báo cáo trước ngày 10/6", "2024-05-30", "trước ngày 10/6", "2024-06-10"),
    ("báo cáo trước ngày 10/01", "2024-12-20", "trước ngày 10/01", "2025-01-10"),   # next year
    ("hoàn thành trong tháng 6", "2024-05-30", "trong tháng 6", "2024-06-30"),
    ("hoàn thành trong tháng 2/2024", None, "trong tháng 2/2024", "2024-02-29"),
    ("hoàn thành trong quý IV/2020", None, "trong quý IV/2020", "2020-12-31"),
    ("thực hiện trong năm 2022", None, "trong năm 2022", "2022-12-31"),
    ("đến hết ngày 15 tháng 7 năm 2020", None, "đến hết ngày 15 tháng 7 năm 2020", "2020-07-15"),
    ("giai đoạn 1 (từ năm 2024 đến năm 2026)", None, "từ năm 2024 đến năm 2026", "2026-12-31"),
    ("kiểm tra trong 6 tháng đầu năm 2025", None, "trong 6 tháng đầu năm 2025", "2025-06-30"),
    # "trước" is exclusive: the boundary is kept as written (a period's first day)
    ("hoàn thành trước tháng 7/2024", None, "trước tháng 7/2024", "2024-07-01"),
    ("hoàn thành trước quý III năm 2024", None, "trước quý III năm 2024", "2024-07-01"),
    ("đưa vào sử dụng trước năm 2026", None, "trước năm 2026", "2026-01-01"),
    ("báo cáo trước ngày 20 hằng tháng", "2024-05-30", "trước ngày 20 hằng tháng", None),
    ("báo cáo kết quả hằng tháng", None, "hằng tháng", None),
    ("thường xuyên rà soát, đôn đốc", None, "thường xuyên", None),
]


@pytest.mark.parametrize("text, ref, written, iso", DEADLINES)
def test_deadlines(text, ref, written, iso):
    assert find_deadline(text, ref) == (written, iso)


@pytest.mark.parametrize("text", [
    "quy định tại Nghị định số 73/2019/NĐ-CP ngày 05/9/2019 của Chính phủ",
    "tổng kim ngạch (tính đến ngày 23/5/2024) được trên 22 tỷ USD",
    "Quy hoạch tỉnh thời kỳ 2021-2030, tầm nhìn đến năm 2050",
    "tham gia giải bóng bàn gia đình toàn quốc năm 2022",
    "thực hiện Luật Tài nguyên nước năm 2023",
])
def test_dates_that_are_no_deadline(text):
    assert find_deadline(text, "2024-05-30") is None


def test_a_dated_deadline_wins_over_a_recurring_one():
    assert find_deadline("thường xuyên kiểm tra, báo cáo trước ngày 15/7/2024", None) == \
        ("trước ngày 15/7/2024", "2024-07-15")


# --------------------------------------------------------------------------- one sentence


def _tasks(sentence: str, date: str | None = "2024-05-30", **document) -> list[Task]:
    """Tasks of one sentence of an item whose document has these fields (number, issuer …)."""
    ref = DocumentRef(number=document.pop("doc_number", ""), issued_date=date, **document)
    return extract_from_sentence(sentence, TaskContext(ref_date=date, document=ref))


SENTENCES = [
    # (sentence, document date, lead, assignees, partners, deadline_date, action starts with)
    (("UBND tỉnh yêu cầu: Sở Y tế chủ trì, phối hợp với các cơ quan liên quan tổ chức đánh giá tình hình "
     "dịch bệnh sốt xuất huyết trên địa bàn tỉnh."), "2022-06-23",
     "Sở Y tế", [], ["Các cơ quan liên quan"], None, "tổ chức đánh giá"),
    (("Sở Tài nguyên và Môi trường phối hợp với các sở, ban, ngành, UBND cấp huyện, UBND cấp xã nghiên cứu, "
     "quán triệt, tập huấn."), "2024-05-30",
     "Sở Tài nguyên và Môi trường", [],
     ["Các sở, ban, ngành", "UBND các huyện, thành phố", "UBND các xã, phường, thị trấn"], None, "nghiên cứu"),
    (("Các sở, ban, ngành, UBND các huyện, thành phố rà soát trong Quy hoạch tỉnh theo lĩnh vực quản lý; "
     "báo cáo, đề xuất UBND tỉnh xử lý các bất cập (đồng gửi báo cáo qua Sở Kế hoạch và Đầu tư để tổng hợp); "
     "thời gian thực hiện trước ngày 10/6/2024."), "2024-05-30",
     "Các sở, ban, ngành", ["UBND các huyện, thành phố"], [], "2024-06-10", "rà soát trong Quy hoạch"),
    ("Sở Y tế là cơ quan chủ trì, phối hợp với các cơ quan liên quan triển khai thực hiện Kế hoạch.", "2024-05-29",
     "Sở Y tế", [], ["Các cơ quan liên quan"], None, "triển khai thực hiện"),
    ("Theo đó, Liên đoàn Quần vợt tỉnh được giao bổ sung nhiệm vụ tham gia giải quần vợt phong trào toàn quốc.",
     "2022-06-24", "Liên đoàn Quần vợt tỉnh", [], [], None, "tham gia giải"),
    (("Sở Nội vụ (Ban Thi đua - Khen thưởng) chủ trì, phối hợp với Văn phòng Điều phối chương trình xây dựng "
     "nông thôn mới tỉnh triển khai, đôn đốc việc tổ chức thực hiện Kế hoạch này."), "2022-06-23",
     "Sở Nội vụ", [], ["Văn phòng Điều phối chương trình xây dựng nông thôn mới tỉnh"], None, "triển khai, đôn đốc"),
    (("Các sở, ban, ngành, UBND các huyện, thành phố, đề nghị Ủy ban MTTQ và các tổ chức chính trị - xã hội tỉnh "
     "tiếp tục thực hiện có hiệu quả Nghị quyết số 128/NQ-CP."), "2022-06-24",
     "Các sở, ban, ngành", ["UBND các huyện, thành phố", "Ủy ban MTTQ Việt Nam tỉnh",
                            "Các tổ chức chính trị - xã hội tỉnh"], [], None, "tiếp tục thực hiện"),
    (("Chủ tịch UBND các huyện, thành phố chỉ đạo và huy động các phòng, ban, các tổ chức chính trị - xã hội "
     "phối hợp với ngành Y tế triển khai chiến dịch diệt lăng quăng, bọ gậy."), "2022-06-23",
     "UBND các huyện, thành phố", [], ["Ngành Y tế"], None, "chỉ đạo và huy động"),
    # objects of "chỉ đạo" are neither assignees nor partners
    ("Sở Thông tin và Truyền thông chỉ đạo các cơ quan báo chí đẩy mạnh thông tin, tuyên truyền.", "2022-06-24",
     "Sở Thông tin và Truyền thông", [], [], None, "chỉ đạo các cơ quan báo chí"),
    (("Trên cơ sở ý kiến đóng góp, đồng chí Chủ tịch UBND tỉnh yêu cầu Sở Kế hoạch và Đầu tư tiếp thu, đồng thời "
     "cập nhật số liệu để hoàn thiện dự thảo báo cáo chậm nhất vào ngày 8/6/2024 gửi UBND tỉnh xem xét."), "2024-05-27",
     "Sở Kế hoạch và Đầu tư", [], [], "2024-06-08", "tiếp thu"),
    ("Các lực lượng chuyên trách, nòng cốt là lực lượng Công an mở đợt cao điểm tấn công trấn áp tội phạm về ma túy.",
     "2024-05-31", "Lực lượng Công an", [], [], None, "mở đợt cao điểm"),
    # "phối hợp" without "với" still names a partner ("Cơ quan chuyên môn": the gazetteer's role name)
    ("Đài Phát thanh và Truyền hình tỉnh, Báo Lạng Sơn phối hợp cơ quan chuyên môn thông tin kịp thời, chính xác.",
     "2024-05-30", "Đài Phát thanh và Truyền hình tỉnh", ["Báo Lạng Sơn"], ["Cơ quan chuyên môn"], None,
     "thông tin kịp thời"),
    ("Các sở, ban, ngành liên quam theo chức năng, nhiệm vụ được giao phối hợp, hỗ trợ hoạt động y tế cơ sở.",
     "2024-05-29", "Các sở, ban, ngành", [], [], None, "phối hợp, hỗ trợ"),
    # made up, other phrasings of the same family
    (("UBND tỉnh giao Sở Tài chính chủ trì, phối hợp với Sở Kế hoạch và Đầu tư, Sở Xây dựng tham mưu phân bổ vốn "
     "trước ngày 15/7/2020."), "2020-06-20",
     "Sở Tài chính", [], ["Sở Kế hoạch và Đầu tư", "Sở Xây dựng"], "2020-07-15", "tham mưu phân bổ vốn"),
    ("Giao Sở Y tế chủ trì triển khai tiêm chủng mở rộng trong quý IV năm 2020.", "2020-06-20",
     "Sở Y tế", [], [], "2020-12-31", "triển khai tiêm chủng"),
    (("Đề nghị Ủy ban MTTQ Việt Nam tỉnh và các tổ chức chính trị - xã hội tỉnh phối hợp tuyên truyền, vận động "
     "Nhân dân."), "2021-03-01",
     "Ủy ban MTTQ Việt Nam tỉnh", ["Các tổ chức chính trị - xã hội tỉnh"], [], None, "phối hợp tuyên truyền"),
    (("UBND tỉnh yêu cầu Sở Lao động - Thương binh và Xã hội chủ trì, phối hợp với Ban Dân tộc, UBND các huyện, "
     "thành phố rà soát hộ nghèo trước ngày 30/11/2020."), "2020-10-01",
     "Sở Lao động - Thương binh và Xã hội", [], ["Ban Dân tộc", "UBND các huyện, thành phố"], "2020-11-30",
     "rà soát hộ nghèo"),
    ("UBND tỉnh chỉ đạo Sở GTVT khẩn trương khắc phục sạt lở trên các tuyến đường tỉnh.", "2023-07-01",
     "Sở Giao thông vận tải", [], [], None, "khẩn trương khắc phục"),
    ("Yêu cầu Chủ tịch UBND huyện Bình Gia chỉ đạo khắc phục hậu quả mưa lũ, hoàn thành trước ngày 10/6.",
     "2024-05-30", "UBND huyện Bình Gia", [], [], "2024-06-10", "chỉ đạo khắc phục"),
    ("- Sở Y tế: chủ trì tổ chức giám sát dịch bệnh.", "2024-05-30", "Sở Y tế", [], [], None, "tổ chức giám sát"),
    (("Các sở, ban, ngành và UBND các huyện, thành phố trong phạm vi nhiệm vụ, quyền hạn của mình có trách nhiệm "
     "chủ trì, phối hợp với các đơn vị, tổ chức, cá nhân có liên quan tham mưu cho UBND tỉnh."), "2024-05-30",
     "Các sở, ban, ngành", ["UBND các huyện, thành phố"], ["Các cơ quan liên quan"], None, "tham mưu cho UBND tỉnh"),
    # after the 2025 reorganisations
    (("UBND các xã, phường chủ trì, phối hợp với Sở Nông nghiệp và Môi trường tổ chức ra quân làm sạch môi trường "
     "trong tháng 8/2025."), "2025-08-05",
     "UBND các xã, phường", [], ["Sở Nông nghiệp và Môi trường"], "2025-08-31", "tổ chức ra quân"),
    ("UBND cấp xã tổ chức tiếp nhận hồ sơ đăng ký của người dân.", "2025-09-01",
     "UBND các xã, phường", [], [], None, "tổ chức tiếp nhận"),     # the name as it was on that date
    (("Sở Khoa học và Công nghệ chủ trì, phối hợp với Sở Văn hóa, Thể thao và Du lịch và Báo và Phát thanh, "
     "Truyền hình Lạng Sơn tuyên truyền về chuyển đổi số đến hết năm 2025."), "2025-04-10",
     "Sở Khoa học và Công nghệ", [],
     ["Sở Văn hóa, Thể thao và Du lịch", "Báo và Phát thanh, Truyền hình Lạng Sơn"], "2025-12-31", "tuyên truyền"),
]


@pytest.mark.parametrize("sentence, date, lead, assignees, partners, deadline_date, action", SENTENCES)
def test_sentence(sentence, date, lead, assignees, partners, deadline_date, action):
    tasks = _tasks(sentence, date)
    assert len(tasks) == 1, tasks
    task = tasks[0]
    assert task.lead == lead
    assert task.assignees == assignees
    assert task.partners == partners
    assert task.deadline_date == deadline_date
    assert task.action.startswith(action), task.action
    assert task.quote == sentence


@pytest.mark.parametrize("sentence", [
    "UBND tỉnh chỉ đạo (Công văn số 704/UBND-KGVX, ngày 23/6/2022) về tăng cường công tác phòng, chống sốt xuất huyết.",
    ("Đồng chí Dương Xuân Huyên, Phó Chủ tịch Thường trực UBND tỉnh chỉ đạo (Công văn số 2792/VP-KGVX, ngày "
    "24/6/2022) tiêm vắc xin phòng COVID-19."),
    "Theo đó, đồng ý cho tiêm liều nhắc lại vắc xin phòng COVID-19 như đề nghị của Sở Y tế.",
    "Theo đó, đơn vị được kiểm tra là các sở, ban, ngành, UBND các huyện, thành phố.",
    "Sở Y tế đã tổ chức tiêm 10.000 liều vắc xin trong tháng 5.",
    "Mục đích nhằm tuyên truyền nâng cao nhận thức cho các cấp, các ngành, các tổ chức, cá nhân trên địa bàn tỉnh.",
    "Đối với nội dung này, đồng chí Chủ tịch UBND tỉnh thống nhất đối tượng miễn giảm phí thăm quan.",
    "Bộ Y tế hướng dẫn các địa phương triển khai tiêm vắc xin.",
])
def test_sentences_that_assign_nothing(sentence):
    assert _tasks(sentence) == []


def test_the_report_line_of_the_own_document_is_no_task():
    sentence = ("Ban Chỉ đạo cải cách hành chính tỉnh ban hành Kế hoạch kiểm tra công tác cải cách hành chính "
                "năm 2024 (Kế hoạch số 80/KH-BCĐCCHC, ngày 29/5/2024).")
    assert _tasks(sentence, doc_number="80/KH-BCĐCCHC", issuer="Ban Chỉ đạo cải cách hành chính tỉnh") == []
    assert len(_tasks(sentence)) == 1      # read as any other sentence when it is not the item's own document


def test_successors_follow_the_document_date():
    old = _tasks("Sở Thông tin và Truyền thông chủ trì, phối hợp với UBND các huyện, thành phố triển khai "
                 "nền tảng số.", "2022-06-23")[0]
    assert old.successors == {"Sở Thông tin và Truyền thông": "Sở Khoa học và Công nghệ",
                              "UBND các huyện, thành phố": "UBND các xã, phường"}
    assert old.successor == "Sở Khoa học và Công nghệ"
    assert old.to_dict()["successor"] == "Sở Khoa học và Công nghệ"
    new = _tasks("Sở Khoa học và Công nghệ chủ trì triển khai nền tảng số.", "2025-06-01")[0]
    assert new.successors == {} and new.successor is None


def test_abbreviations_become_canonical_names():
    task = _tasks("Sở TT&TT chủ trì hướng dẫn triển khai nền tảng số.", "2023-01-05")[0]
    assert task.lead == "Sở Thông tin và Truyền thông"


def test_unknown_agencies_are_kept_as_written():
    task = _tasks("Trung tâm Y tế huyện Bình Gia chủ trì, phối hợp với Hội Chữ thập đỏ tỉnh và Sở Tư pháp "
                  "tổ chức khám bệnh miễn phí cho Nhân dân.")[0]
    assert task.lead == "Trung tâm Y tế huyện Bình Gia"
    assert task.partners == ["Hội Chữ thập đỏ tỉnh", "Sở Tư pháp"]
    assert task.unknown_agencies == ["Trung tâm Y tế huyện Bình Gia", "Hội Chữ thập đỏ tỉnh"]
    assert task.successors == {}


def test_a_new_subject_after_a_semicolon_opens_a_new_task():
    sentence = ("Các nội dung công tác trọng tâm: tổ chức các hoạt động hưởng ứng Tháng hành động; "
                "các cơ quan, đơn vị chức năng phối hợp chặt chẽ với lực lượng Công an tăng cường rà soát, "
                "thống kê tình hình người nghiện.")
    tasks = _tasks(sentence, "2024-05-31")
    assert [(t.lead, t.partners) for t in tasks] == [("Các cơ quan liên quan", ["Lực lượng Công an"])]
    assert tasks[0].action.startswith("tăng cường rà soát")


def test_continuation_sentences_keep_the_lead():
    context = TaskContext(ref_date="2022-06-23")
    first = extract_from_sentence("UBND tỉnh yêu cầu: Sở Y tế chủ trì, phối hợp với các cơ quan liên quan tổ chức "
                                  "đánh giá tình hình dịch bệnh.", context)
    second = extract_from_sentence("Tăng cường việc theo dõi người bệnh sốt xuất huyết đang nằm điều trị nội trú.",
                                   context)
    third = extract_from_sentence("Theo đó, củng cố hoạt động của nhóm điều trị bệnh sốt xuất huyết.", context)
    assert len(first) == len(second) == len(third) == 1
    for task in second + third:     # the subject carries over, the partners of the first sentence do not
        assert (task.lead, task.partners) == ("Sở Y tế", [])
    assert second[0].action.startswith("Tăng cường việc theo dõi")
    assert third[0].action.startswith("củng cố hoạt động")
    # A sentence that neither names an actor nor starts with an action ends the chain.
    assert extract_from_sentence("Quyết định này có hiệu lực thi hành kể từ ngày ký.", context) == []
    assert extract_from_sentence("Tăng cường tuyên truyền.", context) == []
    # A new paragraph starts without a previous task.
    context.new_paragraph()
    assert extract_from_sentence("Tăng cường tuyên truyền.", context) == []


def test_a_deadline_sentence_completes_the_previous_task():
    context = TaskContext(ref_date="2024-05-29")
    tasks = extract_from_sentence("Sở Tư pháp chủ trì tổ chức kiểm tra công tác hòa giải ở cơ sở.", context)
    assert tasks[0].deadline is None
    assert extract_from_sentence("Thời gian kiểm tra hoàn thành trong tháng 6 năm 2024.", context) == []
    assert (tasks[0].deadline, tasks[0].deadline_date) == ("trong tháng 6 năm 2024", "2024-06-30")


def test_named_districts_carry_to_their_chairmen():
    context = TaskContext(ref_date="2024-05-30")
    first = extract_from_sentence("Đối với 02 huyện Tràng Định, Bình Gia đã xuất hiện Châu Chấu gây hại, cần tập "
                                  "trung chỉ đạo khoanh vùng, triển khai ngay các biện pháp diệt trừ.", context)
    second = extract_from_sentence("Chủ tịch UBND huyện trực tiếp chỉ đạo và chịu trách nhiệm trước Chủ tịch "
                                   "UBND tỉnh.", context)
    for tasks in (first, second):
        assert [(t.lead, t.assignees) for t in tasks] == [("UBND huyện Tràng Định", ["UBND huyện Bình Gia"])]
    assert first[0].action.startswith("tập trung chỉ đạo")
    assert first[0].successors["UBND huyện Bình Gia"] == "UBND các xã, phường"


# --------------------------------------------------------------------------- both bulletins


@pytest.fixture(scope="module")
def bulletins() -> dict[str, tuple]:
    out = {}
    for path in (BULLETIN_2022, BULLETIN_2024):
        doc = load_path(path)
        passages = chunk_document(doc)
        out[path.name] = (doc, passages, extract_tasks(doc, passages, gazetteer=Gazetteer.load()))
    return out


def _by_number(tasks: list[Task], number: str) -> list[Task]:
    return [t for t in tasks if t.doc_number == number]


def test_both_bulletins_yield_tasks(bulletins):
    counts = {name: len(tasks) for name, (_, _, tasks) in bulletins.items()}
    assert sum(counts.values()) >= 40, counts
    assert counts[BULLETIN_2022.name] >= 15 and counts[BULLETIN_2024.name] >= 20, counts


def test_704_sốt_xuất_huyết(bulletins):
    tasks = _by_number(bulletins[BULLETIN_2022.name][2], "704/UBND-KGVX")
    first = tasks[0]
    assert first.lead == "Sở Y tế" and first.partners == ["Các cơ quan liên quan"]
    assert first.quote.startswith("UBND tỉnh yêu cầu: Sở Y tế chủ trì")
    assert (first.doc_type, first.issued_date, first.issuer) == ("Công văn", "2022-06-23", "UBND tỉnh")
    # The three sentences that continue Sở Y tế's list, then the districts' own task.
    assert [t.lead for t in tasks] == ["Sở Y tế"] * 4 + ["UBND các huyện, thành phố"]
    assert tasks[-1].partners == ["Ngành Y tế"]


def test_2022_information_department_points_to_its_successor(bulletins):
    tasks = [t for t in bulletins[BULLETIN_2022.name][2] if t.lead == "Sở Thông tin và Truyền thông"]
    assert {t.doc_number for t in tasks} == {"714/UBND-KGVX", "706/UBND-KGVX"}
    for task in tasks:
        assert task.successor == "Sở Khoa học và Công nghệ"


def test_723_deadline(bulletins):
    tasks = _by_number(bulletins[BULLETIN_2024.name][2], "723/UBND-KT")
    assert tasks[0].deadline_date == "2024-06-10"
    assert tasks[0].deadline == "trước ngày 10/6/2024"
    assert (tasks[0].lead, tasks[0].assignees) == ("Các sở, ban, ngành", ["UBND các huyện, thành phố"])


def test_2024_tasks(bulletins):
    tasks = bulletins[BULLETIN_2024.name][2]
    plan = next(t for t in tasks if t.lead == "Sở Kế hoạch và Đầu tư")
    assert plan.doc_number is None            # a meeting: no document of its own
    assert plan.deadline_date == "2024-06-08" and plan.successor == "Sở Tài chính"
    locusts = _by_number(tasks, "2648/VP-KT")[0]
    assert locusts.lead == "Sở Nông nghiệp và Phát triển nông thôn"
    assert locusts.signer == "Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh"
    assert locusts.successor == "Sở Nông nghiệp và Môi trường"
    water = _by_number(tasks, "727/UBND-KT")[0]
    assert water.partners == ["Các sở, ban, ngành", "UBND các huyện, thành phố", "UBND các xã, phường, thị trấn"]
    # The inspected units are no actors; the plan's own timeline is its issuer's task.
    inspection = _by_number(tasks, "80/KH-BCĐCCHC")
    assert [(t.lead, t.assignees, t.deadline_date) for t in inspection] == \
        [("Ban Chỉ đạo cải cách hành chính tỉnh", [], "2024-06-30")]


def test_tasks_point_to_their_passage(bulletins):
    for doc, passages, tasks in bulletins.values():
        texts = {p.id: " ".join(p.text.split()) for p in passages}
        for task in tasks:
            assert task.passage_id in texts, task.quote
            assert " ".join(task.quote.split())[:60] in texts[task.passage_id]
            assert task.source == Path(doc.source).name and task.bulletin == doc.title


def test_no_agency_name_is_dropped(bulletins):
    gaz = Gazetteer.load()
    for _, _, tasks in bulletins.values():
        for task in tasks:
            for name in [task.lead, *task.assignees, *task.partners]:
                assert gaz.canonical(name) == name or name in task.unknown_agencies, name


# --------------------------------------------------------------------------- conventions of the labelled set
# Made-up sentences of the same family (other agencies, topics and years), one table per rule.

# A continuation keeps the subject but only the partners it names itself.
CONTINUATIONS = [
    # (first sentence, continuation, partners of the continuation)
    ("Sở Giáo dục và Đào tạo chủ trì, phối hợp với Sở Y tế tổ chức kiểm tra an toàn thực phẩm bếp ăn bán trú.",
     "Tăng cường tuyên truyền kiến thức phòng, chống ngộ độc thực phẩm cho học sinh.", []),
    ("Sở Công Thương chủ trì, phối hợp với Công an tỉnh kiểm tra các cửa hàng xăng dầu trong năm 2020.",
     "Đẩy mạnh kiểm soát thị trường, phối hợp với Cục Quản lý thị trường tỉnh xử lý vi phạm.",
     ["Cục Quản lý thị trường tỉnh"]),
    ("UBND các xã, phường chủ trì, phối hợp với Sở Nông nghiệp và Môi trường rà soát điểm sạt lở năm 2025.",
     "Theo đó, chủ động di dời các hộ dân ra khỏi vùng nguy hiểm.", []),
]


@pytest.mark.parametrize("first, then, partners", CONTINUATIONS)
def test_a_continuation_keeps_the_subject_not_the_partners(first, then, partners):
    context = TaskContext(ref_date="2024-05-30")
    [opened] = extract_from_sentence(first, context)
    [continued] = extract_from_sentence(then, context)
    assert (continued.lead, continued.assignees) == (opened.lead, opened.assignees)
    assert opened.partners and continued.partners == partners


# "Đối với <agencies> <action>": the agencies right after "Đối với" are addressed.
ADDRESSED = [
    # (sentence, lead, action starts with)
    ("Đối với các cơ quan có tài sản đấu giá thực hiện công khai kết quả đấu giá trên cổng thông tin.",
     "Các cơ quan có tài sản đấu giá", "thực hiện công khai"),
    ("Đối với Sở Xây dựng, khẩn trương hoàn thiện hồ sơ điều chỉnh quy hoạch chung trước ngày 30/9/2020.",
     "Sở Xây dựng", "khẩn trương hoàn thiện"),
    ("Đối với UBND các xã, phường: chủ động rà soát các hộ nghèo phát sinh.", "UBND các xã, phường", "chủ động rà soát"),
]


@pytest.mark.parametrize("sentence, lead, action", ADDRESSED)
def test_the_agencies_after_doi_voi_are_addressed(sentence, lead, action):
    [task] = _tasks(sentence, "2025-08-01")
    assert task.lead == lead and task.action.startswith(action)


@pytest.mark.parametrize("sentence", [
    # "Đối với" names a topic here: the agency is not followed by an action of its own
    "Đối với các dự án do Sở Xây dựng đã thẩm định, không xem xét điều chỉnh.",
    "Đối với UBND các huyện đã hoàn thành chỉ tiêu, được xem xét khen thưởng.",
])
def test_doi_voi_a_topic_opens_no_task(sentence):
    assert _tasks(sentence, "2020-06-01") == []


# A frequency is a deadline only for the agency's own action.
@pytest.mark.parametrize("text, written", [
    ("củng cố tổ phản ứng nhanh để thường xuyên hỗ trợ tuyến xã", None),           # purpose clause
    ("bố trí cán bộ trực nhằm thường xuyên nắm tình hình", None),
    ("vận động Nhân dân thường xuyên vệ sinh chuồng trại", None),                  # what the people do
    ("hướng dẫn người dân định kỳ phát quang bụi rậm", None),
    ("hướng dẫn hộ gia đình thường xuyên kiểm tra dụng cụ chứa nước; thường xuyên báo cáo", "thường xuyên"),
    ("Ủy ban nhân dân cấp huyện thường xuyên kiểm tra", "thường xuyên"),          # "nhân dân" of a UBND
    ("cập nhật dữ liệu dân cư thường xuyên, kịp thời", "thường xuyên"),
])
def test_frequencies_of_others_are_no_deadline(text, written):
    found = find_deadline(text, "2024-05-30")
    assert (found[0] if found else None) == written


# A ";" clause with a dated deadline of its own, after a clause that had one, is a task of its own.
def test_a_clause_with_its_own_deadline_is_its_own_task():
    sentence = ("Sở Văn hóa, Thể thao và Du lịch, UBND các huyện, thành phố tổ chức hội thi cấp cơ sở trong "
                "tháng 8/2020; tiến hành tổng kết, khen thưởng vào quý IV năm 2020.")
    tasks = _tasks(sentence, "2020-06-20")
    assert [(t.lead, t.assignees, t.deadline_date) for t in tasks] == [
        ("Sở Văn hóa, Thể thao và Du lịch", ["UBND các huyện, thành phố"], "2020-08-31"),
        ("Sở Văn hóa, Thể thao và Du lịch", ["UBND các huyện, thành phố"], "2020-12-31")]
    assert tasks[0].quote.endswith("tháng 8/2020;") and tasks[1].quote.startswith("tiến hành tổng kết")
    assert tasks[1].action.startswith("tiến hành tổng kết")


@pytest.mark.parametrize("sentence, deadline_date", [
    # one list of duties with one final deadline
    ("Sở Tài chính rà soát các khoản chi; báo cáo UBND tỉnh kết quả; thời gian hoàn thành trước ngày 15/10/2025.",
     "2025-10-15"),
    # the clause with a date comes first, the next one has none
    ("Sở Tư pháp tổ chức tập huấn trong tháng 7/2020; tiếp tục hướng dẫn nghiệp vụ hòa giải.", "2020-07-31"),
])
def test_clauses_without_a_deadline_of_their_own_stay_one_task(sentence, deadline_date):
    [task] = _tasks(sentence, "2020-06-20")
    assert task.deadline_date == deadline_date and task.quote == sentence


# A plan's timeline that names nobody, before any task, is the schedule of the body that issued it.
@pytest.mark.parametrize("issuer, doc_type, lead", [
    ("Sở Tư pháp", "Kế hoạch", "Sở Tư pháp"),
    ("Ban Chỉ đạo cải cách hành chính tỉnh", "Kế hoạch", "Ban Chỉ đạo cải cách hành chính tỉnh"),
    ("UBND tỉnh", "Kế hoạch", None),          # the leadership's plans assign work to others
    ("Sở Tư pháp", "Công văn", None),         # a letter's timeline belongs to a task it names
])
def test_a_plans_timeline_is_its_issuers_task(issuer, doc_type, lead):
    context = TaskContext(ref_date="2020-09-01",
                          document=DocumentRef(number="12/KH-X", doc_type=doc_type, issuer=issuer))
    assert extract_from_sentence("Theo đó, đơn vị được kiểm tra là UBND các huyện, thành phố.", context) == []
    tasks = extract_from_sentence("Thời gian kiểm tra hoàn thành trong quý IV năm 2020.", context)
    assert [(t.lead, t.deadline_date) for t in tasks] == ([(lead, "2020-12-31")] if lead else [])


# "các cơ quan, đơn vị" acting beside the districts are the provincial sở, ban, ngành.
@pytest.mark.parametrize("sentence, lead, assignees", [
    ("Các cơ quan, đơn vị, UBND các huyện, thành phố tiếp tục rà soát thủ tục hành chính năm 2020.",
     "Các sở, ban, ngành", ["UBND các huyện, thành phố"]),
    ("Đề nghị các cơ quan, đơn vị và UBND huyện Lộc Bình khẩn trương báo cáo thiệt hại do mưa lũ.",
     "Các sở, ban, ngành", ["UBND huyện Lộc Bình"]),
    ("Các cơ quan, đơn vị tăng cường kiểm tra công vụ.", "Các cơ quan liên quan", []),
    ("Các cơ quan, đơn vị chức năng, UBND các huyện, thành phố tăng cường kiểm tra.",
     "Các cơ quan liên quan", ["UBND các huyện, thành phố"]),
])
def test_bodies_beside_the_districts_are_the_provincial_level(sentence, lead, assignees):
    [task] = _tasks(sentence, "2020-06-20")
    assert (task.lead, task.assignees) == (lead, assignees)


# --------------------------------------------------------------------------- beyond the sample weeks

GENERIC = [
    # (sentence, lead, assignees): bodies no gazetteer lists, named by the grammar of agency names
    ("Bộ Giáo dục và Đào tạo đề nghị Chủ tịch UBND các tỉnh, thành phố trực thuộc Trung ương quán triệt "
     "Chỉ thị số 06/CT-TTg ở địa phương.", "UBND các tỉnh, thành phố trực thuộc Trung ương", []),
    ("UBND các huyện Tràng Định, Hữu Lũng và Đình Lập tiếp tục chỉ đạo duy trì các tiêu chí đã đạt.",
     "UBND huyện Tràng Định", ["UBND huyện Hữu Lũng", "UBND huyện Đình Lập"]),
    ("Cục Thuế tỉnh chủ trì, phối hợp với Kho bạc Nhà nước tỉnh rà soát các khoản thu.", "Cục Thuế tỉnh", []),
    ("Sở Giáo dục và Đào tạo, Sở Y tế căn cứ chức năng nhiệm vụ được giao, chủ động phối hợp triển khai "
     "thực hiện kỳ thi.", "Sở Giáo dục và Đào tạo", ["Sở Y tế"]),
    ("Các sở, ban, ngành, UBND các huyện, thành phố theo chức năng, nhiệm vụ triển khai thực hiện các nội dung "
     "chỉ đạo.", "Các sở, ban, ngành", ["UBND các huyện, thành phố"]),
]


@pytest.mark.parametrize("sentence, lead, assignees", GENERIC)
def test_agencies_named_by_the_grammar_act(sentence, lead, assignees):
    [task] = _tasks(sentence, "2022-06-01")
    assert (task.lead, task.assignees) == (lead, assignees)


def test_a_lower_case_word_after_the_plural_is_no_district():
    assert _tasks("Đối với UBND các huyện đã hoàn thành chỉ tiêu, được xem xét khen thưởng.", "2020-06-01") == []


def test_duties_listed_under_an_agency_heading_belong_to_it(tmp_path):
    """"1. Sở …:" then "- Chủ trì …", "- Tổng hợp …": the heading's agency leads each duty."""
    page = tmp_path / "cong-van.txt"
    page.write_text(
        "Chỉ đạo phòng cháy, chữa cháy rừng\n"
        "UBND tỉnh ban hành Công văn chỉ đạo phòng cháy, chữa cháy rừng (Công văn số 317/UBND-KT, ngày 04/3/2025).\n"
        "1. Sở Nông nghiệp và Môi trường:\n"
        "- Chủ trì, phối hợp với Công an tỉnh kiểm tra phương án chữa cháy rừng; hoàn thành trước ngày 20/3/2025.\n"
        "- Tổng hợp tình hình, báo cáo UBND tỉnh định kỳ hằng tuần.\n"
        "2. Công an tỉnh:\n"
        "- Phối hợp với UBND các huyện, thành phố điều tra các vụ cháy rừng.\n", encoding="utf-8")
    tasks = extract_tasks(load_path(page))
    assert [(t.lead, t.partners, t.deadline_date, t.doc_number) for t in tasks] == [
        ("Sở Nông nghiệp và Môi trường", ["Công an tỉnh"], "2025-03-20", "317/UBND-KT"),
        ("Sở Nông nghiệp và Môi trường", [], None, "317/UBND-KT"),
        ("Công an tỉnh", ["UBND các huyện, thành phố"], None, "317/UBND-KT"),
    ]
    assert tasks[1].deadline == "định kỳ hằng tuần"


def test_a_sentence_that_only_dates_the_duty_before_it_gives_it_its_deadline():
    context = TaskContext(ref_date="2021-09-17", document=DocumentRef(number="", issued_date="2021-09-17"))
    [duty] = extract_from_sentence("Giao Sở Văn hóa, Thể thao và Du lịch chủ trì hoàn thiện Chương trình tổng thể, "
                                   "trình Ban Tổ chức xem xét, ban hành.", context)
    [dated] = extract_from_sentence("Hoàn thành trước ngày 22/9/2021.", context)
    assert dated.lead == duty.lead == "Sở Văn hóa, Thể thao và Du lịch"
    assert duty.deadline_date == dated.deadline_date == "2021-09-22"


@pytest.mark.parametrize("sentence, partners", [
    ("Công an tỉnh chỉ đạo Công an các huyện phối hợp với các cơ sở giáo dục bảo đảm an toàn giao thông.",
     ["Các cơ sở giáo dục"]),
    ("Bộ Chỉ huy Bộ đội Biên phòng tỉnh chỉ đạo các đồn phối hợp với lực lượng chức năng phía Trung Quốc "
     "duy trì trật tự tại cửa khẩu.", ["Lực lượng chức năng phía Trung Quốc"]),
    ("Sở Y tế chỉ đạo phối hợp các Trung tâm Y tế khu vực tổ chức chiến dịch diệt lăng quăng.",
     ["Các Trung tâm Y tế khu vực"]),
])
def test_collectives_after_phoi_hop_are_partners(sentence, partners):
    [task] = _tasks(sentence, "2024-08-01")
    assert task.partners == partners


def test_phoi_hop_followed_by_an_action_names_no_partner():
    [task] = _tasks("Các sở, ban, ngành chủ động phối hợp thực hiện các nội dung liên quan.", "2024-08-01")
    assert task.partners == []
