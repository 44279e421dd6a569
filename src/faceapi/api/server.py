"""Serving the app with uvicorn: its HTTP/1.1 parser, and limits on how a request head arrives."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from faceapi.api.app import create_app
from faceapi.logs import configure_logging
from faceapi.settings import Settings

MAX_REQUEST_HEAD_BYTES = 16 * 1024  # request line and headers still arriving; h11's default
WORKER_PING_TIMEOUT_SECONDS = 30
HEAD_TIMEOUT_MESSAGE = b"The request line and headers did not arrive in time."
HEAD_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
    % (len(HEAD_TIMEOUT_MESSAGE), HEAD_TIMEOUT_MESSAGE)
)

logger = logging.getLogger("faceapi.server")


def run(settings: Settings) -> None:
    """Serve on `settings`' address with `settings.workers` processes; each builds its own app."""
    uvicorn.run(
        "faceapi.api.server:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
        # h11, not httptools: h11 answers 400 to a request head still incomplete past
        # 16 KB, while httptools takes headers of any size, slower the longer they are, so
        # one client could stall a worker with a header of hundreds of megabytes.
        http=functools.partial(HeadTimeoutProtocol, head_timeout=settings.head_timeout_seconds),
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        # A worker loading its models on a busy machine can miss uvicorn's default 5 s ping,
        # and was killed and started again, its load wasted.
        timeout_worker_healthcheck=WORKER_PING_TIMEOUT_SECONDS,
    )


def app_from_environment() -> FastAPI:
    """Factory each server process calls: settings come from FACEAPI_* and FACEAPI_CONFIG."""
    settings = Settings.load()
    configure_logging(settings.log_level)
    return create_app(settings)


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is slow to arrive.

    uvicorn times out only a keep-alive connection that sends nothing: a client that sends its
    request line and headers a byte at a time could hold a socket for as long as it liked.
    The clock starts when the connection opens and again after each answer; the body has its
    own limit (`body_timeout_seconds`, in the middleware)."""

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _start_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self._head_timeout, self._on_head_timeout)

    def _on_head_timeout(self) -> None:
        # h11 leaves IDLE once a whole request head has been parsed.
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        partial_head, _ = self.conn.trailing_data
        if partial_head:  # a silent connection is closed without an answer, like keep-alive's
            logger.info("request head timed out", extra={"timeout_seconds": self._head_timeout})
            self.transport.write(HEAD_TIMEOUT_RESPONSE)
        self.transport.close()
