"""A real `faceapi serve` process over real HTTP, managed with the real CLI, as a user would."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.request
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from faceapi.errors import ErrorCode
from tests.conftest import encode, key_secret
from tests.server_process import Server, running_server

EXPRESSIONS = {"neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"}
BODY_TIMEOUT = 2  # seconds; every other request here sends its body at once
HEAD_TIMEOUT = 2  # seconds; likewise for request heads


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("server"),
        body_timeout_seconds=str(BODY_TIMEOUT),
        head_timeout_seconds=str(HEAD_TIMEOUT),
    ) as server:
        yield server


@pytest.fixture(scope="module")
def image(astronaut: np.ndarray) -> str:
    return base64.b64encode(encode(astronaut)).decode()


def test_a_new_user_gets_answers_over_http(server: Server, image: str) -> None:
    key = server.new_key("curl user")
    for endpoint, fields in [
        ("face_age_detection", {"age"}),
        ("face_gender_detection", {"gender", "genderProbability"}),
        ("face_expression_detection", EXPRESSIONS),
    ]:
        response = server.analyze(endpoint, image, key)
        assert response.status_code == 200
        body = response.json()
        assert body["result"] == "Ok", body
        assert set(body["data"]) == fields


def test_revoking_with_the_cli_takes_effect_at_once(server: Server, image: str) -> None:
    key = server.new_key("to revoke")
    assert server.analyze("face_age_detection", image, key).json()["result"] == "Ok"
    assert '"name": "to revoke"' in server.cli("keys", "list", "--json")
    server.cli("keys", "revoke", key.split("_")[1])
    refused = server.analyze("face_age_detection", image, key).json()
    assert refused["code"] == ErrorCode.INVALID_API_KEY


def test_garbage_does_not_hurt_the_server(server: Server) -> None:
    response = httpx.post(f"{server.url}/faceapi/v1/face_age_detection", content=b"\x00\xff" * 999)
    assert response.json()["result"] == "Err"
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


# A POST that declares 100,000 bytes of body and sends a few.
PARTIAL_UPLOAD = (
    b"POST /faceapi/v1/face_age_detection HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    b'{"image": "AAAA'
)


def exchange(server: Server, raw: bytes) -> bytes:
    """Send `raw` on one connection and read until the server closes it."""
    address = httpx.URL(server.url)
    with socket.create_connection((address.host, address.port), timeout=10) as client:
        client.sendall(raw)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def test_a_client_hanging_up_mid_body_is_no_server_error(server: Server) -> None:
    address = httpx.URL(server.url)
    with socket.create_connection((address.host, address.port)) as client:
        client.sendall(PARTIAL_UPLOAD)
        time.sleep(0.5)
    time.sleep(0.5)  # the server notices the hang-up, then logs
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    assert any(line["message"] == "client disconnected" for line in lines)
    assert not [line for line in lines if line["level"] == "error"]
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


def test_a_stalled_upload_is_answered_and_cut_off(server: Server) -> None:
    started = time.monotonic()
    answer = exchange(server, PARTIAL_UPLOAD)  # ends when the server closes the connection
    waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), (answer, waited)
    assert b"\r\nconnection: close" in head.lower()
    assert json.loads(body)["code"] == ErrorCode.BODY_TIMEOUT
    assert BODY_TIMEOUT <= waited < BODY_TIMEOUT + 5
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "content_type", "size", "code"),
    [
        (
            "/faceapi/v1/face_age_detection",
            "text/plain",
            8_000_000,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "/faceapi/v1/face_age_detection",
            "application/json",
            20_000_000,
            ErrorCode.BODY_TOO_LARGE,
        ),
        ("/faceapi/v1/nope", "application/json", 8_000_000, ErrorCode.NOT_FOUND),
    ],
    ids=["wrong-type", "too-large", "unknown-path"],
)
def test_a_large_body_refused_unread_still_gets_its_envelope(
    server: Server, path: str, content_type: str, size: int, code: ErrorCode
) -> None:
    """Most clients send the whole body before reading the answer; a server that closes with
    the body unread resets the connection, and those clients never saw the envelope."""
    body = b'{"image": "' + b"A" * size + b'", "api_key": "x"}'
    sent = urllib.request.Request(
        f"{server.url}{path}", data=body, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(sent, timeout=30) as answer:
        assert json.loads(answer.read())["code"] == code


def test_an_oversized_request_head_is_refused_at_once(server: Server) -> None:
    """A header of any size used to be read in full, ever slower, holding up the worker."""
    address = httpx.URL(server.url)
    with socket.create_connection((address.host, address.port), timeout=10) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000)
        answer = client.recv(200)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


def test_a_slow_request_head_is_cut_off(server: Server) -> None:
    """A head sent a byte at a time used to hold its connection for as long as the client liked."""
    address = httpx.URL(server.url)
    started = time.monotonic()
    slow_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100  # 6.5 s at this pace
    with socket.create_connection((address.host, address.port), timeout=10) as client:
        with pytest.raises((BrokenPipeError, ConnectionResetError)):  # closed by the server
            _send_byte_by_byte(client, slow_head, pause=0.05)
        waited = time.monotonic() - started
    assert HEAD_TIMEOUT <= waited < HEAD_TIMEOUT + 5
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


def _send_byte_by_byte(client: socket.socket, data: bytes, pause: float) -> None:
    for byte in data:
        client.sendall(bytes([byte]))
        time.sleep(pause)


def test_a_slow_request_head_gets_408(server: Server) -> None:
    started = time.monotonic()
    answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # no blank line
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"\r\nconnection: close" in answer.lower()
    assert HEAD_TIMEOUT <= time.monotonic() - started < HEAD_TIMEOUT + 5


def test_the_next_request_s_head_gets_its_own_time_after_an_answer(server: Server) -> None:
    started = time.monotonic()
    answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 408 " in answer
    assert HEAD_TIMEOUT <= time.monotonic() - started < HEAD_TIMEOUT + 5


def test_a_silent_connection_is_closed(server: Server) -> None:
    started = time.monotonic()
    assert exchange(server, b"") == b""
    assert HEAD_TIMEOUT <= time.monotonic() - started < HEAD_TIMEOUT + 5


def test_an_absolute_form_target_is_routed_by_its_path(server: Server) -> None:
    answer = exchange(
        server, b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"status":"ok"}')


def test_a_body_framed_both_ways_ends_the_connection(server: Server) -> None:
    """With Content-Length and Transfer-Encoding, a proxy framing by the length would hide a
    second request inside the body; the server answers the first and reads no further."""
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = exchange(
        server,
        b"POST /faceapi/v1/face_age_detection HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 44\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
    )
    assert answer.count(b"HTTP/1.1 ") == 1
    assert b"\r\nconnection: close" in answer.lower()


def test_server_logs_are_json_and_hold_no_secrets(server: Server, image: str) -> None:
    key = server.new_key("log check")
    server.analyze("face_age_detection", image, key)
    time.sleep(0.5)  # the access line is written just after the response
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "faceapi.access"]
    assert any(line["code"] == 0 and line["path"].endswith("face_age_detection") for line in access)
    assert all({"request_id", "duration_ms", "status"} <= set(line) for line in access)
    text = server.log.read_text()
    assert key_secret(key) not in text
    assert image[:100] not in text
    assert "\\u001b" not in text  # uvicorn's colour codes stay out of the JSON
