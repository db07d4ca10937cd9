"""Grad-CAM: which parts of a 28x28 crop made the model choose its digit.

Served from the model's Grad-CAM graph (NAME.gradcam.onnx), which training exports from
TensorFlow's Grad-CAM (handwriting.training.export): the gradient of the class's logit with
respect to the last feature map at least 7 cells wide weighs that map's channels.
"""
import cv2
import numpy as np

from handwriting.engine import model_io, runtime
from handwriting.engine.model_io import INPUT_SHAPE, to_batch


class NotExplainable(ValueError):
    """The model has no convolutional feature map to explain (the linear baseline)."""


class GradCam:
    """Heatmaps for a batch of crops, from the Grad-CAM graph exported beside a model."""

    def __init__(self, model_path, threads=1, reason=None):
        """`reason`: why the model has no Grad-CAM graph, as its export recorded it, if it said."""
        path = model_io.gradcam_path(model_path)
        if reason or not path.is_file():
            raise NotExplainable(reason or f"{path.name} is missing: export the model with {runtime.EXPORT_COMMAND}")
        self.graph = runtime.load(path, model_path, threads)

    def __call__(self, crops, classes):
        """Heatmaps (N, 28, 28) in [0, 1] for uint8 crops (N, 28, 28) and the class of each, in
        calls of the graph's fixed batch, the last one padded with blank crops."""
        batch, count = self.graph.batch, len(crops)
        images, classes = to_batch(crops), np.asarray(classes, np.int32)
        padding = -count % batch
        images = np.concatenate([images, np.zeros((padding, *INPUT_SHAPE), np.float32)])
        classes = np.concatenate([classes, np.zeros(padding, np.int32)])
        parts = [np.zeros((0, *INPUT_SHAPE[:2]), np.float32)] + [
            self.graph.predict(images[start: start + batch], classes[start: start + batch])
            for start in range(0, len(images), batch)
        ]
        return np.concatenate(parts)[:count]


def overlay(crop, heatmap):
    """The heatmap in colour over the crop, as RGB uint8 of the crop's shape."""
    colour = cv2.applyColorMap(np.uint8(np.clip(heatmap, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    grey = np.repeat(crop[..., None], 3, axis=2).astype(np.float32)
    return np.uint8(np.clip(0.55 * grey + 0.45 * colour, 0, 255))
