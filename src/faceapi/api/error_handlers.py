"""Every failure under the API becomes the documented envelope, never a bare {"detail": ...}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from faceapi.api import envelope
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.keys import without_secrets
from faceapi.storage import StoreBusyError
from faceapi.text import quoted


def shown_path(path: str) -> str:
    """A request path as messages and logs show it: escaped, cut short, no key's secret."""
    return quoted(without_secrets(path))


def add_error_handlers(app: FastAPI, *, strict_http_status: bool) -> None:
    def respond(request: Request, failure: FaceApiError) -> JSONResponse:
        request.state.result_code = int(failure.code)
        return envelope.error(failure, strict_http_status=strict_http_status)

    async def on_api_error(request: Request, failure: Exception) -> JSONResponse:
        assert isinstance(failure, FaceApiError)
        return respond(request, failure)

    async def on_http_error(request: Request, failure: Exception) -> JSONResponse:
        """The router raises only these two: no such path, or not with this method."""
        assert isinstance(failure, HTTPException)
        if failure.status_code == 405:
            allowed = (failure.headers or {}).get("Allow", "POST")
            response = respond(
                request,
                FaceApiError(
                    ErrorCode.METHOD_NOT_ALLOWED,
                    path=shown_path(request.url.path),
                    method=quoted(request.method),
                    allowed=allowed,
                ),
            )
            response.headers["Allow"] = allowed
            return response
        path = shown_path(request.url.path)
        return respond(request, FaceApiError(ErrorCode.NOT_FOUND, path=path))

    async def on_validation_error(request: Request, _failure: Exception) -> JSONResponse:
        return respond(request, FaceApiError(ErrorCode.INVALID_BODY))

    async def on_store_busy(request: Request, _failure: Exception) -> JSONResponse:
        # Another process held the database locked too long: worth a retry, not a fault.
        return respond(request, FaceApiError(ErrorCode.SERVER_BUSY, retry_after=1))

    app.add_exception_handler(FaceApiError, on_api_error)
    app.add_exception_handler(StoreBusyError, on_store_busy)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
