"""The analysis endpoints' JSON body: media type, encoding, parsing, and its two fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.text import quoted


@dataclass(frozen=True, slots=True)
class ImageAndKey:
    image: str  # base64, still to be decoded
    api_key: str


async def read_image_and_key(request: Request) -> ImageAndKey:
    """The request's image and key, or the FaceApiError that says what is wrong with it."""
    body = await _json_object(request)
    image = _string_field(body, "image", ErrorCode.MISSING_IMAGE)
    return ImageAndKey(image, _api_key(body, request.headers.getlist("x-api-key")))


async def _json_object(request: Request) -> dict[str, Any]:
    content_types = request.headers.getlist("content-type") or ["application/json"]
    if len(content_types) > 1:
        raise FaceApiError(ErrorCode.DUPLICATE_FIELD, field="Content-Type")
    media_type = content_types[0].split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise FaceApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    encodings = ",".join(request.headers.getlist("content-encoding")).lower().split(",")
    if any(encoding.strip() not in ("", "identity") for encoding in encodings):
        raise FaceApiError(ErrorCode.UNSUPPORTED_CONTENT_ENCODING)
    raw = await request.body()
    try:
        body = await anyio.to_thread.run_sync(_parse_json, raw)  # big bodies: off the event loop
    except (ValueError, RecursionError) as error:
        raise FaceApiError(ErrorCode.INVALID_JSON) from error
    if not isinstance(body, dict):
        raise FaceApiError(ErrorCode.INVALID_BODY)
    return body


def _parse_json(raw: bytes) -> Any:
    """json.loads, refusing any object in the body that names a field twice.

    json.loads keeps the last of two "api_key"s; a proxy or log reading the first would then
    see another key than the one served, so neither is guessed at.
    """
    return json.loads(
        raw,
        object_pairs_hook=_unique_fields,
        parse_constant=_not_json,  # NaN and Infinity: Python's extension, not JSON
        parse_float=_any_number,
        parse_int=_any_number,
    )


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _any_number(digits: str) -> float:
    """No field of ours is a number, and int() refuses over 4,300 digits, valid as they are."""
    return float(digits)


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)  # in C: the common case costs next to nothing
    if len(fields) < len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                # Written as inside a JSON string, so a quote in the name cannot end ours.
                as_in_json = json.dumps(name, ensure_ascii=False)[1:-1]
                raise FaceApiError(ErrorCode.DUPLICATE_FIELD, field=quoted(as_in_json))
            seen.add(name)
    return fields


def _api_key(body: dict[str, Any], headers: list[str]) -> str:
    """The body's key; the X-API-Key header stands in when the body's is absent, null or "".

    The body's key is the contract's, so a header beside it is ignored (as the README says),
    never compared: only a key the client sent twice in one place is ambiguous.
    """
    if body.get("api_key") in (None, ""):
        if len(headers) > 1:  # as with a field named twice: which one would a proxy log?
            raise FaceApiError(ErrorCode.DUPLICATE_FIELD, field="X-API-Key")
        if not headers or not headers[0]:
            raise FaceApiError(ErrorCode.MISSING_API_KEY)
        return headers[0]
    return _string_field(body, "api_key", ErrorCode.MISSING_API_KEY)


def _string_field(body: dict[str, Any], name: str, missing: ErrorCode) -> str:
    value = body.get(name)
    if value is None:
        raise FaceApiError(missing)
    if not isinstance(value, str):
        raise FaceApiError(ErrorCode.INVALID_FIELD_TYPE, field=name, actual=_json_type(value))
    return value


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return names.get(type(value), "an object")
