import numpy as np
import pytest

from handwriting.pages import glyphs


def square(side=21, size=28):
    source = np.zeros((size, size), np.uint8)
    start = (size - side) // 2
    source[start:start + side, start:start + side] = 255
    return source


def bar(size=28):
    source = np.zeros((size, size), np.uint8)
    source[4:24, 12:16] = 255
    return source


def test_thinning_leaves_the_centre_line_of_a_bar():
    mask = np.zeros((12, 7), bool)
    mask[1:11, 2:5] = True
    thinned = glyphs._thin(mask)
    assert thinned.any()
    assert set(np.flatnonzero(thinned.any(0))) == {3}


@pytest.mark.parametrize("width", [None, 1.0, 3.0, 8.0])
@pytest.mark.parametrize("make", [square, bar])
def test_every_source_gives_ink_of_the_asked_height_even_a_square_thinning_erases(make, width):
    ink = glyphs.glyph(np.random.default_rng(0), make(), 49.0, width)
    assert ink.dtype == np.float32 and ink.max() > 0.5
    assert 0.8 * 49 <= ink.shape[0] <= 1.3 * 49 + 2 * (width or 0)
