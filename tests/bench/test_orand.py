"""`python -m handwriting.bench --orand`, issue #15: what it scores and prints. The split itself is
tested with the data sets (tests/training/test_datasets.py)."""
import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from handwriting.bench import accuracy, orand
from handwriting.training import datasets
from helpers import MODEL, run_module


class Reader:
    """Reads back the text it was told for each image, keyed by the image's pixels, as the engine would."""

    def __init__(self, answers):
        self.answers = answers

    def read(self, data):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        return SimpleNamespace(digits_text=self.answers[image.tobytes()])


def string(image_id, label, shade):
    image = np.full((40, 100), 220, np.uint8)
    image[10:30, 10:10 + 15 * len(label)] = shade
    return datasets.OrandString(image_id, image, label, np.zeros((len(label), 4), np.int32))


def test_exact_strings_are_counted_and_line_breaks_do_not_matter():
    strings = [string("a", "1250", 0), string("b", "300", 40), string("c", "77", 80), string("d", "4018", 120)]
    reader = Reader({strings[0].image.tobytes(): "1250", strings[1].image.tobytes(): "30\n0",
                     strings[2].image.tobytes(): "71", strings[3].image.tobytes(): ""})
    results = orand.read_strings(reader, strings)  # each image went through PNG bytes and back unchanged
    assert [r.got for r in results] == ["1250", "300", "71", ""]
    result = accuracy.scored(results, orand.TARGET)
    assert result["images"] == 4 and result["strings"] == 0.5
    assert result["digits"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert [f["name"] for f in result["failures"]] == ["c", "d"]


def test_png_is_the_grey_image_losslessly():
    image = np.random.default_rng(0).integers(0, 256, (33, 57), dtype=np.uint8)
    data = orand.png(image)
    assert data.startswith(b"\x89PNG")
    assert np.array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), image)


@pytest.mark.slow
def test_orand_on_a_few_validation_strings_prints_a_table(tmp_path):
    """The real data: in CI the folder is there, so its absence fails the run."""
    out = tmp_path / "orand.json"
    result = run_module("handwriting.bench", "--orand", "--n", "5", "--model", MODEL, "--json", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ORAND-CAR-A validation" in result.stdout and "≥ 90 %" in result.stdout
    report = json.loads(out.read_text())
    assert report["validation"]["images"] == 5 and report["split"] == {"share": 0.2, "seed": 2014}
    validation = datasets.orand_strings(datasets.default_root())[1]
    assert {f["name"] for f in report["validation"]["failures"]} <= {s.image_id for s in validation[:5]}
