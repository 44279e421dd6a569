"""Per-request plumbing: request id, absolute-form targets, body size and time limits, when
to close the connection, and one access-log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceapi.api import envelope
from faceapi.api.error_handlers import shown_path
from faceapi.errors import ErrorCode, FaceApiError

access_log = logging.getLogger("faceapi.access")
error_log = logging.getLogger("faceapi.errors")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# "scheme://host" at the start of an absolute-form target, in the path and in the raw bytes.
_SCHEME_AND_HOST = r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*"
_ABSOLUTE_FORM = re.compile(_SCHEME_AND_HOST)
_RAW_ABSOLUTE_FORM = re.compile(_SCHEME_AND_HOST.encode())
# How long and how much of an unread body to drop before answering (see _LimitedBody.drain).
DRAIN_SECONDS = 10.0
DRAIN_IDLE_SECONDS = 1.0
DRAIN_LIMIT_FACTOR = 4


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout_seconds: float,
        strict_http_status: bool,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.strict_http_status = strict_http_status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        _to_origin_form(scope)
        headers = Headers(scope=scope)
        client_id = headers.get("x-request-id", "")
        request_id = client_id if _CLIENT_REQUEST_ID.match(client_id) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 0
        body = _LimitedBody(receive, headers, self.max_body_bytes, self.body_timeout_seconds)
        # A body framed both ways is read by its Transfer-Encoding, but a proxy in front may
        # have framed it by its Content-Length: what follows must not be read as a request.
        framed_twice = "content-length" in headers and "transfer-encoding" in headers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-ID"] = request_id
                await body.drain()
                # Answered before the whole body came in (refused, or cut off), uvicorn
                # would keep the connection for the rest, and every byte the client sends
                # restarts its keep-alive timer, so a slow client could hold it.
                if not body.complete or framed_twice:
                    response_headers["Connection"] = "close"
            await send(message)

        try:
            await self.app(scope, body.receive, send_with_id)
        except ClientDisconnect:
            # The client hung up mid-body: nothing failed here and there is no one to answer.
            error_log.info("client disconnected", extra={"request_id": request_id})
        except Exception:
            # The traceback goes to our log under the request id the client is told; the
            # client learns nothing of the internals.
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if not status:
                failure = FaceApiError(ErrorCode.INTERNAL_ERROR, request_id=request_id)
                await self._fail(failure, scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": shown_path(scope["path"]),
                    "status": status,
                    "code": state.get("result_code"),
                    "key_id": state.get("key_id"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )

    async def _fail(
        self, failure: FaceApiError, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["state"]["result_code"] = int(failure.code)
        response = envelope.error(failure, strict_http_status=self.strict_http_status)
        await response(scope, receive, send)


def _to_origin_form(scope: Scope) -> None:
    """Route an absolute-form target ("GET http://host/path"), which servers must accept
    (RFC 9112, 3.2.2) and uvicorn's h11 parser passes on whole as the path, by its path."""
    scheme_and_host = _ABSOLUTE_FORM.match(scope["path"])
    if scheme_and_host:
        scope["path"] = scope["path"][scheme_and_host.end() :] or "/"
        raw_path = scope.get("raw_path") or b""
        raw_scheme_and_host = _RAW_ABSOLUTE_FORM.match(raw_path)
        if raw_scheme_and_host:
            scope["raw_path"] = raw_path[raw_scheme_and_host.end() :] or b"/"


class _LimitedBody:
    """The request body as the app receives it, within a size and a time limit.

    A declared Content-Length over the limit is refused before a byte is read; chunked
    uploads have none, so bytes are also counted as they arrive. Refusing here, when the app
    asks for the body, lets the API answer with its envelope and the console with a page.
    The time limit is a total for the whole body, not an idle timeout: a client that sends a
    byte now and then would otherwise hold its connection and partial body indefinitely.
    """

    def __init__(
        self, receive: Receive, headers: Headers, max_bytes: int, timeout_seconds: float
    ) -> None:
        self._receive = receive
        self._max_bytes = max_bytes
        self._timeout_seconds = timeout_seconds
        self._deadline = anyio.current_time() + timeout_seconds
        self._received = 0
        declared = headers.get("content-length", "")
        self._declared = int(declared) if declared.isascii() and declared.isdigit() else 0
        self.complete = "transfer-encoding" not in headers and self._declared == 0
        # Until the app first asks for the body, uvicorn has not said "100 Continue", so a
        # client that asked to be told has sent none of it and must not be asked for it now.
        self._awaits_continue = headers.get("expect", "").lower() == "100-continue"

    async def receive(self) -> Message:
        if self.complete:  # only a disconnect can follow, whenever the client leaves
            return await self._receive()
        if self._declared > self._max_bytes:
            raise FaceApiError(ErrorCode.BODY_TOO_LARGE, limit=self._max_bytes)
        self._awaits_continue = False
        with anyio.move_on_after(self._deadline - anyio.current_time()) as waiting:
            message = await self._receive()
        if waiting.cancelled_caught:
            raise FaceApiError(ErrorCode.BODY_TIMEOUT, limit=self._timeout_seconds)
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                raise FaceApiError(ErrorCode.BODY_TOO_LARGE, limit=self._max_bytes)
            self.complete = not message.get("more_body", False)
        return message

    async def drain(self) -> None:
        """Read and drop what is left of a body the app answers without reading.

        Most clients send the whole body before they read the answer, and closing a
        connection with bytes unread resets it, so those clients would see a reset instead
        of the answer. The reading stops after DRAIN_SECONDS (or the body's time limit, if
        sooner), DRAIN_IDLE_SECONDS without a byte, or DRAIN_LIMIT_FACTOR times the size
        limit, and a body declared larger than that is not read at all; the connection is
        then closed unread. So a trickle holds no connection for long, on any path.
        """
        budget = DRAIN_LIMIT_FACTOR * self._max_bytes
        if self._declared > budget:
            return  # its end would not be reached: reading it would be wasted
        deadline = min(self._deadline, anyio.current_time() + DRAIN_SECONDS)
        while not self.complete and not self._awaits_continue and budget > 0:
            idle = min(DRAIN_IDLE_SECONDS, deadline - anyio.current_time())
            message: Message | None = None
            with anyio.move_on_after(idle):
                message = await self._receive()
            if message is None or message["type"] != "http.request":
                return
            budget -= len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
