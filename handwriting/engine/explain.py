"""Grad-CAM: which parts of a 28x28 crop made the model choose its digit.

The class score is the logit (the input of the final softmax), not the probability: a digit read
at 99.9 % has an almost flat softmax, and its gradients would vanish.
"""
import cv2
import numpy as np

from handwriting.engine.model_io import INPUT_SHAPE, to_batch

MIN_SIDE = 7  # the feature map explained is the last one at least this many cells wide


class NotExplainable(ValueError):
    """The model has no convolutional feature map to explain (the linear baseline)."""


def feature_layer(model):
    """The last layer with a spatial feature map of at least MIN_SIDE cells: fine enough to show
    strokes, and deep enough to mean something."""
    for layer in reversed(model.layers[1:]):
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if shape and len(shape) == 4 and min(shape[1], shape[2]) >= MIN_SIDE:
            return layer
    raise NotExplainable(f"the {model.name} model has no convolutional layers to explain")


class GradCam:
    """Heatmaps for a batch of crops in one compiled call, built once per model."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        head = model.layers[-1]
        if not isinstance(head, keras.layers.Dense):
            raise NotExplainable(f"the {model.name} model does not end in a dense layer")
        features = feature_layer(model)
        probe = keras.Model(model.inputs, [features.output, head.input])

        def heatmaps(images, classes):
            with tf.GradientTape() as tape:
                maps, penultimate = probe(images, training=False)
                tape.watch(maps)
                logits = tf.matmul(penultimate, head.kernel) + head.bias
                score = tf.gather(logits, classes, axis=1, batch_dims=1)
            weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
            signed = tf.reduce_sum(weights * maps, axis=-1, keepdims=True)
            cam = tf.nn.relu(signed)
            # Where no cell speaks for the class, show where the evidence lies at all, rather than
            # an empty map: a model sure of a digit can weigh every cell against the others.
            silent = tf.reduce_max(cam, axis=(1, 2, 3), keepdims=True) <= 0
            cam = tf.where(silent, tf.abs(signed), cam)
            cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0]
            peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
            return tf.math.divide_no_nan(cam, peak)

        self._heatmaps = tf.function(
            heatmaps,
            input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32), tf.TensorSpec([None], tf.int32)],
        )

    def __call__(self, crops, classes):
        """Heatmaps (N, 28, 28) in [0, 1] for uint8 crops (N, 28, 28) and the class of each."""
        if len(crops) == 0:
            return np.zeros((0, *INPUT_SHAPE[:2]), np.float32)
        return self._heatmaps(to_batch(crops), np.asarray(classes, np.int32)).numpy()


def overlay(crop, heatmap):
    """The heatmap in colour over the crop, as RGB uint8 of the crop's shape."""
    colour = cv2.applyColorMap(np.uint8(np.clip(heatmap, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    grey = np.repeat(crop[..., None], 3, axis=2).astype(np.float32)
    return np.uint8(np.clip(0.55 * grey + 0.45 * colour, 0, 255))

