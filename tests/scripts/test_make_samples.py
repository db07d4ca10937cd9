"""The shipped sample images: what scripts/make_samples.py composes, read as the README says, and the
only images the README's examples use."""
import re

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT
from scripts import make_samples

READ_AS = {"digits.png": "721041", "numbers.png": "12.50\n-42"}  # the README's examples show these readings


def test_the_shipped_samples_are_what_the_script_composes(mnist):
    composed = make_samples.samples(mnist)
    assert set(composed) == set(READ_AS)
    for name, image in composed.items():
        shipped = np.asarray(Image.open(ROOT / "samples" / name))
        assert shipped.dtype == np.uint8 and np.array_equal(shipped, image), name


@pytest.mark.parametrize("name", sorted(READ_AS))
def test_the_engine_reads_each_sample_as_the_readme_shows(recognizer, name):
    assert recognizer.read((ROOT / "samples" / name).read_bytes()).text == READ_AS[name]


def test_every_image_the_readme_sends_or_reads_is_shipped():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "curl" in line or "handwriting.predict" in line
                or "base64 -w0" in line]
    images = {match for line in commands for match in re.findall(r"[\w./-]+\.(?:png|jpe?g|tiff?|gif|bmp|webp)\b", line)
              if not match.startswith(("out.", "probs."))}
    assert {"samples/digits.png", "samples/numbers.png"} <= images
    assert all((ROOT / image).is_file() for image in images), sorted(images)
