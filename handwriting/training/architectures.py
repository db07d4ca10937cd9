"""Digit classifiers: each architecture is a function that returns an uncompiled Keras model.

Every model keeps the contract of handwriting.engine.model_io: float32 images (28, 28, 1) in
[0, 1] in, softmax probabilities of the ten digits and "not one digit" out (pairs of touching
digits, stray strokes; see composition.py).
"""
import keras
from keras import layers

from handwriting.engine.model_io import CLASSES, INPUT_SHAPE

OUTPUTS = len(CLASSES)  # one softmax probability per class


def _conv(x, filters, kernel, strides=1, padding="same"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x)


def linear():
    """Softmax regression on the pixels: the baseline every other model must beat."""
    inputs = keras.Input(INPUT_SHAPE)
    outputs = layers.Dense(OUTPUTS, activation="softmax")(layers.Flatten()(inputs))
    return keras.Model(inputs, outputs, name="linear")


def cnn():
    """Two stages of Conv-BN-ReLU with a learned strided downsampling, then a 4x4 head."""
    inputs = keras.Input(INPUT_SHAPE)
    x = inputs
    for filters in (32, 64):
        x = _conv(x, filters, 3)
        x = _conv(x, filters, 3)
        x = _conv(x, filters, 5, strides=2)
        x = layers.Dropout(0.4)(x)
    x = _conv(x, 128, 4, padding="valid")
    x = layers.Dropout(0.4)(layers.Flatten()(x))
    outputs = layers.Dense(OUTPUTS, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cnn")


def _separable(x, filters, strides=1):
    x = layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x)


def advanced():
    """Depthwise-separable blocks with residual links: fewer parameters for the same depth."""
    inputs = keras.Input(INPUT_SHAPE)
    x = _conv(inputs, 32, 3)
    for filters in (64, 128):
        shortcut = layers.Conv2D(filters, 1, strides=2, use_bias=False)(x)
        x = _separable(x, filters)
        x = _separable(x, filters, strides=2)
        x = layers.Add()([x, layers.BatchNormalization()(shortcut)])
        x = layers.Dropout(0.3)(x)
    x = _separable(x, 256)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(OUTPUTS, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="advanced")


ARCHITECTURES = {"linear": linear, "cnn": cnn, "advanced": advanced}


def build(arch):
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch]()
