"""Failures inside the console are HTML pages (the API keeps its JSON envelope)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from faceapi.console.guards import CsrfError, SignInRequiredError
from faceapi.console.rendering import render
from faceapi.console.state import redirect
from faceapi.errors import ErrorCode, FaceApiError

_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    408: "Too slow",
    413: "Too large",
}
_NOT_FOUND = "There is nothing at this address. Check the link, or start from your Settings."


def add_error_pages(console: FastAPI) -> None:
    console.add_exception_handler(HTTPException, _http_error)
    console.add_exception_handler(FaceApiError, _request_refused)
    console.add_exception_handler(RequestValidationError, _invalid_request)
    console.add_exception_handler(SignInRequiredError, _to_sign_in)
    console.add_exception_handler(CsrfError, _csrf_failed)
    console.add_exception_handler(Exception, _server_error)


def error_page(request: Request, status_code: int, message: str) -> Response:
    title = _TITLES.get(status_code, "Something went wrong")
    context = {"title": title, "message": message}
    return render(request, "error.html", context, status_code=status_code)


async def _http_error(request: Request, failure: Exception) -> Response:
    assert isinstance(failure, HTTPException)
    if isinstance(failure.__cause__, FaceApiError):
        # FastAPI turns any failure while reading a form into "error parsing the body"; a
        # body the server cut off (too large, too slow) should say so.
        return await _request_refused(request, failure.__cause__)
    message = _NOT_FOUND if failure.detail == "Not Found" else str(failure.detail)
    return error_page(request, failure.status_code, message)


# The API's messages for these speak of images; a console form is not one.
_FORM_MESSAGES = {
    ErrorCode.BODY_TIMEOUT: "The form took too long to arrive, so nothing was done. Try again.",
    ErrorCode.BODY_TOO_LARGE: "The form is larger than the server accepts, so nothing was done.",
}


async def _request_refused(request: Request, failure: Exception) -> Response:
    """A request the HTTP layer refused, e.g. a form body over the size or time limit."""
    assert isinstance(failure, FaceApiError)
    message = _FORM_MESSAGES.get(failure.code, failure.message)
    return error_page(request, failure.code.http_status, message)


async def _invalid_request(request: Request, _failure: Exception) -> Response:
    return error_page(request, 400, "The request was not understood. Go back and try again.")


async def _to_sign_in(request: Request, _failure: Exception) -> Response:
    return redirect(request, "sign_in")


async def _csrf_failed(request: Request, _failure: Exception) -> Response:
    message = (
        "This form has expired or did not come from this site, so nothing was done. "
        "Go back, reload the page and send it again."
    )
    return error_page(request, 403, message)


async def _server_error(request: Request, _failure: Exception) -> Response:
    # The request middleware logs the traceback under this id; the page only quotes it.
    request_id = getattr(request.state, "request_id", "unknown")
    message = f"The server failed to show this page (request id {request_id}). Try again."
    return error_page(request, 500, message)
