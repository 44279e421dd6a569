"""Request bodies over the time or size limit, sent straight to the ASGI app so that a client
can stall mid-body (a test client always sends the whole body first).

Each request runs in its own event loop, apart from the test client's; that is safe here
because every case ends before the app reaches a service bound to a loop.
tests/test_server.py checks the same over a real socket against `faceapi serve`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from starlette.types import ASGIApp, Message

from faceapi.api import middleware
from faceapi.errors import ErrorCode
from tests.conftest import AppFactory

TIMEOUT = 0.3  # seconds
AGE = "/faceapi/v1/face_age_detection"
FORM = b"application/x-www-form-urlencoded"
JSON = b"application/json"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


# Each yields the next body message, or sleeps to stand for a client that sends nothing.
Upload = Callable[[], Awaitable[Message]]


def stalled(first: bytes) -> Upload:
    """One piece of the body, then nothing."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": first, "more_body": True}

    return receive


def trickled(every: float) -> Upload:
    """A byte at a time, each `every` seconds apart, never finishing."""

    async def receive() -> Message:
        await asyncio.sleep(every)
        return {"type": "http.request", "body": b" ", "more_body": True}

    return receive


def sent_in(pieces: int) -> tuple[Upload, list[int]]:
    """A body of `pieces` pieces sent at once, and a list that counts the pieces read."""
    read: list[int] = []

    async def receive() -> Message:
        read.append(len(read))
        return {"type": "http.request", "body": b"x" * 1000, "more_body": len(read) < pieces}

    return receive, read


def request(
    app: ASGIApp,
    path: str,
    content_type: bytes,
    upload: Upload,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> Answer:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type),
            (b"content-length", b"100000"),
            *extra_headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, upload, send), 10))
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(start["status"], headers, body)


@pytest.mark.parametrize("strict", [False, True], ids=["http-200", "strict-http"])
def test_a_stalled_api_body_gets_1010_and_the_connection_closed(
    make_client: AppFactory, strict: bool
) -> None:
    app = make_client(body_timeout_seconds=TIMEOUT, strict_http_status=strict).app
    answer = request(app, AGE, JSON, stalled(b'{"image": "AAAA'))
    assert answer.status == (408 if strict else 200)
    assert answer.headers["connection"] == "close"
    body = json.loads(answer.body)
    assert body["code"] == ErrorCode.BODY_TIMEOUT
    assert f"within {TIMEOUT:g} seconds" in body["message"]


def test_a_body_still_trickling_in_at_the_deadline_is_cut_off(make_client: AppFactory) -> None:
    app = make_client(body_timeout_seconds=TIMEOUT).app
    answer = request(app, AGE, JSON, trickled(every=TIMEOUT / 10))
    assert json.loads(answer.body)["code"] == ErrorCode.BODY_TIMEOUT


def test_a_body_refused_before_it_is_read_closes_the_connection(make_client: AppFactory) -> None:
    """Otherwise a client could keep the connection by sending the rest a byte at a time."""
    app = make_client().app
    answer = request(app, AGE, b"text/plain", stalled(b"hello"))
    assert json.loads(answer.body)["code"] == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert answer.headers["connection"] == "close"


def test_a_body_refused_unread_is_read_to_its_end_before_the_answer(
    make_client: AppFactory,
) -> None:
    """Clients that send all before reading would otherwise get a reset, not the answer."""
    upload, read = sent_in(pieces=5)
    answer = request(make_client().app, AGE, b"text/plain", upload)
    assert json.loads(answer.body)["code"] == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert len(read) == 5
    assert "connection" not in answer.headers  # the body is all in: the connection can stay


def test_a_client_waiting_for_100_continue_is_not_asked_for_a_refused_body(
    make_client: AppFactory,
) -> None:
    upload, read = sent_in(pieces=5)
    expect = ((b"expect", b"100-continue"),)
    answer = request(make_client().app, AGE, b"text/plain", upload, expect)
    assert json.loads(answer.body)["code"] == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert read == []
    assert answer.headers["connection"] == "close"


def test_a_refused_body_declared_too_large_to_drain_is_not_read(make_client: AppFactory) -> None:
    """Reading stops at four times the limit, so a body declared larger is left unread."""
    upload, read = sent_in(pieces=100)  # the request declares 100,000 bytes
    answer = request(make_client(max_body_bytes=2000).app, AGE, JSON, upload)
    assert json.loads(answer.body)["code"] == ErrorCode.BODY_TOO_LARGE
    assert read == []
    assert answer.headers["connection"] == "close"


def test_a_trickled_refused_body_is_drained_for_a_few_seconds_at_most(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else a client could hold a connection on any path for the whole body time limit."""
    monkeypatch.setattr(middleware, "DRAIN_SECONDS", TIMEOUT)
    started = time.monotonic()
    answer = request(make_client().app, AGE, b"text/plain", trickled(every=TIMEOUT / 10))
    assert json.loads(answer.body)["code"] == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert time.monotonic() - started < 5 * TIMEOUT  # the body's own limit is 60 s
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("path", ["/console/sign-in", "/console/sign-out"])
def test_a_stalled_console_form_is_an_html_page_not_a_server_error(
    make_client: AppFactory, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """sign-in reads its fields through FastAPI; sign-out only through the CSRF check."""
    app = make_client(body_timeout_seconds=TIMEOUT).app
    with caplog.at_level(logging.INFO):
        answer = request(app, path, FORM, stalled(b"email=ada"))
    assert answer.status == 408
    assert answer.headers["content-type"].startswith("text/html")
    assert b"The form took too long to arrive" in answer.body
    assert answer.headers["connection"] == "close"
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_console_form_declared_too_large_is_an_html_page(make_client: AppFactory) -> None:
    """A browser always declares its form's length: the refusal must still be a page."""
    app = make_client(max_body_bytes=2048).app  # the helper declares 100,000 bytes
    answer = request(app, "/console/sign-in", FORM, stalled(b"email=ada"))
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert b"The form is larger than the server accepts" in answer.body
    assert answer.headers["connection"] == "close"
