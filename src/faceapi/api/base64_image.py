"""The "image" field: base64 in any of the spellings clients send, to bytes."""

from __future__ import annotations

import base64
import binascii
import re

from faceapi.errors import ErrorCode, FaceApiError

_DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
# URL-safe base64 differs only in these two characters.
_URL_SAFE = str.maketrans("-_", "+/")


def decode_base64_image(text: str) -> bytes:
    """Accept standard or URL-safe alphabets, padding or none, a data: URL prefix, whitespace."""
    payload = _WHITESPACE.sub("", _DATA_URL.sub("", text.strip(), count=1))
    if not payload:
        raise FaceApiError(ErrorCode.EMPTY_IMAGE)
    payload = payload.translate(_URL_SAFE).rstrip("=")
    if len(payload) % 4 == 1:  # no padding can make this length valid
        raise FaceApiError(ErrorCode.INVALID_BASE64)
    try:
        data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise FaceApiError(ErrorCode.INVALID_BASE64) from error
    if not data:
        raise FaceApiError(ErrorCode.EMPTY_IMAGE)
    return data
