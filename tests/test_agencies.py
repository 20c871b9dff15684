"""Agency gazetteer: spellings, diacritic-free and case-free matching, longest match, no false
positives on common phrases, successors (chains, dates) and names the gazetteer does not know."""
from __future__ import annotations

import pytest
import yaml

from retrieval.errors import InputError
from retrieval.tasks.agencies import DEFAULT_PATH, Gazetteer


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def test_load_is_cached_and_covers_the_province(gaz):
    assert Gazetteer.load() is gaz
    names = {a.name for a in gaz}
    districts = {a.name for a in gaz if a.kind == "district"}
    assert len(districts) == 11
    assert {"UBND huyện Tràng Định", "UBND huyện Đình Lập", "UBND thành phố Lạng Sơn"} <= districts
    for name in ["Sở Y tế", "Sở Nội vụ", "Sở Tư pháp", "Sở Công Thương", "Sở Ngoại vụ", "Thanh tra tỉnh",
                 "Văn phòng UBND tỉnh", "Ban Dân tộc", "Ban Thi đua - Khen thưởng", "Công an tỉnh",
                 "Bộ Chỉ huy Quân sự tỉnh", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "Báo Lạng Sơn",
                 "Đài Phát thanh và Truyền hình tỉnh", "Tỉnh đoàn", "Hội Liên hiệp Phụ nữ tỉnh",
                 "Hội Nông dân tỉnh", "Hội Cựu chiến binh tỉnh", "Liên đoàn Lao động tỉnh",
                 "Liên đoàn Quần vợt tỉnh", "Ban Quản lý Khu kinh tế cửa khẩu Đồng Đăng - Lạng Sơn",
                 "Hội đồng Thi đua - Khen thưởng tỉnh", "Ban Chỉ đạo cải cách hành chính tỉnh",
                 "Văn phòng Điều phối chương trình xây dựng nông thôn mới tỉnh",
                 "Sở Nông nghiệp và Môi trường", "Sở Dân tộc và Tôn giáo"]:
        assert name in names, name


# The collective names a gold set is labelled with: they must stay canonical.
GROUPS = [
    "Các sở, ban, ngành", "UBND các huyện, thành phố", "UBND các xã, phường, thị trấn", "UBND các xã, phường",
    "Các cơ quan liên quan", "Các tổ chức chính trị - xã hội tỉnh", "Các cơ quan báo chí",
    "Các cơ quan Trung ương đóng trên địa bàn tỉnh", "Ngành Y tế", "Lực lượng Công an",
    "Các cấp, các ngành", "Các tổ chức hội",
]


@pytest.mark.parametrize("name", GROUPS)
def test_collective_names_are_canonical(gaz, name):
    assert gaz.canonical(name) == name
    assert gaz.kind(name) in {"group", "district-level group", "commune-level group"}


ALIASES = [
    ("Sở TT&TT", "Sở Thông tin và Truyền thông"),
    ("Sở TTTT", "Sở Thông tin và Truyền thông"),
    ("Sở Thông tin và Truyền thông tỉnh", "Sở Thông tin và Truyền thông"),
    ("Sở Thông tin và Truyền thông tỉnh Lạng Sơn", "Sở Thông tin và Truyền thông"),
    ("Sở NN&PTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("Sở NN và PTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("Sở TN&MT", "Sở Tài nguyên và Môi trường"),
    ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
    ("Sở GD&ĐT", "Sở Giáo dục và Đào tạo"),
    ("Sở VHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("Sở Văn hoá, Thể thao và Du lịch", "Sở Văn hóa, Thể thao và Du lịch"),   # old tone placement
    ("Sở LĐ-TB&XH", "Sở Lao động - Thương binh và Xã hội"),
    ("Sở GTVT", "Sở Giao thông vận tải"),
    ("UBND huyện Bình Gia", "UBND huyện Bình Gia"),
    ("Ủy ban nhân dân huyện Bình Gia", "UBND huyện Bình Gia"),
    ("Uỷ ban nhân dân huyện Bình Gia", "UBND huyện Bình Gia"),
    ("Chủ tịch UBND huyện Bình Gia", "UBND huyện Bình Gia"),
    ("UBND TP Lạng Sơn", "UBND thành phố Lạng Sơn"),
    ("UBND TP. Lạng Sơn", "UBND thành phố Lạng Sơn"),
    ("UBND cấp huyện", "UBND các huyện, thành phố"),
    ("Chủ tịch UBND các huyện, thành phố", "UBND các huyện, thành phố"),
    ("UBND cấp xã", "UBND các xã, phường, thị trấn"),
    ("UBND các xã, phường, thị trấn", "UBND các xã, phường, thị trấn"),
    ("các cơ quan có liên quan", "Các cơ quan liên quan"),
    ("các đơn vị liên quan", "Các cơ quan liên quan"),
    ("Ủy ban MTTQ", "Ủy ban MTTQ Việt Nam tỉnh"),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Lạng Sơn", "Ủy ban MTTQ Việt Nam tỉnh"),
    ("ngành Y tế", "Ngành Y tế"),
    ("lực lượng Công an", "Lực lượng Công an"),
    ("cơ quan Công an", "Lực lượng Công an"),
    ("Đài PT&TH tỉnh", "Đài Phát thanh và Truyền hình tỉnh"),
    ("Bộ CHQS tỉnh", "Bộ Chỉ huy Quân sự tỉnh"),
    ("Ban TĐKT", "Ban Thi đua - Khen thưởng"),
    # roles named by what they do
    ("các lực lượng chuyên môn", "Cơ quan chuyên môn"),
    ("phòng, ban chuyên môn", "Cơ quan chuyên môn"),
    ("các cơ quan chuyên môn thuộc UBND tỉnh", "Các sở, ban, ngành"),   # the longer, provincial name wins
    ("cơ quan soạn thảo", "Đơn vị soạn thảo"),
    ("cơ quan chủ trì soạn thảo", "Đơn vị soạn thảo"),
    ("các đơn vị có tài sản đấu giá", "Các cơ quan có tài sản đấu giá"),
]


@pytest.mark.parametrize("spelling, canonical", ALIASES)
def test_aliases(gaz, spelling, canonical):
    assert gaz.canonical(spelling) == canonical
    found = gaz.find(f"Giao {spelling} chủ trì thực hiện.")
    assert [(m.text, m.canonical) for m in found] == [(spelling, canonical)]


@pytest.mark.parametrize("spelling, canonical", [
    ("so tt&tt", "Sở Thông tin và Truyền thông"),
    ("SO Y TE", "Sở Y tế"),
    ("so nong nghiep va phat trien nong thon", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("ubnd tp lang son", "UBND thành phố Lạng Sơn"),
    ("uy ban nhan dan huyen dinh lap", "UBND huyện Đình Lập"),
    ("cac so ban nganh", "Các sở, ban, ngành"),
    ("CÁC SỞ, BAN, NGÀNH", "Các sở, ban, ngành"),
    ("ban dan toc", "Ban Dân tộc"),
])
def test_without_diacritics_and_case(gaz, spelling, canonical):
    assert gaz.canonical(spelling) == canonical
    text = f"nhiem vu cua {spelling} la gi"
    found = gaz.find(text)
    assert [m.canonical for m in found] == [canonical]
    assert text[found[0].start:found[0].end] == found[0].text == spelling   # offsets map back


def test_wrong_accents_do_not_match(gaz):
    # A written word with diacritics must carry the alias's marks: "Bản" is not "Ban".
    assert gaz.canonical("Bản Dân tộc") is None
    assert gaz.find("Sổ Y tế") == []


def test_longest_match_wins(gaz):
    text = "Sở Nông nghiệp và Phát triển nông thôn, UBND huyện Bình Gia và Ủy ban MTTQ Việt Nam tỉnh Lạng Sơn"
    found = gaz.find(text)
    assert [m.canonical for m in found] == [
        "Sở Nông nghiệp và Phát triển nông thôn", "UBND huyện Bình Gia", "Ủy ban MTTQ Việt Nam tỉnh"]
    assert found[2].text == "Ủy ban MTTQ Việt Nam tỉnh Lạng Sơn"
    assert [m.canonical for m in gaz.find("Chủ tịch UBND tỉnh Lạng Sơn")] == ["Chủ tịch UBND tỉnh"]
    assert [m.canonical for m in gaz.find("Ủy ban Dân tộc")] == ["Ủy ban Dân tộc"]


def test_lists_split_into_agencies(gaz):
    text = "Các sở, ban, ngành, UBND các huyện, thành phố, đề nghị Ủy ban MTTQ và các tổ chức chính trị - xã hội tỉnh"
    assert [m.canonical for m in gaz.find(text)] == [
        "Các sở, ban, ngành", "UBND các huyện, thành phố", "Ủy ban MTTQ Việt Nam tỉnh",
        "Các tổ chức chính trị - xã hội tỉnh"]


@pytest.mark.parametrize("text", [
    "nâng cao chất lượng hoạt động của y tế cơ sở",
    "các cơ sở y tế trên địa bàn",
    "co so y te tuyen xa",
    "trụ sở Ủy ban",
    "thông báo Lạng Sơn có mưa",
    "ban hành văn bản dân tộc thiểu số",
    "toàn tỉnh đoàn kết một lòng",
    "Ban hành kế hoạch; Hội nghị quán triệt; Sở hữu trí tuệ",
    "Lạng Sơn đã đạt được nhiều kết quả",
    "tổ chức đánh giá tình hình dịch bệnh",
])
def test_no_agency_in_common_phrases(gaz, text):
    assert [m.text for m in gaz.mentions(text)] == []


def test_a_comma_breaks_a_name(gaz):
    found = gaz.find("với sự chỉ đạo quyết liệt của Tỉnh ủy, HĐND, UBND tỉnh, Lạng Sơn đã đạt")
    assert [m.text for m in found][-1] == "UBND tỉnh"


def test_another_province_is_not_ours(gaz):
    assert gaz.find("UBND tỉnh Cao Bằng") == []
    assert gaz.find("Sở Tài nguyên và Môi trường tỉnh Cao Bằng") == []
    assert gaz.unknown_agency_names("Sở Y tế Hà Nội hỗ trợ") == ["Sở Y tế Hà Nội"]


SUCCESSORS = [
    # (name, on, expected)
    ("Sở Thông tin và Truyền thông", None, "Sở Khoa học và Công nghệ"),
    ("Sở TT&TT", "2025-03-01", "Sở Khoa học và Công nghệ"),
    ("Sở Thông tin và Truyền thông", "2025-02-28", None),
    ("Sở Kế hoạch và Đầu tư", None, "Sở Tài chính"),
    ("Sở Nông nghiệp và Phát triển nông thôn", None, "Sở Nông nghiệp và Môi trường"),
    ("Sở Tài nguyên và Môi trường", None, "Sở Nông nghiệp và Môi trường"),
    ("Sở Giao thông vận tải", None, "Sở Xây dựng"),
    ("Sở Lao động - Thương binh và Xã hội", None, "Sở Nội vụ"),
    ("Ban Dân tộc", None, "Sở Dân tộc và Tôn giáo"),
    ("UBND huyện Bình Gia", "2025-06-30", None),
    ("UBND huyện Bình Gia", "2025-07-01", "UBND các xã, phường"),
    ("UBND các huyện, thành phố", None, "UBND các xã, phường"),
    ("UBND cấp xã", None, "UBND các xã, phường"),
    ("Báo Lạng Sơn", None, "Báo và Phát thanh, Truyền hình Lạng Sơn"),
    # chain: 2008 and 2025 reorganisations
    ("Sở Bưu chính, Viễn thông", "2007-06-01", None),
    ("Sở Bưu chính, Viễn thông", "2010-01-01", "Sở Thông tin và Truyền thông"),
    ("Sở Bưu chính, Viễn thông", None, "Sở Khoa học và Công nghệ"),
    ("Sở Y tế", None, None),
    ("Sở Xây dựng", None, None),
    ("Sở Không Có Thật", None, None),
]


@pytest.mark.parametrize("name, on, expected", SUCCESSORS)
def test_successor(gaz, name, on, expected):
    assert gaz.successor(name, on) == expected


def test_as_of_gives_the_name_of_the_time(gaz):
    assert gaz.as_of("UBND cấp xã", "2025-09-01") == "UBND các xã, phường"
    assert gaz.as_of("UBND cấp xã", "2024-09-01") == "UBND các xã, phường, thị trấn"
    assert gaz.as_of("Sở TTTT", None) == "Sở Thông tin và Truyền thông"


def test_every_change_cites_its_source(gaz):
    for agency in gaz:
        if agency.successor:
            assert agency.source, agency.name
            assert agency.successor_from and len(agency.successor_from) == 10, agency.name
    entry = gaz.entry("Sở Lao động - Thương binh và Xã hội")
    assert "45/2025/NĐ-CP" in entry.source
    assert set(entry.functions_to) == {"Sở Y tế", "Sở Giáo dục và Đào tạo", "Sở Nông nghiệp và Môi trường"}
    assert "1672/NQ-UBTVQH15" in gaz.entry("UBND huyện Văn Lãng").source
    assert "verify" in gaz.entry("Báo Lạng Sơn").source_note
    assert gaz.entry("Ngành Y tế").parent == "Sở Y tế"
    assert gaz.entry("Lực lượng Công an").parent == "Công an tỉnh"


UNKNOWN = [
    ("Trung tâm Y tế huyện Bình Gia chủ trì, phối hợp với Hội Chữ thập đỏ tỉnh và Sở Tư pháp tổ chức khám",
     ["Trung tâm Y tế huyện Bình Gia", "Hội Chữ thập đỏ tỉnh"]),
    ("UBND xã Thiện Hòa tổ chức phun thuốc", ["UBND xã Thiện Hòa"]),
    ("Cục Quản lý thị trường tỉnh phối hợp kiểm tra", ["Cục Quản lý thị trường tỉnh"]),
    ("Liên đoàn Bóng đá tỉnh tham gia giải", ["Liên đoàn Bóng đá tỉnh"]),
    ("Ban Chỉ đạo, cơ chế điều hành và danh mục dự án", []),
    ("Sở Y tế chủ trì, phối hợp với Công an tỉnh", []),
]


@pytest.mark.parametrize("text, names", UNKNOWN)
def test_unknown_agency_names(gaz, text, names):
    assert gaz.unknown_agency_names(text) == names


def test_mentions_merge_known_and_unknown_in_order(gaz):
    found = gaz.mentions("Hội Chữ thập đỏ tỉnh và Sở Tư pháp")
    assert [(m.text, m.canonical) for m in found] == [("Hội Chữ thập đỏ tỉnh", None), ("Sở Tư pháp", "Sở Tư pháp")]


def test_conflicting_spellings_are_refused(tmp_path):
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["agencies"].append({"name": "Sở Thông tin Lạng Sơn", "kind": "department", "aliases": ["Sở TT&TT"]})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="Sở TT&TT"):
        Gazetteer.load(path)


def test_successor_must_exist(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("agencies:\n  - {name: Sở A, kind: department, successor: Sở B, successor_from: '2025-03-01'}\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match="Sở B"):
        Gazetteer.load(path)


def test_a_collective_names_its_members_by_known_kinds_only():
    from retrieval.errors import InputError

    gazetteer = Gazetteer.from_entries([{"name": "Sở A", "kind": "department"},
                                        {"name": "Các sở", "kind": "group", "members": ["department"]}])
    assert gazetteer.collectives_of("Sở A") == ("Các sở",) and gazetteer.collectives_of("Các sở") == ()
    with pytest.raises(InputError, match="unknown member kind 'sở'"):
        Gazetteer.from_entries([{"name": "Các sở", "kind": "group", "members": ["sở"]}])
