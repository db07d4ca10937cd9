"""On-the-fly augmentation that makes MNIST look like the digits cut out of real photos.

Works on float32 batches (B, 28, 28, 1) in [0, 1] inside a tf.data pipeline, so it runs in
parallel with training and never materialises an augmented copy of the data set.
"""
import math

import tensorflow as tf

CENTRE = 13.5


def _affine(images, max_angle, zoom, max_shear, max_shift):
    """One random rotation, zoom, shear and shift per image, applied in a single resampling."""
    n = tf.shape(images)[0]
    angle = tf.random.uniform([n], -max_angle, max_angle) * (math.pi / 180)
    scale = tf.random.uniform([n], 1 - zoom, 1 + zoom)
    shear = tf.random.uniform([n], -max_shear, max_shear)
    shift = tf.random.uniform([n, 2], -max_shift, max_shift)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output-to-input mapping: rotation times shear, both about the image centre.
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    a2 = CENTRE - a0 * CENTRE - a1 * CENTRE + shift[:, 0]
    b2 = CENTRE - b0 * CENTRE - b1 * CENTRE + shift[:, 1]
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _chosen(images, probability):
    """1 for a random share `probability` of the batch's images, else 0, shaped to scale them."""
    return tf.cast(tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < probability, tf.float32)


def _blend(images, target, probability, strength):
    """Move a random subset of images part of the way towards `target`."""
    n = tf.shape(images)[0]
    amount = tf.random.uniform([n, 1, 1, 1], 0.0, strength) * _chosen(images, probability)
    return images + amount * (target - images)


def _thickness(images, probability):
    """Thicken half of the chosen strokes and thin the other half, by a random fraction of a pixel."""
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    n = tf.shape(images)[0]
    thicken = tf.random.uniform([n, 1, 1, 1]) < 0.5
    target = tf.where(thicken, dilated, eroded)
    return _blend(images, target, probability, 0.8)


_GAUSS = tf.reshape(tf.constant([0.25, 0.5, 0.25]), [3, 1]) * tf.constant([[0.25, 0.5, 0.25]])
_GAUSS = tf.reshape(_GAUSS, [3, 3, 1, 1])


def _blur(images, probability):
    blurred = tf.nn.conv2d(images, _GAUSS, 1, "SAME")
    return _blend(images, blurred, probability, 1.0)


THIN_PROBABILITY = 0.25  # share of digits eroded by a whole pixel; partial thinning is _thickness's
# (at 0.12 and a random fraction of the erosion, a 3x3 erosion cost the model 28 points of accuracy)


def _thin(images, probability):
    """A whole pixel off every stroke: hairline pens and thin pencil reach the model this way, a
    faint, sometimes broken core that must still read."""
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    return images + _chosen(images, probability) * (eroded - images)


def _noise(images, probability, max_sigma):
    """Sensor grain and paper texture that survived segmentation."""
    sigma = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], 0.0, max_sigma) * _chosen(images, probability)
    return images + sigma * tf.random.normal(tf.shape(images))


ELASTIC_ALPHA = 34.0  # scale of the warp field: about 1.4 px of displacement on a 28x28 digit (Simard et al. 2003)
ELASTIC_SIGMA = 4.0  # smoothness of the warp field in pixels: strokes bend, they do not break (the same paper)


def _gaussian_kernels(sigma):
    """Separable Gaussian kernels, row and column, for a two-channel depthwise convolution."""
    radius = int(3 * sigma)
    taps = tf.exp(-tf.range(-radius, radius + 1, dtype=tf.float32) ** 2 / (2 * sigma ** 2))
    taps = taps / tf.reduce_sum(taps)
    return (tf.tile(tf.reshape(taps, [1, -1, 1, 1]), [1, 1, 2, 1]),
            tf.tile(tf.reshape(taps, [-1, 1, 1, 1]), [1, 1, 2, 1]))


def _sample(images, rows, cols):
    """Bilinear samples of (B, H, W, 1) images at float positions (B, H, W); outside is paper (0)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    flat = images[..., 0]
    batch = tf.broadcast_to(tf.range(shape[0])[:, None, None], tf.shape(rows))
    top, left = tf.floor(rows), tf.floor(cols)
    down, right = rows - top, cols - left

    def at(row, col):
        inside = (row >= 0) & (row <= tf.cast(height - 1, tf.float32)) & (col >= 0) & (col <= tf.cast(width - 1, tf.float32))
        row = tf.clip_by_value(tf.cast(row, tf.int32), 0, height - 1)
        col = tf.clip_by_value(tf.cast(col, tf.int32), 0, width - 1)
        return tf.gather_nd(flat, tf.stack([batch, row, col], -1)) * tf.cast(inside, tf.float32)

    return ((1 - down) * (1 - right) * at(top, left) + (1 - down) * right * at(top, left + 1)
            + down * (1 - right) * at(top + 1, left) + down * right * at(top + 1, left + 1))[..., None]


def _elastic(images, probability, alpha=ELASTIC_ALPHA, sigma=ELASTIC_SIGMA):
    """A smooth random warp of a share `probability` of the digits: the same digit bent as another
    hand bends it, which no affine map does (Simard, Steinkraus and Platt 2003)."""
    shape = tf.shape(images)
    field = tf.random.uniform(tf.stack([shape[0], shape[1], shape[2], 2]), -1.0, 1.0)
    along_rows, along_cols = _gaussian_kernels(sigma)
    field = tf.nn.depthwise_conv2d(field, along_rows, [1, 1, 1, 1], "SAME")
    field = tf.nn.depthwise_conv2d(field, along_cols, [1, 1, 1, 1], "SAME")
    field = field * alpha * _chosen(images, probability)
    rows, cols = tf.meshgrid(tf.range(shape[1], dtype=tf.float32), tf.range(shape[2], dtype=tf.float32), indexing="ij")
    return _sample(images, rows[None] + field[..., 0], cols[None] + field[..., 1])


def augment(images, max_angle=15.0, zoom=0.12, max_shear=0.25, max_shift=2.5, elastic=0.0):
    """The full training augmentation; strengths are the ranges the issue asks for. `elastic` is the
    share of digits warped first (train.py's --elastic)."""
    if elastic:
        images = _elastic(images, elastic)
    images = _affine(images, max_angle, zoom, max_shear, max_shift)
    images = _thickness(images, probability=0.5)
    images = _blur(images, probability=0.3)
    images = _thin(images, probability=THIN_PROBABILITY)
    images = _noise(images, probability=0.25, max_sigma=0.2)
    return tf.clip_by_value(images, 0.0, 1.0)
