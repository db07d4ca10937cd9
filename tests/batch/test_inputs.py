import io
import zipfile

import pytest

from handwriting import config
from handwriting.batch import inputs
from handwriting.engine import decoding


def _names(items):
    return [item.name for item in items]


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    for name in ("a/2.png", "a/1.JPG", "a/deeper/3.webp", "a/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_a_folder_gives_its_images_recursively_sorted_and_nothing_else(tree):
    got = inputs.expand([tree / "a"], config.settings())
    assert _names(got) == [str(tree / p) for p in ("a/1.JPG", "a/2.png", "a/deeper/3.webp")]


def test_a_named_file_is_read_whatever_its_suffix_and_only_once(tree):
    notes = tree / "a" / "notes.txt"
    got = inputs.expand([notes, tree / "a" / "2.png", notes], config.settings())
    assert _names(got) == [str(notes), str(tree / "a" / "2.png")]


def test_globs_expand_recursively_and_a_miss_is_an_input_with_an_error(tree):
    got = inputs.expand([f"{tree}/**/*.webp", f"{tree}/*.gif"], config.settings())
    assert _names(got) == [str(tree / "a/deeper/3.webp"), f"{tree}/*.gif"]
    assert got[1].error[0] == "not_found"
    with pytest.raises(decoding.DecodeError) as error:
        inputs.load(got[1])
    assert error.value.code == "not_found"


def test_a_zip_gives_its_entries_named_under_it(tmp_path):
    path = tmp_path / "scans.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("one.png", b"1")
        z.writestr("sub/two.png", b"2")
    got = inputs.expand([tmp_path], config.settings())
    assert _names(got) == [f"{path}/one.png", f"{path}/sub/two.png"]
    assert [inputs.load(item) for item in got] == [b"1", b"2"]


def test_a_zip_is_known_by_its_bytes_and_refused_whole_past_the_limits(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(3):
            z.writestr(f"{i}.png", b"x")
    path = tmp_path / "upload.bin"
    path.write_bytes(buffer.getvalue())
    monkeypatch.setenv("HANDWRITING_MAX_FILES", "2")
    got = inputs.expand([path], config.settings())
    assert [(item.name, item.error[0]) for item in got] == [(str(path), "too_many_files")]


def test_a_missing_file_is_an_input_with_an_error_and_one_that_vanishes_raises_oserror(tmp_path):
    (missing,) = inputs.expand([tmp_path / "gone.png"], config.settings())
    assert missing.error[0] == "not_found"
    (tmp_path / "soon.png").write_bytes(b"x")
    (vanished,) = inputs.expand([tmp_path / "soon.png"], config.settings())
    (tmp_path / "soon.png").unlink()
    with pytest.raises(OSError):
        inputs.load(vanished)
