"""Every error the service can report: one table drives the envelope, the README and OpenAPI.

Each member is `NAME = code, http_status, message`. The code is what clients switch on and
never changes meaning; `http_status` is only sent when `strict_http_status` is on (by default
every envelope goes out with HTTP 200, as the v1 spec documents). Messages say what was wrong
and what to do; `{placeholders}` are filled from the details given to `FaceApiError`, and one
with a unit, as in `{retry_after:seconds}`, reads "1 second" or "2 seconds".
"""

from __future__ import annotations

import string
from enum import IntEnum
from typing import Any

from faceapi.text import quantity


class ErrorCode(IntEnum):
    """Documented error codes. 1xxx request, 2xxx image, 3xxx face, 4xxx access, 5xxx server."""

    http_status: int
    message: str

    def __new__(cls, code: int, http_status: int, message: str) -> ErrorCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.http_status = http_status
        member.message = message
        return member

    INVALID_JSON = (
        1001,
        400,
        'The request body is not valid JSON. Send a JSON object such as {{"image": '
        '"<base64>", "api_key": "<key>"}}.',
    )
    UNSUPPORTED_MEDIA_TYPE = (
        1002,
        415,
        "The request body must be JSON: send it with the header Content-Type: application/json.",
    )
    INVALID_BODY = (
        1003,
        400,
        'The request body must be a JSON object with the fields "image" and "api_key".',
    )
    INVALID_FIELD_TYPE = (
        1004,
        422,
        'The field "{field}" must be a string; it was {actual}.',
    )
    BODY_TOO_LARGE = (
        1005,
        413,
        "The request body is larger than the limit of {limit:bytes}. Send a smaller image.",
    )
    NOT_FOUND = (
        1006,
        404,
        "There is no endpoint at {path}. The endpoints are POST /faceapi/v1/face_age_detection, "
        "/faceapi/v1/face_gender_detection and /faceapi/v1/face_expression_detection.",
    )
    METHOD_NOT_ALLOWED = (
        1007,
        405,
        "{path} does not accept {method}; use {allowed}.",
    )
    UNSUPPORTED_CONTENT_ENCODING = (
        1008,
        415,
        "The request body must be sent uncompressed, without a Content-Encoding header.",
    )
    DUPLICATE_FIELD = (
        1009,
        400,
        'The field "{field}" appears more than once in the request. Send each field once.',
    )
    BODY_TIMEOUT = (
        1010,
        408,
        "The request body did not arrive within {limit:seconds}. Send it again on a faster "
        "connection or as a smaller image.",
    )
    MISSING_IMAGE = (
        2001,
        400,
        'The request has no "image". Send the photo as a base64 string in the "image" field.',
    )
    INVALID_BASE64 = (
        2002,
        400,
        'The "image" field is not valid base64. Encode the file\'s bytes with standard or '
        "URL-safe base64 (a data:image/...;base64, prefix is allowed).",
    )
    EMPTY_IMAGE = (
        2003,
        400,
        'The "image" field is empty. Send the photo\'s bytes encoded as base64.',
    )
    UNSUPPORTED_IMAGE_FORMAT = (
        2004,
        415,
        "The image is not in a supported format. Send a JPEG, PNG, WebP, BMP, GIF or TIFF file.",
    )
    CORRUPT_IMAGE = (
        2005,
        422,
        "The {format} image could not be decoded: the file is damaged or truncated. "
        "Send the complete file.",
    )
    IMAGE_TOO_LARGE = (
        2006,
        413,
        "The image is {size:bytes}; the limit is {limit:bytes}. Send a smaller file.",
    )
    IMAGE_TOO_MANY_PIXELS = (
        2007,
        413,
        "The image is {width}x{height} pixels; the limit is {limit:pixels} in all. "
        "Scale it down before sending.",
    )
    IMAGE_TOO_SMALL = (
        2008,
        422,
        "The image is {width}x{height} pixels; each side must be at least {minimum:pixels}.",
    )
    IMAGE_TOO_MANY_SCANS = (
        2009,
        422,
        "The JPEG image is stored in {scans} progressive scans; at most {limit} are decoded. "
        "Save it again as a baseline JPEG or with the encoder's usual settings.",
    )
    NO_FACE_FOUND = (
        3001,
        422,
        "No face was found in the image. Send a photo in which a face is clearly visible "
        "and upright.",
    )
    FACE_TOO_SMALL = (
        3002,
        422,
        "The face found is {size:pixels} across; at least {minimum} are needed to analyse it. "
        "Send a closer or larger photo.",
    )
    MISSING_API_KEY = (
        4001,
        401,
        'The request has no "api_key". Send your developer key in the "api_key" field.',
    )
    INVALID_API_KEY = (
        4002,
        403,
        "The api_key is not valid or has been revoked. Check the key in your Settings.",
    )
    RATE_LIMITED = (
        4003,
        429,
        "Too many requests for this api_key: {limit}. Retry after {retry_after:seconds}.",
    )
    ACCOUNT_DISABLED = (
        4004,
        403,
        "The account this api_key belongs to is disabled. Ask the server's administrator.",
    )
    INTERNAL_ERROR = (
        5001,
        500,
        "The server failed to process the request (request id {request_id}). "
        "Try again; if it persists, report the request id.",
    )
    SERVER_BUSY = (
        5002,
        503,
        "The server is busy. Retry after {retry_after:seconds}.",
    )


def code_name(code: int) -> str:
    """A documented code's name, e.g. "NO_FACE_FOUND"; "CODE_<n>" for any other number."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"CODE_{code}"


class FaceApiError(Exception):
    """An error with a documented code; `details` fill the code's message template."""

    def __init__(self, code: ErrorCode, *, retry_after: int | None = None, **details: Any) -> None:
        if retry_after is not None:
            details["retry_after"] = retry_after
        self.code = code
        self.retry_after = retry_after
        self.message = _MessageFormatter().format(code.message, **details)
        super().__init__(self.message)


class _MessageFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        # A unit for a spec, as in "{retry_after:seconds}": "1 second", never "1 seconds".
        if format_spec.isalpha():
            return quantity(value, format_spec)
        return super().format_field(value, format_spec)
