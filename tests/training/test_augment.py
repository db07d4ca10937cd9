"""The training augmentation on tiny arrays: thinning takes off the whole pixel a hairline pen lacks."""
import numpy as np
import tensorflow as tf

from handwriting.training import augment


def bars(n):
    """n images of one vertical stroke 3 px wide, full ink."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 4:24, 12:15] = 1.0
    return tf.constant(images)


def test_thinning_takes_a_whole_pixel_off_each_side_and_keeps_the_core():
    tf.random.set_seed(0)
    thinned = augment._thin(bars(400), probability=augment.THIN_PROBABILITY).numpy()
    edges, core = thinned[:, 6:22, [12, 14], 0], thinned[:, 6:22, 13, 0]
    assert np.allclose(core, 1.0)
    eroded = (edges == 0).all(axis=(1, 2))
    assert np.all(eroded | (edges == 1).all(axis=(1, 2)))  # each image eroded outright or left alone
    assert abs(eroded.mean() - augment.THIN_PROBABILITY) < 0.07


def test_thinning_leaves_the_unchosen_images_as_they_are():
    images = bars(8)
    assert np.array_equal(augment._thin(images, probability=0.0).numpy(), images.numpy())


def test_augmented_batch_keeps_its_shape_and_range():
    tf.random.set_seed(1)
    out = augment.augment(bars(16)).numpy()
    assert out.shape == (16, 28, 28, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.sum() > 0


def test_elastic_leaves_the_unchosen_digits_as_they_are():
    images = bars(8)
    assert np.allclose(augment._elastic(images, probability=0.0).numpy(), images.numpy())


def test_elastic_bends_a_stroke_by_a_few_pixels_and_keeps_its_ink():
    tf.random.set_seed(2)
    images = bars(64)
    warped = augment._elastic(images, probability=1.0).numpy()
    assert warped.min() >= 0.0 and warped.max() <= 1.0 + 1e-6
    assert not np.allclose(warped, images.numpy())
    ink = warped.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert np.all((ink > 0.4) & (ink < 2.0)) and abs(ink.mean() - 1) < 0.1  # a stroke thins here, thickens there
    columns = (warped[..., 0].sum(axis=1) * np.arange(28)).sum(axis=1) / warped[..., 0].sum(axis=(1, 2))
    assert np.all(np.abs(columns - 13.0) < 4.0)  # bent by a few pixels, never moved across the digit
