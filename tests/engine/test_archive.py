import zipfile

import pytest

from handwriting.engine import archive
from helpers import zipped

LIMITS = {"max_entries": 5, "max_bytes": 1_000_000, "max_ratio": 200}


def test_entries_keep_the_zip_order_and_skip_folders_and_macos_forks():
    data = zipped([("b.png", b"one"), ("pics/", b""), ("__MACOSX/pics/._a.png", b"x"), ("pics/._c.png", b"x"),
                 ("pics/a.png", b"two")])
    got = archive.entries(data, **LIMITS)
    assert [(e.name, e.data, e.error) for e in got] == [("b.png", b"one", ""), ("pics/a.png", b"two", "")]


def test_is_zip_knows_a_zip_and_an_empty_zip_from_an_image():
    assert archive.is_zip(zipped([("a", b"1")])) and archive.is_zip(zipped([]))
    assert not archive.is_zip(b"\x89PNG\r\n\x1a\n")


def test_an_empty_zip_has_no_entries():
    assert archive.entries(zipped([]), **LIMITS) == []


def test_too_many_files_are_refused_before_reading():
    data = zipped([(f"{i}.png", b"x") for i in range(6)])
    with pytest.raises(archive.TooManyEntries) as error:
        archive.entries(data, **LIMITS)
    assert error.value.code == "too_many_files"


def test_a_total_over_the_limit_is_refused():
    data = zipped([("a.bmp", b"\x00" * 600_000), ("b.bmp", b"\x01" * 600_000)], zipfile.ZIP_STORED)
    with pytest.raises(archive.TooLarge):
        archive.entries(data, **LIMITS)


def test_a_bomb_is_refused_by_its_ratio():
    data = zipped([("zeros.bmp", b"\x00" * 900_000)])
    assert len(data) < 5_000
    with pytest.raises(archive.Bomb) as error:
        archive.entries(data, **LIMITS)
    assert error.value.code == "zip_bomb"


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/passwd", "C:\\x.png", "a\\..\\b.png"])
def test_names_that_leave_their_folder_are_refused(name):
    with pytest.raises(archive.UnsafeName):
        archive.entries(zipped([("ok.png", b"1"), (name, b"2")]), **LIMITS)


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really", b"PK\x05\x06" + b"\x00" * 5])
def test_a_broken_zip_is_refused(data):
    with pytest.raises(archive.ArchiveError) as error:
        archive.entries(data, **LIMITS)
    assert error.value.code == "bad_zip"


def test_a_damaged_entry_is_refused_alone():
    data = bytearray(zipped([("a.png", b"first file"), ("b.png", b"second")], zipfile.ZIP_STORED))
    data[data.index(b"first file")] ^= 0xFF  # its checksum no longer matches
    got = archive.entries(bytes(data), **LIMITS)
    assert got[0].data is None and "cannot be unpacked" in got[0].error
    assert got[1] == archive.Entry("b.png", b"second")
