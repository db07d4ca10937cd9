"""Export models for serving: `python -m handwriting.training.export [MODEL.keras ...]` (see --help).

Serving runs ONNX Runtime, not TensorFlow (handwriting.engine.runtime). Beside each `.keras` model,
which stays the source of truth, this writes `NAME.onnx`: the model for a batch of any size,
answering probabilities (a softmax appended to a model that answers logits, as the line model
does); and for a digit model with a convolutional feature map, `NAME.gradcam.onnx`: TensorFlow's
Grad-CAM below, heatmaps and all, for a fixed batch of GRADCAM_BATCH crops. Each artifact records
the digest of its `.keras` file and is checked against Keras before it replaces the previous one.
Training and fine-tuning publish through `publish`, so that no model lands without its artifacts.
"""
import functools
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from handwriting import cli, config
from handwriting.engine import model_io, runtime
from handwriting.engine.explain import NotExplainable

OPSET = 17  # ONNX operator set: every operator these models use, run by any ONNX Runtime since 1.11
# The Grad-CAM graph's fixed batch: tf2onnx cannot convert the gradient of a mean over a batch of
# unknown size, and a batch of 16 covers most readings in one call.
GRADCAM_BATCH = 16
MIN_SIDE = 7  # the feature map explained is the last one at least this many cells wide
# Largest difference allowed between an artifact's answers and Keras' on the check batch: ONNX
# Runtime orders its sums differently, about 1e-6 apart on the shipped models.
PARITY_TOLERANCE = 1e-4
# Heatmaps are divided by their own peak, so a float's rounding in a faint map (an untrained
# model's, say) grows with it: a map is checked for where it points, at a few hundredths.
GRADCAM_TOLERANCE = 0.05
CHECK_IMAGES = 64  # random images each artifact is checked on before it is published
CHECK_SEED = 0


def feature_layer(model):
    """The last layer with a spatial feature map of at least MIN_SIDE cells: fine enough to show
    strokes, and deep enough to mean something."""
    for layer in reversed(model.layers[1:]):
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if shape and len(shape) == 4 and min(shape[1], shape[2]) >= MIN_SIDE:
            return layer
    raise NotExplainable(f"the {model.name} model has no convolutional layers to explain")


def gradcam_function(model, batch=None):
    """Grad-CAM as a tf.function of (images (batch, 28, 28, 1), classes (batch,)): heatmaps
    (batch, 28, 28) in [0, 1]. The class score is the logit (the input of the final softmax), not
    the probability: a digit read at 99.9 % has an almost flat softmax, and its gradients would
    vanish. Raises NotExplainable for a model without convolutions."""
    import keras
    import tensorflow as tf

    head = model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        raise NotExplainable(f"the {model.name} model does not end in a dense layer")
    probe = keras.Model(model.inputs, [feature_layer(model).output, head.input])

    def heatmaps(images, classes):
        with tf.GradientTape() as tape:
            maps, penultimate = probe(images, training=False)
            tape.watch(maps)
            logits = tf.matmul(penultimate, head.kernel) + head.bias
            score = tf.gather(logits, classes, axis=1, batch_dims=1)
        weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
        signed = tf.reduce_sum(weights * maps, axis=-1, keepdims=True)
        cam = tf.nn.relu(signed)
        # Where no cell speaks for the class, show where the evidence lies at all, rather than an
        # empty map: a model sure of a digit can weigh every cell against the others.
        silent = tf.reduce_max(cam, axis=(1, 2, 3), keepdims=True) <= 0
        cam = tf.where(silent, tf.abs(signed), cam)
        cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        return tf.math.divide_no_nan(cam, peak)

    signature = [tf.TensorSpec([batch, *model_io.INPUT_SHAPE], tf.float32), tf.TensorSpec([batch], tf.int32)]
    return tf.function(heatmaps, input_signature=signature)


def probabilities_function(model):
    """The model as a tf.function of a batch of any size, answering probabilities."""
    import keras
    import tensorflow as tf

    answers_logits = getattr(model.layers[-1], "activation", None) is not keras.activations.softmax
    signature = [tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)]
    if answers_logits:
        return tf.function(lambda x: tf.nn.softmax(model(x, training=False)), input_signature=signature)
    return tf.function(lambda x: model(x, training=False), input_signature=signature)


def is_digit_model(model):
    return tuple(model.input_shape[1:]) == model_io.INPUT_SHAPE and tuple(model.output_shape[1:]) == (len(model_io.CLASSES),)


@functools.cache
def _tf2onnx():
    """tf2onnx, made to work with NumPy 2 as Keras' own ONNX export does, with the two gradient
    operators of Grad-CAM that it has no converter for."""
    from keras.src.export.tf2onnx_lib import patch_tf2onnx
    from onnx import TensorProto
    import tf2onnx
    from tf2onnx.handler import tf_op

    with warnings.catch_warnings():  # its test for np.object warns under NumPy 2, which it patches for
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()

    @tf_op("ReluGrad")
    class ReluGrad:  # the gradient of ReLU: the incoming gradient where the features are positive
        @classmethod
        def version_1(cls, ctx, node, **kwargs):
            gradients, features = node.input
            zero = ctx.make_const(tf2onnx.utils.make_name("zero"), np.zeros((), np.float32)).output[0]
            positive = ctx.make_node("Greater", [features, zero]).output[0]
            mask = ctx.make_node("Cast", [positive], attr={"to": TensorProto.FLOAT}).output[0]
            node.type = "Mul"
            ctx.replace_inputs(node, [gradients, mask])

    @tf_op("ShapeN")
    class ShapeN:  # the shapes of several tensors at once: one Shape each
        @classmethod
        def version_1(cls, ctx, node, **kwargs):
            for index, tensor in enumerate(node.input):
                shape = ctx.make_node("Shape", [tensor]).output[0]
                cast = ctx.make_node("Cast", [shape], attr={"to": ctx.get_dtype(node.output[index])}).output[0]
                ctx.replace_all_inputs(node.output[index], cast)
            ctx.remove_node(node.name)

    return tf2onnx


def _convert(function, path, source, extra):
    """`function` converted to ONNX, recording the digest of its `.keras` file, written to a hidden
    file beside `path`; returns that file, for the caller to check and move into place."""
    proto, _ = _tf2onnx().convert.from_function(function, input_signature=function.input_signature, opset=OPSET)
    for key, value in {model_io.SOURCE_DIGEST: source, **extra}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(proto.SerializeToString())
    return partial


def _check(partial, reference, inputs, tolerance=PARITY_TOLERANCE):
    """Raise when the graph at `partial` answers `inputs` more than `tolerance` away from `reference`."""
    got = runtime.Graph(partial).predict(*inputs)
    difference = float(np.abs(got - reference).max()) if got.size else 0.0
    if got.shape != reference.shape or difference > tolerance:
        partial.unlink()
        raise ValueError(f"the exported graph answers {difference:.2g} away from Keras (at most {tolerance:g} allowed)")
    return difference


def export(model, path, source):
    """Write the artifacts of `model`, published as `path` (a `.keras` file whose digest is `source`),
    each checked against Keras on random images first; returns {artifact path: largest difference}."""
    path = Path(path)
    rng = np.random.default_rng(CHECK_SEED)
    images = rng.random((CHECK_IMAGES, *model.input_shape[1:]), np.float32)
    done, heatmaps, extra = {}, None, {}
    probabilities = probabilities_function(model)
    if is_digit_model(model):
        try:
            heatmaps = gradcam_function(model, GRADCAM_BATCH)
        except NotExplainable as error:
            extra[model_io.NOT_EXPLAINABLE] = str(error)
    target = model_io.artifact_path(path)
    partial = _convert(probabilities, target, source, extra)
    done[target] = _check(partial, probabilities(images).numpy(), [images])
    os.replace(partial, target)
    explained = model_io.gradcam_path(path)
    if heatmaps is not None:
        batch = images[:GRADCAM_BATCH]
        classes = probabilities(batch).numpy().argmax(-1).astype(np.int32)
        partial = _convert(heatmaps, explained, source, {})
        done[explained] = _check(partial, heatmaps(batch, classes).numpy(), [batch, classes], GRADCAM_TOLERANCE)
        os.replace(partial, explained)
    else:
        explained.unlink(missing_ok=True)  # a previous version's graph, which would explain another model
    return done


def publish(partial, path, meta, model=None):
    """Publish the model trained into `partial` as `path`, with its metadata, its artifacts first:
    a server that sees the new `.keras` file finds artifacts that match it."""
    model = model if model is not None else model_io.load(partial)
    export(model, path, model_io.digest(partial))
    model_io.publish(partial, path, meta)


def save(model, path, meta):
    """Write `model`, its artifacts and its metadata to `path` without ever exposing a half-written file."""
    partial = model_io.partial_path(path)
    model.save(partial)
    publish(partial, path, meta, model)


def shipped():
    """Every model a server may serve: the models folder's, the default, the line model and the turn judge."""
    settings = config.settings()
    paths = list(model_io.scan(settings.models_dir, settings.model_path).values())
    return paths + [path for path in map(Path, (settings.line_model_path, settings.turn_model_path)) if path.is_file()]


def parse_args(argv=None):
    parser = cli.Parser(prog="python -m handwriting.training.export", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, metavar="MODEL.keras",
                        help="the models to export (default: every model in models/ and the line model)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for path in args.models or shipped():
        if not path.is_file() or path.suffix != ".keras":
            sys.exit(f"{path} is not a .keras file")
        for artifact, difference in export(model_io.load(path), path, model_io.digest(path)).items():
            print(f"{artifact}: {artifact.stat().st_size / 1024:.0f} KB, at most {difference:.1e} from Keras")


if __name__ == "__main__":
    main()
