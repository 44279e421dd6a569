"""The response envelope every /faceapi answer uses, success or failure."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from faceapi.errors import FaceApiError


def ok_body(data: dict[str, Any]) -> dict[str, Any]:
    return {"result": "Ok", "code": 0, "message": "", "data": data}


def error_body(failure: FaceApiError) -> dict[str, Any]:
    return {"result": "Err", "code": int(failure.code), "message": failure.message, "data": {}}


def ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(ok_body(data))


def error(failure: FaceApiError, *, strict_http_status: bool) -> JSONResponse:
    """The Err envelope; HTTP 200 as the spec documents, unless strict statuses are on."""
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    return JSONResponse(
        error_body(failure),
        status_code=failure.code.http_status if strict_http_status else 200,
        headers=headers,
    )
