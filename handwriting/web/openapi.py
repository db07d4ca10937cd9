"""The OpenAPI 3.1 document of the service, built from the live limits so that it never drifts.

Schemas are strict (no extra properties) because the tests validate real responses against them.
"""

ERROR_CODES = {
    "missing_file": "no image: send the multipart field `file` or a JSON body with `image`",
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


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas():
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    digit = {"type": "integer", "minimum": 0, "maximum": 9}
    count = {"type": "integer", "minimum": 0}
    side = {"type": "integer", "minimum": 1}
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
            "required": ["digit", "probability", "alternatives", "box", "line"],
            "properties": {
                "digit": digit,
                "probability": probability,
                "alternatives": {
                    "type": "array",
                    "description": "The next most likely digits, best first.",
                    "items": _ref("Alternative"),
                },
                "box": _ref("Box"),
                "line": {**count, "description": "0-based line of text, top to bottom."},
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
        "ModelInfo": {
            **_OBJECT,
            "required": ["name", "arch", "test_accuracy", "parameters", "size_bytes", "default", "loaded", "trained"],
            "properties": {
                "name": {"type": "string", "description": "The value for `model=`."},
                "arch": {"type": ["string", "null"]},
                "test_accuracy": {**probability, "type": ["number", "null"], "description": "On the 10,000 MNIST test images."},
                "parameters": {"type": ["integer", "null"], "minimum": 0},
                "size_bytes": count,
                "default": {"type": "boolean"},
                "loaded": {"type": "boolean", "description": "Already in this worker's memory."},
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
            "required": ["success", "text", "count", "predictions", "image", "truncated", "limits", "model", "elapsed_ms"],
            "properties": {
                "success": {"const": True},
                "text": {"type": "string", "description": "The digits read, lines joined by a newline."},
                "count": count,
                "predictions": {"type": "array", "items": _ref("Prediction")},
                "image": {
                    **_OBJECT,
                    "required": ["width", "height"],
                    "properties": {"width": side, "height": side},
                },
                "model": _ref("Model"),
                "elapsed_ms": {"type": "number", "minimum": 0},
                "message": {"type": "string", "description": "Present when no digit was found."},
                "truncated": {"type": "boolean", "description": "Whether a limit left marks or cuts unread."},
                "limits": {
                    "type": "array",
                    "items": {"enum": ["max_marks", "max_digits", "max_crops"]},
                    "description": "The settings whose limit cut the reading short.",
                },
            },
        },
        "Error": {
            **_OBJECT,
            "required": ["success", "error"],
            "properties": {
                "success": {"const": False},
                "error": {
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
                "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                "min_confidence": {"type": "string"},
                "crops": {"type": "string"},
                "explain": {"type": "string"},
                "model": {"type": "string"},
            },
        },
    }


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description, schema):
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def document(max_upload_bytes, max_pixels):
    """The whole document; the limits are the ones this server enforces."""
    megabytes = max_upload_bytes / (1024 * 1024)
    options = [
        {
            "name": "min_confidence",
            "in": "query",
            "required": False,
            "description": "Drop digits whose probability is below this. Also a form field or JSON key.",
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
                        f"image at most {max_pixels:,} pixels. JPEG, PNG, WebP, BMP, TIFF and GIF are read."
                    ),
                    "parameters": options,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {"schema": _ref("ImageForm")},
                            "application/json": {"schema": _ref("ImageJson")},
                        },
                    },
                    "responses": {
                        "200": _ok("The digits read, possibly none (then with a `message`).", "Recognition"),
                        "400": _error("No image, empty, not an image, corrupt, bad base64, a bad option or an unknown model."),
                        "413": _error("The request body is over the limit."),
                        "415": _error("An unsupported format such as SVG or PDF."),
                        "422": _error(
                            "The image has more pixels or decoded bytes than the limit, would take more work than "
                            "a read may (too_complex), or explain=1 with a linear model."
                        ),
                        "503": _error("The model is not loaded, or every reading slot stayed busy (busy)."),
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
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **common,
                    },
                }
            },
            "/": {
                "get": {
                    "operationId": "page",
                    "summary": "The web page: upload or draw digits",
                    "responses": {
                        "200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}},
                        **common,
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "responses": {"NotFound": _error("Unknown path (code `not_found`).")},
        },
    }
