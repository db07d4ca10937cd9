"""The command-line reader, run as users run it: readings on stdout, one error line per unreadable
file, exit code 2 when any failed, and the overlay and plot files written where promised."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import pytest
from PIL import Image

from handwriting import config
from handwriting.pages import synth
from handwriting.engine.decoding import decode
from handwriting.engine.recognition import Recognizer
from handwriting.predict import label_places
from helpers import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory, mnist):
    """A PNG and a JPEG of numbers, a text file named like an image, and a frozen copy of the
    model: a checkpoint replaced mid-test must not make the command and the engine disagree."""
    folder = tmp_path_factory.mktemp("predict")
    shipped = config.settings().model_path
    for sibling in shipped.parent.glob(f"{shipped.stem}.*"):  # its card and runtime artifacts too
        shutil.copyfile(sibling, folder / sibling.name.replace(shipped.stem, "model", 1))
    model = folder / "model.keras"
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


@pytest.mark.slow
def test_each_image_gets_its_reading_on_one_line(files, readings, plain):
    assert readings["number"].text and "\n" in readings["lines"].text  # the fixtures hold what they should
    expected = [f"{files[name]}: {' / '.join(readings[name].text.splitlines())}" for name in ("number", "lines")]
    assert plain.stdout.splitlines() == expected


@pytest.mark.slow
def test_an_unreadable_file_is_one_error_line_and_exit_code_2(files, plain):
    assert plain.returncode == 2
    lines = errors(plain)
    assert len(lines) == 1, plain.stderr
    assert str(files["notes"]) in lines[0] and "not an image" in lines[0]
    assert "Traceback" not in plain.stderr


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_with_one_image_the_overlay_and_plot_keep_their_names(files):
    folder = files["folder"]
    overlay, plot = folder / "single.png", folder / "chart.png"
    result = predict(files, files["number"], "--overlay", overlay, "--plot", plot)
    assert result.returncode == 0 and errors(result) == []
    assert is_png(overlay) and is_png(plot)
    with Image.open(plot) as chart:
        assert chart.width > 100 and chart.height > 100


@pytest.mark.slow
def test_a_model_is_chosen_by_the_name_the_api_lists(files, readings):
    """`--model digit_linear` as `model=digit_linear` in the API; an unknown name is refused with the names."""
    command = [sys.executable, "-m", "handwriting.predict", files["number"], "--model"]
    run = lambda *args: subprocess.run([*command, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    named = run("digit_linear", "--json")
    assert named.returncode == 0, named.stderr
    linear = Recognizer(config.ROOT / "models" / "digit_linear.keras").read(files["number"].read_bytes())
    assert json.loads(named.stdout)["text"] == linear.text
    unknown = run("digit_nothing")
    assert unknown.returncode == 2 and "digit_cnn" in errors(unknown)[-1] and "digit_nothing" in errors(unknown)[-1]


def rectangles_apart(rectangles):
    return all(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
               for i, a in enumerate(rectangles) for b in rectangles[i + 1:])


def test_labels_wider_than_their_boxes_never_overlap_and_stay_on_the_canvas():
    """A row of narrow digits (ones) touching each other, two rows close together, and digits at
    every edge of the canvas: each label is whole on the canvas and apart from every other."""
    width, height = 200, 90
    boxes = [(x, 30, x + 8, 60) for x in range(0, 200, 9)] + [(0, 0, 10, 20), (190, 70, 200, 90)]
    sizes = [[(40, 14), (12, 14)]] * len(boxes)
    places = label_places(boxes, sizes, width, height)
    shown = [rect for place in places if place for rect in [place[1]]]
    assert len(shown) >= len(boxes) // 2, places  # room for many, if not all
    assert rectangles_apart(shown)
    assert all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in shown)
    for place, size in zip(places, sizes):
        if place:
            variant, (x0, y0, x1, y1) = place
            assert (x1 - x0, y1 - y0) == size[variant]


def test_a_label_goes_above_its_box_when_there_is_room_and_inside_the_canvas_at_the_edges():
    places = label_places([(50, 40, 80, 80), (0, 0, 30, 40), (170, 60, 200, 100)], [[(40, 12)]] * 3, 200, 100)
    assert places[0] == (0, (45, 28, 85, 40))  # centred above
    assert places[1][1][1] == 40 and places[1][1][0] == 0  # no room above: below, at the left edge
    assert places[2][1][2] == 200 and places[2][1][3] == 60  # above, slid in from the right edge


@pytest.fixture(scope="module")
def many(files, tmp_path_factory):
    """A folder of 24 numbers (a subfolder of them zipped), the inputs a batch user points at."""
    folder = tmp_path_factory.mktemp("many")
    (folder / "sub").mkdir()
    for i in range(16):
        shutil.copyfile(files["number" if i % 2 else "lines"], folder / f"{i:02d}.{'png' if i % 2 else 'jpg'}")
    with zipfile.ZipFile(folder / "sub" / "scans.zip", "w") as archive:
        for i in range(8):
            archive.writestr(f"scan-{i}.png", files["number"].read_bytes())
    return folder


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_a_folder_with_a_zip_goes_to_jsonl_and_a_glob_to_csv_each_input_once(files, many, readings, tmp_path):
    out = tmp_path / "out.jsonl"
    result = predict(files, many, "--jsonl", out)
    assert result.returncode == 0, result.stderr
    got = records(out)
    names = [str(many / f"{i:02d}.{'png' if i % 2 else 'jpg'}") for i in range(16)]
    assert [r["file"] for r in got] == names + [f"{many}/sub/scans.zip/scan-{i}.png" for i in range(8)]
    assert all(r["success"] and r["text"] == readings["number"].text for r in got[16:])
    table = tmp_path / "out.csv"
    result = predict(files, f"{many}/*.png", "--csv", table)
    assert result.returncode == 0 and "8 inputs read" in result.stderr
    rows = table.read_text().splitlines()
    assert rows[0].startswith("file,text,digits_text") and len(rows) == 1 + 8


@pytest.mark.slow
def test_an_interrupted_run_resumed_reads_only_what_is_missing(files, many, tmp_path):
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "handwriting.predict", "--model", str(files["model"]), str(many), "--jsonl", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while process.poll() is None and (not out.exists() or len(out.read_bytes().splitlines()) < 3):
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = len(records(out))
    assert 3 <= before < 24, "the run was to be killed part-way"
    resumed = predict(files, many, "--jsonl", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} inputs already in {out}; reading the other {24 - before}" in resumed.stderr
    names = [r["file"] for r in records(out)]
    assert len(names) == len(set(names)) == 24


@pytest.mark.slow
def test_two_workers_write_what_one_process_writes(files, many, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert predict(files, many, "--jsonl", one).returncode == 0
    assert predict(files, many, "--jsonl", two, "--workers", "2").returncode == 0
    assert sorted(map(json.dumps, records(two))) == sorted(map(json.dumps, records(one)))


def test_resume_without_an_output_and_drawing_in_workers_are_refused(files):
    for args in (["--resume"], ["--workers", "2", "--overlay", "o.png"]):
        result = predict(files, files["number"], *args)
        assert result.returncode == 2 and len(errors(result)) == 1
