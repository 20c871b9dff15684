"""The archive's dev / held-out split: fixed by file name, at least 35 % held out, samples in dev."""
from __future__ import annotations

from conftest import CORPUS, SHARED
from retrieval.goldset.split import DEV, HELDOUT, archive_pages, split_of

ARCHIVE = SHARED / "archive"


def test_at_least_a_third_of_the_archive_is_held_out():
    pages = archive_pages(ARCHIVE)
    assert len(pages) >= 27
    held = [p for p in pages if split_of(p) == HELDOUT]
    assert len(held) / len(pages) >= 0.35
    # Both families are represented on each side: Lạng Sơn pages and other provinces.
    for part in (DEV, HELDOUT):
        folders = {p.parent.name for p in pages if split_of(p) == part}
        assert folders == {"langson", "provinces"}, (part, folders)


def test_the_split_depends_on_the_file_name_only(tmp_path):
    page = ARCHIVE / "langson" / "2022-05-09-vanphong-71532.txt"
    moved = tmp_path / "elsewhere" / page.name
    assert split_of(page) == split_of(moved) == split_of(page.name)


def test_the_sample_bulletins_are_dev():
    assert all(split_of(p) == DEV for p in CORPUS.glob("*.txt"))
