"""The JSON API: digit recognition, the models, liveness and readiness probes, and the OpenAPI document.

Every failure, expected or not, is the same JSON envelope with a stable code, so that clients never
parse HTML or see a traceback. Request bodies stay in memory and within the configured limit.
"""
import base64
import binascii
import contextlib
import io
import logging
import math
import re
import threading
import time

from flask import Blueprint, Request, current_app, jsonify, request
from PIL import Image
from werkzeug import formparser
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.sansio.multipart import MultipartDecoder
from werkzeug.wsgi import get_content_length

from handwriting.engine import archive, decoding
from handwriting.engine.explain import NotExplainable, overlay
from handwriting.engine.limits import TooComplex
from handwriting.web import metrics, openapi, registry

EXTENSION = "digit_reader"
DRAIN_LIMIT = 128 * 1024 * 1024  # a refused body up to this size is read to the end before answering
MAX_FORM_FIELD = 128 * 1024  # a form field other than the file: the options are a few bytes each
MAX_FORM_OPTIONS = 16  # form parts besides the files: the options, a few bytes each
_STATUS = {"unsupported_type": 415, "too_many_pixels": 422, "too_many_bytes": 422, "too_complex": 422,
           "zip_too_large": 422, "zip_bomb": 422}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_type"}
_FLAGS = {"1": True, "true": True, "0": False, "false": False}
_DATA_URL = re.compile(r"data:[^,]*,", re.IGNORECASE)

log = logging.getLogger(__name__)
blueprint = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """A refusal with its HTTP status and stable code; the message is written for people."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class _LenientDecoder(MultipartDecoder):
    """Part headers in UTF-8, else in Latin-1, as some clients still send file names: the file is
    read either way (the name is never used)."""

    def _parse_headers(self, data):
        try:
            return super()._parse_headers(data)
        except UnicodeDecodeError:
            return super()._parse_headers(bytes(data).decode("latin-1").encode())


formparser.MultipartDecoder = _LenientDecoder  # the name Werkzeug's MultiPartParser builds its decoder by


class InMemoryRequest(Request):
    """Keep uploaded files in memory: bodies are already capped, and no request may touch the disk."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def init_app(app, models, settings):
    """Attach the API to `app`; `models` is the process's registry.Models."""
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_FIELD
    app.config["MAX_FORM_PARTS"] = settings.max_files + MAX_FORM_OPTIONS
    app.json.sort_keys = False
    slots = threading.BoundedSemaphore(max(1, settings.reading_slots))
    app.extensions[EXTENSION] = {"models": models, "settings": settings, "slots": slots}
    app.register_blueprint(blueprint)


def _state():
    return current_app.extensions[EXTENSION]


def error_response(status, code, message):
    metrics.refused(code)
    response = jsonify({"success": False, "error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _drain(environ):
    """Read and drop what is left of a refused body, so that a client still sending it receives
    the 413 instead of a reset connection; a client that waits for `100 Continue` sent none."""
    if environ.get("HTTP_EXPECT", "").lower() == "100-continue":
        return
    length = get_content_length(environ)
    if length is None and not environ.get("wsgi.input_terminated"):
        return
    stream = environ["wsgi.input"]
    left = DRAIN_LIMIT if length is None else min(length, DRAIN_LIMIT)
    while left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        left -= len(chunk)


def _over_limit(environ, limit):
    """Whether the body is longer than `limit`: by its declared length, or, for a chunked body that
    Werkzeug stopped reading at the limit, by a byte still waiting after it."""
    length = get_content_length(environ)
    if length is not None:
        return length > limit
    data = request.get_data(cache=True)
    return len(data) >= limit and bool(environ.get("wsgi.input_terminated")) and bool(environ["wsgi.input"].read(1))


@blueprint.before_app_request
def _buffer_body():
    """Read the body once, in memory and within the limit, before any route sees it."""
    if _over_limit(request.environ, current_app.config["MAX_CONTENT_LENGTH"]):
        _drain(request.environ)
        raise RequestEntityTooLarge()
    request.get_data(cache=True)


@blueprint.app_errorhandler(ApiError)
def _api_error(error):
    response = error_response(error.status, error.code, error.message)
    response.headers.update(error.headers)
    return response


@blueprint.app_errorhandler(HTTPException)
def _http_error(error):
    if error.code == 413:
        limit = _state()["settings"].max_upload_bytes
        message = f"the request body is over the limit of {limit:,} bytes"
    elif error.code == 404:
        message = "no such path"
    elif error.code == 405:
        message = f"{request.method} is not allowed here"
    else:
        message = error.name
    fallback = "bad_request" if error.code < 500 else "internal_error"
    response = error_response(error.code, _HTTP_CODES.get(error.code, fallback), message)
    response.headers.extend((k, v) for k, v in error.get_headers() if k.lower() != "content-type")
    return response


@blueprint.app_errorhandler(Exception)
def _unexpected(error):
    log.exception("unexpected failure on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the server failed to process the request")


def _decode_base64(text):
    """Bare base64 or a base64 data URL to bytes; whitespace and missing padding are forgiven."""
    match = _DATA_URL.match(text)
    if match:
        if ";base64" not in match.group(0).lower():
            raise ApiError(400, "bad_base64", "the data URL must be base64-encoded")
        text = text[match.end():]
    packed = "".join(text.split())
    try:
        return base64.b64decode(packed + "=" * (-len(packed) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_base64", "the image is not valid base64") from None


def _form():
    """The form fields and files; a field over its own limit is told apart from a body over the
    upload limit."""
    try:
        return request.form, request.files
    except RequestEntityTooLarge:
        raise ApiError(
            413, "field_too_large",
            f"a form field other than 'file' is over {MAX_FORM_FIELD:,} bytes, or the form has over "
            f"{current_app.config['MAX_FORM_PARTS']} parts",
        ) from None


def _json():
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "json_too_deep", "the JSON body is nested deeper than the parser allows") from None


def _read_input():
    """The uploads as (name, bytes) pairs, whether the answer is a batch's, and the options (query
    string, then form fields or JSON keys; a raw body takes them from the query string). Several
    `file` parts, or a ZIP however sent, make a batch."""
    options = request.args.to_dict()
    if request.mimetype.startswith("image/"):
        return [("body", request.get_data(cache=True))], False, options
    if request.mimetype in ("application/zip", "application/x-zip-compressed"):
        return _unzipped(request.get_data(cache=True)), True, options
    if request.mimetype == "multipart/form-data":
        form, files = _form()
        options.update(form.to_dict())
        uploads = [(upload.filename or f"file {i + 1}", upload.read()) for i, upload in enumerate(files.getlist("file"))]
        if not uploads:
            raise ApiError(400, "missing_file", "send the image in the multipart field 'file'")
        if len(uploads) == 1 and archive.is_zip(uploads[0][1]):
            return _unzipped(uploads[0][1]), True, options
        limit = _state()["settings"].max_files
        if len(uploads) > limit:
            raise ApiError(400, "too_many_files", f"the form has {len(uploads):,} files; at most {limit:,} are read per request")
        return uploads, len(uploads) > 1, options
    if request.is_json:
        payload = _json()
        if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
            raise ApiError(400, "invalid_json", 'send a JSON object {"image": "<data URL or base64>"}')
        options.update({k: v for k, v in payload.items() if k != "image"})
        return [("image", _decode_base64(payload["image"]))], False, options
    raise ApiError(
        400, "missing_file", "send the image as multipart field 'file', as JSON {\"image\": \"<data URL>\"} or as "
        "the body with Content-Type image/png, image/jpeg, ... (or application/zip for a ZIP of images)"
    )


def _unzipped(data):
    """A ZIP's entries as uploads, or its refusal, decided before anything is unpacked."""
    settings = _state()["settings"]
    try:
        entries = archive.entries(data, settings.max_files, settings.max_zip_bytes, settings.max_zip_ratio)
    except archive.ArchiveError as error:
        raise ApiError(_STATUS.get(error.code, 400), error.code, str(error)) from None
    return [(entry.name, entry.data if entry.data is not None else archive.ArchiveError(entry.error)) for entry in entries]


def _min_confidence(options):
    value = options.get("min_confidence", 0.0)
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of hundreds of digits
        number = math.nan
    if not 0.0 <= number <= 1.0:
        raise ApiError(400, "invalid_option", "min_confidence must be a number from 0 to 1")
    return number


def _flag(options, name):
    value = options.get(name, False)
    flag = value if isinstance(value, bool) else _FLAGS.get(str(value).strip().lower())
    if flag is None:
        raise ApiError(400, "invalid_option", f"{name} must be 1 or 0")
    return flag


def png_base64(image):
    """A uint8 greyscale or RGB array as base64 PNG text."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _model(engine):
    return {"name": str(engine.name), "version": str(engine.version)}


def _engine(name=None):
    """The Recognizer of the named model, or of the default one."""
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "unknown_model", "model must be the name of a model from GET /api/models")
    try:
        return _state()["models"].get(name)
    except registry.UnknownModel:
        raise ApiError(400, "unknown_model", f"no model named {name!r}; GET /api/models lists them") from None
    except registry.ModelUnavailable as error:
        raise ApiError(
            503, "model_unavailable", f"the model is not loaded ({error}); train one with ./run_training.sh"
        ) from None


def _check_explainable(engine):
    try:
        engine.explainer()
    except NotExplainable as error:
        raise ApiError(422, "not_explainable", f"{error}; choose a convolutional model for explain=1") from None


@contextlib.contextmanager
def _reading_slot():
    """Hold one of the worker's reading slots, or answer 503 busy when none frees in time; an image
    that cannot be read is answered with its decoding error's code."""
    settings, slots = _state()["settings"], _state()["slots"]
    if not slots.acquire(timeout=settings.slot_wait_s):
        message = f"every reading slot stayed busy for {settings.slot_wait_s:g} s; retry later"
        raise ApiError(503, "busy", message, {"Retry-After": "5"})
    try:
        yield
    except (decoding.DecodeError, TooComplex) as error:
        raise ApiError(_STATUS.get(error.code, 400), error.code, str(error)) from None
    finally:
        slots.release()


@blueprint.post("/digit_recognize")
def recognize():
    started = time.perf_counter()
    uploads, batch, options = _read_input()
    min_confidence, crops, explain = _min_confidence(options), _flag(options, "crops"), _flag(options, "explain")
    engine = _engine(options.get("model"))
    if explain:
        _check_explainable(engine)
    if batch:
        body = {"success": True, "batch": True, "count": len(uploads),
                "results": list(_read_batch(engine, uploads, min_confidence, crops, explain))}
    else:
        with _reading_slot():
            body = {"success": True, **_answer(engine, uploads[0][1], min_confidence, crops, explain)}
    body["model"] = _model(engine)
    body["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return jsonify(body)


def _answer(engine, data, min_confidence, crops, explain, seconds=None):
    """One image's reading as the API answers it, with crops and heatmaps when asked."""
    reading = engine.read(data, min_confidence, _state()["settings"].time_budget_s if seconds is None else seconds)
    body = reading.to_dict()
    if crops:
        for prediction, digit in zip(body["predictions"], reading.digits):
            prediction["crop"] = png_base64(digit.crop)
    if explain:
        for prediction, digit, heat in zip(body["predictions"], reading.digits, engine.explain(reading.digits)):
            prediction["heatmap"] = png_base64(overlay(digit.crop, heat))
    metrics.read(str(engine.name), body["count"])
    return body


def _read_batch(engine, uploads, min_confidence, crops, explain):
    """Each upload's answer or its error, in order: one bad file never fails the others. Each file
    holds a reading slot of its own, so that single reads interleave; together the files stay
    within max_batch_pixels and batch_time_budget_s, past which the rest are refused one by one."""
    settings = _state()["settings"]
    deadline, pixels = time.thread_time() + settings.batch_time_budget_s, 0
    for name, data in uploads:
        left = deadline - time.thread_time()
        try:
            if isinstance(data, archive.ArchiveError):
                raise ApiError(400, data.code, str(data))
            if pixels >= settings.max_batch_pixels:
                raise ApiError(422, "too_many_pixels", f"the files before this one hold {pixels:,} pixels; a batch "
                               f"reads at most {settings.max_batch_pixels:,}")
            if left <= 0:
                raise ApiError(422, "too_complex", f"the files before this one took the batch's "
                               f"{settings.batch_time_budget_s:g} s of CPU; send the rest in another request")
            with _reading_slot():
                body = _answer(engine, data, min_confidence, crops, explain, min(settings.time_budget_s, left))
            pixels += body["image"]["width"] * body["image"]["height"]
            yield {"name": name, "success": True, **body}
        except ApiError as error:
            metrics.refused(error.code)
            yield {"name": name, "success": False, "error": {"code": error.code, "message": error.message}}


@blueprint.post("/preview")
def preview():
    """The image as the service decodes and reads it (upright, transparency on white), as a PNG no
    larger than the working side: for clients that cannot show the format themselves (TIFF, in
    most browsers). It takes the same inputs as /digit_recognize and holds a reading slot."""
    uploads, batch, _ = _read_input()
    if batch:
        raise ApiError(400, "too_many_files", "send one image to preview")
    data, settings = uploads[0][1], _state()["settings"]
    with _reading_slot():
        picture = Image.fromarray(decoding.decode(data, settings.max_pixels, settings.working_side, settings).image)
        picture.thumbnail((settings.working_side, settings.working_side), Image.Resampling.BOX)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
    return current_app.response_class(buffer.getvalue(), mimetype="image/png")


@blueprint.get("/models")
def models():
    return jsonify({"success": True, "models": _state()["models"].listing()})


@blueprint.get("/health")
def health():
    return jsonify({"success": True, "status": "ok", "ready": _state()["models"].ready()})


@blueprint.get("/ready")
def ready():
    return jsonify({"success": True, "status": "ready", "model": _model(_engine())})


@blueprint.get("/openapi.json")
def openapi_document():
    settings = _state()["settings"]
    return jsonify(openapi.document(settings.max_upload_bytes, settings.max_pixels))


@blueprint.after_app_request
def _no_store(response):
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response
