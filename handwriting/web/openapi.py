"""The OpenAPI 3.1 document of the service, built from the live limits so that it never drifts.

Schemas are strict (no extra properties) because the tests validate real responses against them.
Every response carries an X-Request-ID header (components.headers.RequestId).
"""

ERROR_CODES = {
    "missing_file": "no image: send the multipart field `file`, a JSON body with `image` or an image/* body",
    "too_many_files": "more files than max_files in one request (parts named `file`, or a ZIP's entries)",
    "bad_zip": "the ZIP, or one of its entries, cannot be read",
    "zip_too_large": "the ZIP's files unpack to more bytes than max_zip_bytes",
    "zip_bomb": "a ZIP entry unpacks more than max_zip_ratio times its packed size",
    "unsafe_entry_name": "a ZIP entry's name would leave its folder (`..`, an absolute path or a drive)",
    "invalid_json": "the JSON body is malformed or has no string `image`",
    "json_too_deep": "the JSON body is nested deeper than the parser allows",
    "field_too_large": "a form field other than `file` is over its limit, or the form has too many parts",
    "bad_base64": "`image` is not valid base64 or a base64 data URL",
    "empty_file": "the image is empty",
    "not_an_image": "the bytes are not an image",
    "corrupt_image": "the image is truncated or cannot be decoded",
    "unreadable_image": "the image cannot be read",
    "invalid_option": "`min_confidence`, `crops` or `explain` has an invalid value",
    "unknown_model": "`model` is not the name of a model listed by GET /api/models",
    "bad_request": "the request is malformed",
    "not_found": "no such path",
    "method_not_allowed": "the path does not accept this method",
    "too_large": "the request body is over the upload limit",
    "unsupported_type": "the format is not supported (SVG, PDF, PSD, ...)",
    "too_many_pixels": "the image has more pixels than the limit",
    "too_many_bytes": "the image decodes to more bytes (pixels x channels x depth) than the limit",
    "too_complex": "the image would take more work than a read may: too many JPEG scans or GIF blocks, "
    "a big run-length BMP, or more time than the budget",
    "busy": "every reading slot stayed taken for too long; retry after the Retry-After seconds",
    "not_explainable": "explain=1 with a model that has no convolutions to explain (the linear baseline)",
    "model_unavailable": "the model is not loaded",
    "internal_error": "an unexpected failure; the server log has the details",
}

_OBJECT = {"type": "object", "additionalProperties": False}
READING = ("text", "digits_text", "count", "hidden", "confidence", "numbers", "predictions", "orientation", "image",
           "truncated", "limits")  # what every reading answers, alone or in a batch


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas():
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    digit = {"type": "integer", "minimum": 0, "maximum": 9}
    count = {"type": "integer", "minimum": 0}
    side = {"type": "integer", "minimum": 1}
    name = {"type": "string", "description": "The file's name as sent, or the ZIP entry's path inside the ZIP."}
    reading = {
        "text": {
            "type": "string",
            "description": "The numbers as written (their `text`), those of one line apart by a space, lines "
            'joined by a newline; "?" for each digit below min_confidence.',
        },
        "digits_text": {
            "type": "string",
            "description": "The digits shown and nothing else, lines joined by a newline.",
        },
        "count": {**count, "description": "Digits shown: those at or above min_confidence."},
        "hidden": {**count, "description": "Digits found but below min_confidence."},
        "confidence": {**probability, "description": "The chance the whole reading is right; 0 when no "
                       "digit was found."},
        "numbers": {"type": "array", "items": _ref("Number"), "description": "In reading order."},
        "predictions": {"type": "array", "items": _ref("Prediction"), "description": "One per digit shown."},
        "orientation": {
            "enum": [0, 90, 180, 270],
            "description": "Degrees clockwise the image was turned before it was read: a page photographed "
            "sideways or upside down is read upright.",
        },
        "image": {
            **_OBJECT,
            "required": ["width", "height"],
            "properties": {"width": side, "height": side},
        },
        "message": {
            "type": "string",
            "description": "For people, present when no digit is shown (none found, or all below "
            "min_confidence), when digits are hidden, or when a limit cut the reading short.",
        },
        "truncated": {"type": "boolean", "description": "Whether a limit left marks or cuts unread; then "
                      "`message` says which, and marks are kept in reading order."},
        "limits": {
            "type": "array",
            "items": {"enum": ["max_marks", "max_digits", "max_crops"]},
            "description": "The settings whose limit cut the reading short.",
        },
    }
    return {
        "Box": {
            **_OBJECT,
            "description": "Where the digit is, in pixels of the upright uploaded image.",
            "required": ["x", "y", "width", "height"],
            "properties": {"x": count, "y": count, "width": count, "height": count},
        },
        "Alternative": {
            **_OBJECT,
            "required": ["digit", "probability"],
            "properties": {"digit": digit, "probability": probability},
        },
        "Prediction": {
            **_OBJECT,
            "description": "One digit shown (digits below min_confidence are counted in `hidden`, not listed).",
            "required": ["digit", "probability", "alternatives", "box", "line", "number", "doubtful"],
            "properties": {
                "digit": digit,
                "probability": {**probability, "description": "How sure the model is of this digit, calibrated."},
                "alternatives": {
                    "type": "array",
                    "description": "The next most likely digits, best first.",
                    "items": _ref("Alternative"),
                },
                "box": _ref("Box"),
                "line": {**count, "description": "0-based line of text, top to bottom."},
                "number": {**count, "description": "Index into `numbers` of the number this digit belongs to."},
                "doubtful": {"type": "boolean", "description": "Whether `probability` is below the service's "
                             "doubtful_below setting: a digit to check."},
                "crop": {
                    "type": "string",
                    "description": "With crops=1: the 28x28 model input (white on black) as base64 PNG.",
                    "contentEncoding": "base64",
                    "contentMediaType": "image/png",
                },
                "heatmap": {
                    "type": "string",
                    "description": "With explain=1: the Grad-CAM heatmap over the 28x28 crop, as base64 RGB PNG.",
                    "contentEncoding": "base64",
                    "contentMediaType": "image/png",
                },
            },
        },
        "Number": {
            **_OBJECT,
            "description": "A number as written: digits grouped by the gaps between them, with their separators.",
            "required": ["text", "value", "box", "line", "confidence", "doubtful"],
            "properties": {
                "text": {
                    "type": "string",
                    "pattern": "^-?[0-9?]+([.,][0-9?]+)*$",
                    "description": 'As written: a minus sign, digits, decimal points and commas; "?" for a digit '
                    "below min_confidence.",
                },
                "value": {
                    "type": ["number", "null"],
                    "description": "What the text means: digits alone are an integer; one kind of mark followed by "
                    'groups of three digits separates thousands ("1.000" and "1,000" are 1000); otherwise a single '
                    '"." or "," is the decimal mark ("12.50" is 12.5, "3,5" is 3.5); with both kinds, the last is '
                    'the decimal mark ("1.234,56" is 1234.56). null for any other text, a hidden digit, or more '
                    "than 15 significant digits.",
                },
                "box": _ref("Box"),
                "line": {**count, "description": "0-based line of text, top to bottom."},
                "confidence": {**probability, "description": "The chance the number is entirely right: the product "
                               "of its digits' probabilities."},
                "doubtful": {"type": "boolean", "description": "Whether `confidence` is below doubtful_below."},
            },
        },
        "ModelInfo": {
            **_OBJECT,
            "required": ["name", "arch", "test_accuracy", "parameters", "size_bytes", "artifact", "artifact_bytes",
                         "explainable", "default", "trained"],
            "properties": {
                "name": {"type": "string", "description": "The value for `model=`."},
                "arch": {"type": ["string", "null"]},
                "test_accuracy": {**probability, "type": ["number", "null"], "description": "On the 10,000 MNIST test images."},
                "parameters": {"type": ["integer", "null"], "minimum": 0},
                "size_bytes": count,
                "artifact": {"type": ["string", "null"], "description": "The ONNX Runtime file served in its "
                             "place (NAME.onnx); null when it was never exported, and then the model is not served."},
                "artifact_bytes": {"type": ["integer", "null"], "minimum": 0},
                "explainable": {"type": "boolean", "description": "Whether explain=1 works: its Grad-CAM graph exists."},
                "default": {"type": "boolean"},
                "trained": {"type": ["string", "null"], "description": "When training ended (ISO 8601)."},
            },
        },
        "Models": {
            **_OBJECT,
            "required": ["success", "models"],
            "properties": {"success": {"const": True}, "models": {"type": "array", "items": _ref("ModelInfo")}},
        },
        "Model": {
            **_OBJECT,
            "required": ["name", "version"],
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
        },
        "Recognition": {
            **_OBJECT,
            "description": "The reading of one image.",
            "required": ["success", *READING, "model", "elapsed_ms"],
            "properties": {"success": {"const": True}, **reading, "model": _ref("Model"),
                           "elapsed_ms": {"type": "number", "minimum": 0}},
        },
        "FileReading": {
            **_OBJECT,
            "description": "One file of a batch, read.",
            "required": ["name", "success", *READING],
            "properties": {"name": name, "success": {"const": True}, **reading},
        },
        "FileError": {
            **_OBJECT,
            "description": "One file of a batch that could not be read; the others still are.",
            "required": ["name", "success", "error"],
            "properties": {"name": name, "success": {"const": False}, "error": _ref("ErrorDetail")},
        },
        "BatchRecognition": {
            **_OBJECT,
            "description": "The answer to several `file` parts or a ZIP: one result per file, in order.",
            "required": ["success", "batch", "count", "results", "model", "elapsed_ms"],
            "properties": {
                "success": {"const": True},
                "batch": {"const": True},
                "count": {**count, "description": "Files read or refused."},
                "results": {"type": "array", "items": {"oneOf": [_ref("FileReading"), _ref("FileError")]}},
                "model": _ref("Model"),
                "elapsed_ms": {"type": "number", "minimum": 0},
            },
        },
        "Error": {
            **_OBJECT,
            "required": ["success", "error"],
            "properties": {"success": {"const": False}, "error": _ref("ErrorDetail")},
        },
        "ErrorDetail": {
            **_OBJECT,
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "enum": list(ERROR_CODES),
                    "description": "; ".join(f"`{k}`: {v}" for k, v in ERROR_CODES.items()),
                },
                "message": {"type": "string", "description": "For people; may change."},
            },
        },
        "Health": {
            **_OBJECT,
            "required": ["success", "status", "ready"],
            "properties": {
                "success": {"const": True},
                "status": {"const": "ok"},
                "ready": {"type": "boolean", "description": "Whether the model is loaded and warm."},
            },
        },
        "Ready": {
            **_OBJECT,
            "required": ["success", "status", "model"],
            "properties": {"success": {"const": True}, "status": {"const": "ready"}, "model": _ref("Model")},
        },
        "ImageJson": {
            **_OBJECT,
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "description": "A base64 data URL (data:image/png;base64,...) or base64."},
                "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "crops": {"type": ["boolean", "integer", "string"]},
                "explain": {"type": ["boolean", "integer", "string"]},
                "model": {"type": "string"},
            },
        },
        "ImageForm": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "description": "The image; several `file` parts, or one ZIP of images, make a batch.",
                    "oneOf": [{"type": "string", "contentMediaType": "application/octet-stream"},
                              {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}}],
                },
                "min_confidence": {"type": "string"},
                "crops": {"type": "string"},
                "explain": {"type": "string"},
                "model": {"type": "string"},
            },
        },
    }


_REQUEST_ID = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
_CORS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
         "Access-Control-Max-Age")


def _answer(description, content=None, headers=None):
    """A response: every one carries X-Request-ID."""
    answer = {"description": description, "headers": {**_REQUEST_ID, **(headers or {})}}
    if content:
        answer["content"] = content
    return answer


def _error(description, headers=None):
    return _answer(description, {"application/json": {"schema": _ref("Error")}}, headers)


def _ok(description, schema):
    return _answer(description, {"application/json": {"schema": _ref(schema)}})


def _header(description):
    return {"description": description, "schema": {"type": "string"}}


def document(max_upload_bytes, max_pixels):
    """The whole document; the limits are the ones this server enforces."""
    megabytes = max_upload_bytes / (1024 * 1024)
    options = [
        {
            "name": "min_confidence",
            "in": "query",
            "required": False,
            "description": "Hide digits whose probability (as the answer rounds it) is below this: each is "
            '"?" in `text`, counted in `hidden`, and left out of `predictions`. Also a form field or JSON key.',
            "schema": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
        },
        {
            "name": "crops",
            "in": "query",
            "required": False,
            "description": "1 adds each digit's 28x28 model input as base64 PNG (`crop`); also a form field or JSON key.",
            "schema": {"enum": ["0", "1", "true", "false"], "default": "0"},
        },
        {
            "name": "explain",
            "in": "query",
            "required": False,
            "description": "1 adds a Grad-CAM heatmap per digit (`heatmap`, base64 PNG); 422 for a model without "
            "convolutions. Also a form field or JSON key.",
            "schema": {"enum": ["0", "1", "true", "false"], "default": "0"},
        },
        {
            "name": "model",
            "in": "query",
            "required": False,
            "description": "The model to read with, by name from GET /api/models (default: the default model). "
            "Also a form field or JSON key.",
            "schema": {"type": "string"},
        },
    ]
    common = {"405": _error("Wrong method."), "500": _error("Unexpected failure, no details given.")}
    image_body = {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _ref("ImageForm")},
            "application/json": {"schema": _ref("ImageJson")},
            "image/*": {"schema": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "The image itself as the body (Content-Type image/png, image/jpeg, ...); the "
                "options then come from the query string.",
            }},
            "application/zip": {"schema": {
                "type": "string",
                "contentMediaType": "application/zip",
                "description": "A ZIP of images as the body: a batch, one result per file; folders and macOS "
                "resource forks are skipped.",
            }},
        },
    }
    refusals = {
        "400": _error("No image, more files than max_files (too_many_files), empty, not an image, corrupt, bad "
                      "base64, a bad option, an unknown model, or a ZIP that cannot be read or names an entry "
                      "outside its folder."),
        "413": _error("The request body is over the limit."),
        "415": _error("An unsupported format such as SVG or PDF."),
        "503": _error("The model is not loaded, or every reading slot stayed busy (busy).",
                      {"Retry-After": _header("Seconds to wait before retrying, when busy.")}),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "digit-reader",
            "version": "1.0.0",
            "description": (
                "Reads handwritten digits in an image. Every error is JSON: "
                '`{"success": false, "error": {"code", "message"}}`.'
            ),
        },
        "paths": {
            "/api/digit_recognize": {
                "post": {
                    "operationId": "recognizeDigits",
                    "summary": "Read the digits in an image",
                    "description": (
                        f"The request body may be at most {megabytes:g} MiB ({max_upload_bytes} bytes) and the "
                        f"image at most {max_pixels:,} pixels. JPEG, PNG, WebP, BMP, TIFF and GIF are read. "
                        "Several `file` parts, or a ZIP (as the `file` part or as an application/zip body), are "
                        "a batch: one result per file, in order, a bad file answered with its own error."
                    ),
                    "parameters": options,
                    "requestBody": image_body,
                    "responses": {
                        "200": _answer("The numbers and digits read, possibly none (then with a `message`); for a "
                                       "batch, one result per file.", {"application/json": {"schema": {
                                           "oneOf": [_ref("Recognition"), _ref("BatchRecognition")]}}}),
                        **refusals,
                        "422": _error(
                            "The image has more pixels or decoded bytes than the limit, would take more work than "
                            "a read may (too_complex), explain=1 with a linear model, or a ZIP would unpack to "
                            "more than the limits (zip_too_large, zip_bomb)."
                        ),
                        **common,
                    },
                },
                "options": {
                    "operationId": "recognizePreflight",
                    "summary": "CORS preflight of a browser app on another origin",
                    "description": "When the service allows other origins (HANDWRITING_CORS_ORIGINS), a preflight "
                    "(with Access-Control-Request-Method) is answered 204, with the Access-Control headers when its "
                    "Origin is allowed. Otherwise OPTIONS is answered 200 with the Allow header.",
                    "parameters": [
                        {"name": "Origin", "in": "header", "required": False, "schema": {"type": "string"}},
                        {"name": "Access-Control-Request-Method", "in": "header", "required": False,
                         "schema": {"type": "string"}},
                        {"name": "Access-Control-Request-Headers", "in": "header", "required": False,
                         "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "204": _answer("A preflight, CORS allowed.", headers={name: _header(name) for name in _CORS}),
                        "200": _answer("No CORS: the methods allowed.", headers={"Allow": _header("The methods.")}),
                        **common,
                    },
                },
            },
            "/api/preview": {
                "post": {
                    "operationId": "preview",
                    "summary": "The image as the service reads it, as a PNG",
                    "description": "Decoded and turned upright as for reading (transparency on white), no larger than "
                    "the working side: for clients that cannot show the format themselves (TIFF, in most browsers). "
                    "It takes the same image bodies as /api/digit_recognize.",
                    "requestBody": image_body,
                    "responses": {
                        "200": _answer("The image.", {"image/png": {"schema": {
                            "type": "string", "contentMediaType": "image/png"}}}),
                        **refusals,
                        "422": _error("The image has more pixels or decoded bytes than the limit, or would take more "
                                      "work than a read may (too_complex)."),
                        **common,
                    },
                }
            },
            "/api/models": {
                "get": {
                    "operationId": "models",
                    "summary": "The models to choose from with `model=`, the default first",
                    "responses": {"200": _ok("The models.", "Models"), **common},
                }
            },
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness: the process answers",
                    "responses": {"200": _ok("Alive.", "Health"), **common},
                }
            },
            "/api/ready": {
                "get": {
                    "operationId": "ready",
                    "summary": "Readiness: the model is loaded and warm",
                    "responses": {"200": _ok("Ready to read.", "Ready"), "503": _error("Not ready."), **common},
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Counters and latencies for operators, in the Prometheus text format",
                    "responses": {
                        "200": _answer("The Prometheus exposition.", {"text/plain": {"schema": {"type": "string"}}}),
                        **common,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": _answer("The OpenAPI document.", {"application/json": {"schema": {"type": "object"}}}),
                        **common,
                    },
                }
            },
            "/": {
                "get": {
                    "operationId": "page",
                    "summary": "The web page: upload or draw digits",
                    "responses": {
                        "200": _answer("HTML.", {"text/html": {"schema": {"type": "string"}}}),
                        **common,
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "responses": {"NotFound": _error("Unknown path (code `not_found`).")},
            "headers": {
                "RequestId": {
                    "description": "The request's id, in every answer and in the server's log lines: the client's "
                    "own X-Request-ID when it is a plain token (letters, digits, . _ : -, at most 128), else a new one.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                },
            },
        },
    }
