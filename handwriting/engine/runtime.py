"""The serving runtime: a model's exported graph run by ONNX Runtime, without TensorFlow.

Training writes each `.keras` model's artifacts beside it (handwriting.training.export); serving
loads them here. An artifact records the digest of the `.keras` file it was exported from, so that
a model retrained or copied without its artifact is refused, never served from the old graph.
"""
from pathlib import Path

from handwriting.engine import model_io

EXPORT_COMMAND = "python -m handwriting.training.export"


class ArtifactError(RuntimeError):
    """A model's runtime artifact is missing, or older than the model it was exported from."""


class Graph:
    """One exported graph, loaded once; `predict` may be called from any thread."""

    def __init__(self, path, threads=1):
        """`threads`: the operators' threads; with one, the calling thread does all the work and no
        pool spins beside it, which suits one read at a time per worker."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are about graph rewrites it chose
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.inputs = [spec.name for spec in self.session.get_inputs()]
        self.batch = self.session.get_inputs()[0].shape[0]  # an int for a fixed batch, else a name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def predict(self, *arrays):
        """The graph's first output for its inputs, as a NumPy array."""
        return self.session.run(None, dict(zip(self.inputs, arrays)))[0]


def load(artifact, model_path, threads=1):
    """The graph at `artifact`, exported from the `.keras` model at `model_path`; raises
    ArtifactError when it is missing or was exported from another version of that file. A model
    served without its `.keras` file beside it is taken as it is."""
    artifact, model_path = Path(artifact), Path(model_path)
    if not artifact.is_file():
        raise ArtifactError(f"{artifact.name} is missing: export {model_path.name} with {EXPORT_COMMAND}")
    graph = Graph(artifact, threads)
    if model_path.is_file() and graph.metadata.get(model_io.SOURCE_DIGEST) != model_io.digest(model_path):
        raise ArtifactError(f"{artifact.name} was exported from another version of {model_path.name}: "
                            f"export it again with {EXPORT_COMMAND}")
    return graph


def load_model(path, threads=1):
    """The runtime artifact of the model at `path`, a `.keras` file or its `.onnx` artifact."""
    path = Path(path)
    return load(model_io.artifact_path(path), path.with_suffix(".keras"), threads)
