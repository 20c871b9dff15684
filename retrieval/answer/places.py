"""Vietnam's provinces and centrally-run cities other than Lạng Sơn, found in folded text.

A question about another province's directives is not answered by Lạng Sơn's, however well
its topic matches: the abstention model reads whether a question names such a place that the
passage it would answer from does not name.
"""
from __future__ import annotations

import re

from retrieval.text import fold

# The 63 units before the 2025 merger, Lạng Sơn left out (the 34 after it keep names from this list).
OTHER_PROVINCES = (
    "Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Hà Giang", "Cao Bằng", "Bắc Kạn",
    "Tuyên Quang", "Lào Cai", "Điện Biên", "Lai Châu", "Sơn La", "Yên Bái", "Hòa Bình", "Thái Nguyên",
    "Quảng Ninh", "Bắc Giang", "Phú Thọ", "Vĩnh Phúc", "Bắc Ninh", "Hải Dương", "Hưng Yên", "Thái Bình",
    "Hà Nam", "Nam Định", "Ninh Bình", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Bình", "Quảng Trị",
    "Thừa Thiên Huế", "Quảng Nam", "Quảng Ngãi", "Bình Định", "Phú Yên", "Khánh Hòa", "Ninh Thuận",
    "Bình Thuận", "Kon Tum", "Gia Lai", "Đắk Lắk", "Đắk Nông", "Lâm Đồng", "Bình Phước", "Tây Ninh",
    "Bình Dương", "Đồng Nai", "Bà Rịa - Vũng Tàu", "Long An", "Tiền Giang", "Bến Tre", "Trà Vinh",
    "Vĩnh Long", "Đồng Tháp", "An Giang", "Kiên Giang", "Hậu Giang", "Sóc Trăng", "Bạc Liêu", "Cà Mau",
)
# Names that are also ordinary words count only after "tỉnh": "hòa bình" is peace.
_NEEDS_PROVINCE_WORD = {"hoa binh"}
_ALIASES = {"tp hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh", "hue": "thua thien hue",
            "dak lak": "dak lak", "daklak": "dak lak", "vung tau": "ba ria vung tau"}


def _folded(name: str) -> str:
    return " ".join(re.findall(r"\w+", fold(name)))


_NAMES = {_folded(n): _folded(n) for n in OTHER_PROVINCES} | _ALIASES
_PATTERN = re.compile(r"(?<!\w)(tinh |thanh pho |tp )?(" + "|".join(
    sorted(map(re.escape, _NAMES), key=len, reverse=True)) + r")(?!\w)")


def provinces_in(text: str) -> set[str]:
    """Other provinces a text names (folded canonical names): "Thái Bình", "tinh quang nam", "TP.HCM"."""
    # "Lạng Sơn là …" must not read as "Sơn La".
    folded = re.sub(r"\blang son\b", "#", " ".join(re.findall(r"\w+", fold(text))))
    found = set()
    for m in _PATTERN.finditer(folded):
        name = _NAMES[m.group(2)]
        if name in _NEEDS_PROVINCE_WORD and not m.group(1):
            continue
        found.add(name)
    return found
