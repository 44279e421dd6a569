"""Error messages read right for any count they are given."""

from __future__ import annotations

import re
import string

import pytest

from faceapi.errors import ErrorCode, FaceApiError


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.name)
def test_no_message_puts_one_with_a_plural(code: ErrorCode) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(code.message) if name}
    message = FaceApiError(code, **dict.fromkeys(fields, 1)).message
    assert not re.search(r"\b1 (seconds|bytes|pixels|requests)\b", message), message


@pytest.mark.parametrize(
    ("code", "details", "worded"),
    [
        (ErrorCode.SERVER_BUSY, {"retry_after": 1}, "Retry after 1 second."),
        (ErrorCode.SERVER_BUSY, {"retry_after": 2}, "Retry after 2 seconds."),
        (ErrorCode.BODY_TIMEOUT, {"limit": 0.5}, "within 0.5 seconds."),
        (ErrorCode.BODY_TIMEOUT, {"limit": 1.0}, "within 1 second."),
        (ErrorCode.BODY_TOO_LARGE, {"limit": 1_048_576}, "limit of 1048576 bytes."),
    ],
)
def test_counts_are_worded_singular_or_plural(
    code: ErrorCode, details: dict[str, float], worded: str
) -> None:
    assert worded in FaceApiError(code, **details).message
