"""The command-line reader, run as users run it: readings on stdout, one error line per unreadable
file, exit code 2 when any failed, and the overlay and plot files written where promised."""
import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from handwriting import config
from handwriting.bench import synth
from handwriting.engine.decoding import decode
from handwriting.engine.recognition import Recognizer
from helpers import ROOT

pytestmark = [pytest.mark.slow]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory, mnist):
    """A PNG and a JPEG of numbers, a text file named like an image, and a frozen copy of the
    model: a checkpoint replaced mid-test must not make the command and the engine disagree."""
    folder = tmp_path_factory.mktemp("predict")
    model = folder / "model.keras"
    shutil.copyfile(config.settings().model_path, model)
    number = folder / "number.png"
    number.write_bytes(synth.number_image(mnist.x_test, mnist.y_test, seed=3, count=4, size=(600, 200)).data)
    lines = folder / "lines.jpg"
    sample = synth.generate("multiline", mnist.x_test, mnist.y_test, seed=3, index=0)
    Image.fromarray(decode(sample.data).image).save(lines, "JPEG", quality=92)
    notes = folder / "notes.png"
    notes.write_text("call back 0612345678\n")
    return {"folder": folder, "model": model, "number": number, "lines": lines, "notes": notes}


@pytest.fixture(scope="module")
def readings(files):
    """What the engine itself reads in each good file, with the same model file."""
    engine = Recognizer(files["model"])
    return {name: engine.read(files[name].read_bytes()) for name in ("number", "lines")}


def predict(files, *args):
    command = [sys.executable, "-m", "handwriting.predict", "--model", str(files["model"]), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def errors(result):
    """The command's own error lines; TensorFlow logs on stderr too."""
    return [line for line in result.stderr.splitlines() if ": error:" in line]


@pytest.fixture(scope="module")
def plain(files):
    folder = files["folder"]
    return predict(files, files["number"], files["lines"], files["notes"],
                   "--overlay", folder / "overlay.png", "--plot", folder / "plot.png")


def test_each_image_gets_its_reading_on_one_line(files, readings, plain):
    assert readings["number"].text and "\n" in readings["lines"].text  # the fixtures hold what they should
    expected = [f"{files[name]}: {' / '.join(readings[name].text.splitlines())}" for name in ("number", "lines")]
    assert plain.stdout.splitlines() == expected


def test_an_unreadable_file_is_one_error_line_and_exit_code_2(files, plain):
    assert plain.returncode == 2
    lines = errors(plain)
    assert len(lines) == 1, plain.stderr
    assert str(files["notes"]) in lines[0] and "not an image" in lines[0]
    assert "Traceback" not in plain.stderr


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE


def test_with_several_images_each_gets_its_own_overlay_and_plot(files, plain):
    folder = files["folder"]
    for stem in ("number", "lines"):
        overlay = folder / f"overlay-{stem}.png"
        assert is_png(overlay) and is_png(folder / f"plot-{stem}.png")
        source = files[stem]
        with Image.open(overlay) as drawn, Image.open(source) as original:
            assert drawn.size == original.size
            assert drawn.convert("RGB").tobytes() != original.convert("RGB").tobytes()  # boxes were drawn
    assert not (folder / "overlay.png").exists() and not (folder / "plot.png").exists()
    assert not (folder / "overlay-notes.png").exists() and not (folder / "plot-notes.png").exists()


def test_json_gives_one_parseable_reading_per_image(files, readings):
    result = predict(files, "--json", files["number"], files["lines"], files["notes"])
    assert result.returncode == 2 and len(errors(result)) == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["file"] for a in answers] == [str(files["number"]), str(files["lines"])]
    for answer, name in zip(answers, ("number", "lines")):
        reading = readings[name]
        assert answer["text"] == reading.text
        assert answer["count"] == len(answer["predictions"]) == len(reading.digits)
        assert [p["digit"] for p in answer["predictions"]] == [d.digit for d in reading.digits]
        assert [p["box"] for p in answer["predictions"]] == [d.box.to_dict() for d in reading.digits]
        assert all(len(p["alternatives"]) == 3 for p in answer["predictions"])
        assert answer["image"] == {"width": reading.width, "height": reading.height}


def test_with_one_image_the_overlay_and_plot_keep_their_names(files):
    folder = files["folder"]
    overlay, plot = folder / "single.png", folder / "chart.png"
    result = predict(files, files["number"], "--overlay", overlay, "--plot", plot)
    assert result.returncode == 0 and errors(result) == []
    assert is_png(overlay) and is_png(plot)
    with Image.open(plot) as chart:
        assert chart.width > 100 and chart.height > 100
