"""Ink on tiny hand-made images: which side of the background the ink is on, how strong it is
against the paper, and which of it the hysteresis threshold keeps."""
import numpy as np

from handwriting.engine.ink import binarise, dark_ink, ink_contrast, is_flat


def drawing(ink, paper):
    """A 60x80 drawing: a 6-px stroke and a ring of `ink` on `paper`."""
    grey = np.full((60, 80), paper, np.uint8)
    grey[10:50, 20:26] = ink
    grey[15:45, 45:70] = ink
    grey[21:39, 51:64] = paper
    return grey


def test_a_drawing_is_flat_and_a_lit_photo_is_not():
    assert is_flat(drawing(0, 255))
    shaded = np.linspace(120, 230, 80)[None, :] + np.random.default_rng(0).normal(0, 4, (60, 80))
    assert not is_flat(shaded.clip(0, 255).astype(np.uint8))


def test_light_ink_on_a_dark_drawing_is_turned_dark():
    dark = drawing(0, 255)
    assert np.array_equal(dark_ink(dark, flat=True), dark)
    assert np.array_equal(dark_ink(drawing(255, 0), flat=True), dark)
    assert np.array_equal(dark_ink(drawing(200, 30), flat=True), 255 - drawing(200, 30))


def test_a_photo_of_dark_ink_on_light_paper_stays_as_it_is():
    photo = (drawing(40, 220).astype(float) + np.random.default_rng(1).normal(0, 3, (60, 80))).clip(0, 255)
    photo = photo.astype(np.uint8)
    assert np.array_equal(dark_ink(photo, flat=False), photo)


def test_contrast_is_strong_on_the_ink_and_none_on_the_paper():
    contrast = ink_contrast(drawing(0, 255), flat=True)
    assert contrast.dtype == np.float32 and contrast.shape == (60, 80)
    assert np.allclose(contrast[10:50, 20:26], 1.0) and np.allclose(contrast[:5], 0.0)
    grey = drawing(155, 255)
    assert np.allclose(ink_contrast(grey, flat=True)[10:50, 20:26], 100 / 255)


def test_weak_ink_is_kept_only_where_it_touches_strong_ink():
    """A strong stroke with a faint tail, and a faint mark on its own: the tail is the stroke's
    pencil end, the lone mark is show-through from the back of the page."""
    contrast = np.zeros((60, 80), np.float32)
    contrast[10:50, 10:16] = 0.8
    contrast[45:50, 16:30] = 0.3
    contrast[20:30, 50:60] = 0.3
    mask = binarise(contrast, flat=True)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert mask[10:50, 10:16].all() and mask[45:50, 16:30].all()
    assert not mask[20:30, 50:60].any() and not mask[:, 30:].any()
