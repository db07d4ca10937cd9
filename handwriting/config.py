"""Every setting of the project in one place, each overridable by an environment variable.

The engine's functions take these as parameters; where a caller leaves one out, it is read here,
so that a default is written once.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name, default, cast=str):
    value = os.environ.get(name)
    return default if value in (None, "") else cast(value)


def _origins(text):
    return tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


@dataclass(frozen=True)
class Settings:
    model_path: Path = field(default_factory=lambda: Path(_env("HANDWRITING_MODEL", ROOT / "models" / "digit_cnn.keras")))
    # The second reader, for whole lines the cut search is unsure of; a path that is not a file turns it off.
    line_model_path: Path = field(default_factory=lambda: Path(_env("HANDWRITING_LINE_MODEL", ROOT / "models" / "lines" / "line_crnn.keras")))
    # The judge of which way up a crop lies, for pages photographed upside down; likewise optional.
    turn_model_path: Path = field(default_factory=lambda: Path(_env("HANDWRITING_TURN_MODEL", ROOT / "models" / "turns" / "turn_judge.keras")))
    models_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_MODELS_DIR", ROOT / "models")))
    max_loaded_models: int = field(default_factory=lambda: _env("HANDWRITING_MAX_LOADED_MODELS", 2, int))
    mnist_path: str | None = field(default_factory=lambda: _env("HANDWRITING_MNIST", None))
    # The other digit sets (USPS, Semeion, optdigits, Swiss, ORAND-CAR-A, ARDIS IV): read, never copied.
    data_root: Path = field(default_factory=lambda: Path(_env("HANDWRITING_DATA", ROOT.parent / "shared" / "data")))
    realworld_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_REALWORLD", ROOT.parent / "shared" / "realworld")))
    reports_dir: Path = field(default_factory=lambda: Path(_env("HANDWRITING_REPORTS", ROOT / "reports")))
    max_upload_bytes: int = field(default_factory=lambda: _env("HANDWRITING_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, int))
    # Checked from the image's header, before decoding: a decompression bomb costs nothing.
    max_pixels: int = field(default_factory=lambda: _env("HANDWRITING_MAX_PIXELS", 40_000_000, int))
    # Longest side an image is read at: the model sees 20 px per digit, OpenCV's work grows with pixels.
    working_side: int = field(default_factory=lambda: _env("HANDWRITING_WORKING_SIDE", 1200, int))
    # Two bounds on the marks of one image, so that a page of noise costs bounded time: the
    # connected components kept, biggest first, before any shape test ...
    max_marks: int = field(default_factory=lambda: _env("HANDWRITING_MAX_MARKS", 300, int))
    # ... and the blobs read once fragments are merged and marks rejected, biggest first.
    max_digits: int = field(default_factory=lambda: _env("HANDWRITING_MAX_DIGITS", 200, int))
    # Decoded bytes (pixels x channels x bytes per channel, at least RGB's 3) allowed before
    # decoding, from the header: the decoded copies, not the upload, are what fill a worker's memory.
    max_decoded_bytes: int = field(default_factory=lambda: _env("HANDWRITING_MAX_DECODED_BYTES", 120_000_000, int))
    # Scans of a progressive JPEG: a photo has about 10, and each is one more pass of the decoder.
    max_jpeg_scans: int = field(default_factory=lambda: _env("HANDWRITING_MAX_JPEG_SCANS", 64, int))
    # GIF extension sub-blocks before the first frame: Pillow joins comments at a quadratic cost.
    max_gif_blocks: int = field(default_factory=lambda: _env("HANDWRITING_MAX_GIF_BLOCKS", 4096, int))
    # Pixels of a run-length BMP, whose runs Pillow decodes in Python, about 0.1 s per million.
    max_rle_pixels: int = field(default_factory=lambda: _env("HANDWRITING_MAX_RLE_PIXELS", 4_000_000, int))
    # Candidate cuts per blob: a blob's crops grow with their square.
    max_cuts: int = field(default_factory=lambda: _env("HANDWRITING_MAX_CUTS", 12, int))
    # Crops of one image (the busiest benchmark image has 129): past this, blobs are read whole,
    # then not at all, and the answer says so; each crop costs about a millisecond.
    max_crops: int = field(default_factory=lambda: _env("HANDWRITING_MAX_CROPS", 1000, int))
    # Crops per model call: the activations of one call, about 0.1 MB per crop, stay bounded.
    classify_chunk: int = field(default_factory=lambda: _env("HANDWRITING_CLASSIFY_CHUNK", 256, int))
    # CPU seconds a read may take (its thread's, that a busy machine does not inflate), checked
    # between steps: past it, 422 too_complex. The worst file of issue #14 takes about 1 s.
    time_budget_s: float = field(default_factory=lambda: _env("HANDWRITING_TIME_BUDGET_S", 2.5, float))
    # Reads a worker runs at once, whatever its threads: one per worker and core keeps the CPU for
    # reads that run at full speed (their deadline measures their own work) and the probes answered.
    reading_slots: int = field(default_factory=lambda: _env("HANDWRITING_READING_SLOTS", 1, int))
    # Seconds a read waits for a slot before a 503: a queue that long means the service is overloaded.
    slot_wait_s: float = field(default_factory=lambda: _env("HANDWRITING_SLOT_WAIT_S", 30.0, float))
    # A digit read less surely than this is dropped from every reading.
    reject_below: float = field(default_factory=lambda: _env("HANDWRITING_REJECT_BELOW", 0.3, float))
    # A reading whose confidence is below this may be of a page photographed turned: the page is then
    # asked which turns to read it at too (engine/orientation.py). Chosen with orientation's judge
    # thresholds on the tuning pages of held-out digits at seed 1: 0.5 turned 5 more of 300 turned
    # pages right than 0.4 and changed no upright page, page of marks or ORAND training amount.
    turn_below: float = field(default_factory=lambda: _env("HANDWRITING_TURN_BELOW", 0.5, float))
    # A digit read less surely than this, or a number whose confidence is below it, is marked doubtful:
    # once probabilities are calibrated, at least one such reading in five is wrong.
    doubtful_below: float = field(default_factory=lambda: _env("HANDWRITING_DOUBTFUL_BELOW", 0.8, float))
    # Threads of one model call (ONNX Runtime's operators): one per worker and reading slot keeps the cores for reads.
    inference_threads: int = field(default_factory=lambda: _env("HANDWRITING_INFERENCE_THREADS", 1, int))
    # Origins of browser apps allowed to call the API (CORS), comma-separated, or "*" for any;
    # empty, the default, allows none: only the service's own page calls it.
    cors_origins: tuple = field(default_factory=lambda: _env("HANDWRITING_CORS_ORIGINS", (), _origins))
    # Batches (several files or a ZIP in one request): files read per request ...
    max_files: int = field(default_factory=lambda: _env("HANDWRITING_MAX_FILES", 1000, int))
    # ... their decoded pixels together, each file also within max_pixels: 100 12-MP photos ...
    max_batch_pixels: int = field(default_factory=lambda: _env("HANDWRITING_MAX_BATCH_PIXELS", 1_200_000_000, int))
    # ... a ZIP's files unpacked, held in memory together with the upload ...
    max_zip_bytes: int = field(default_factory=lambda: _env("HANDWRITING_MAX_ZIP_BYTES", 200 * 1024 * 1024, int))
    # ... and unpacked over packed size per entry: images compress little, a ZIP bomb about 1,000x.
    max_zip_ratio: float = field(default_factory=lambda: _env("HANDWRITING_MAX_ZIP_RATIO", 200.0, float))
    # CPU seconds a batch's files take together, each also within time_budget_s: 1,000 photos of
    # about 30 ms each, with room to spare, and a worker never held for minutes.
    batch_time_budget_s: float = field(default_factory=lambda: _env("HANDWRITING_BATCH_TIME_BUDGET_S", 60.0, float))


def settings() -> Settings:
    """Read the environment now, so that tests and workers can change it before start-up."""
    return Settings()
