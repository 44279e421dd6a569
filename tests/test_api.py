"""The v1 endpoints through the real ASGI app: exact envelopes, and every documented error."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import httpx2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from faceapi.engine.decode import MAX_JPEG_SCANS
from faceapi.errors import ErrorCode
from faceapi.services.keys import KeyService
from faceapi.storage import sql
from tests.conftest import AppFactory, encode, key_secret, progressive_jpeg
from tests.test_decode import png_claiming

AGE, GENDER, EXPRESSION = (
    "/faceapi/v1/face_age_detection",
    "/faceapi/v1/face_gender_detection",
    "/faceapi/v1/face_expression_detection",
)
EXPRESSION_KEYS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(client: TestClient, path: str, image: bytes, key: str) -> dict[str, Any]:
    response = client.post(path, json={"image": b64(image), "api_key": key})
    assert response.status_code == 200
    return response.json()


def assert_envelope_ok(body: dict[str, Any]) -> dict[str, Any]:
    assert list(body) == ["result", "code", "message", "data"]
    assert body["result"] == "Ok"
    assert body["code"] == 0
    assert isinstance(body["message"], str)
    return body["data"]


def test_age_endpoint(client: TestClient, api_key: str, astronaut: np.ndarray) -> None:
    data = assert_envelope_ok(post(client, AGE, encode(astronaut), api_key))
    assert list(data) == ["age"]
    assert type(data["age"]) is int
    assert 20 <= data["age"] <= 60  # Eileen Collins was in her late thirties


def test_gender_endpoint(client: TestClient, api_key: str, astronaut: np.ndarray) -> None:
    data = assert_envelope_ok(post(client, GENDER, encode(astronaut), api_key))
    assert list(data) == ["gender", "genderProbability"]
    assert data["gender"] == "F"
    assert type(data["genderProbability"]) is int
    assert 50 <= data["genderProbability"] <= 100


def test_gender_of_a_man(client: TestClient, api_key: str, cameraman: np.ndarray) -> None:
    data = assert_envelope_ok(post(client, GENDER, encode(cameraman), api_key))
    assert data["gender"] == "M"


def test_expression_endpoint(client: TestClient, api_key: str, astronaut: np.ndarray) -> None:
    data = assert_envelope_ok(post(client, EXPRESSION, encode(astronaut), api_key))
    assert list(data) == EXPRESSION_KEYS
    assert all(type(value) is int and 0 <= value <= 100 for value in data.values())
    assert sum(data.values()) == 100
    assert max(data, key=data.__getitem__) == "happy"  # she is smiling broadly


@pytest.mark.parametrize("body_key", [{}, {"api_key": None}, {"api_key": ""}])
def test_key_may_come_in_a_header(
    client: TestClient, api_key: str, astronaut: np.ndarray, body_key: dict[str, str | None]
) -> None:
    body = {"image": b64(encode(astronaut))} | body_key
    response = client.post(AGE, json=body, headers={"X-API-Key": api_key})
    assert response.json()["result"] == "Ok"


@pytest.mark.parametrize("empty", [None, ""])
def test_a_null_or_empty_key_without_a_header_is_missing(
    client: TestClient, astronaut: np.ndarray, empty: str | None
) -> None:
    response = client.post(AGE, json={"image": b64(encode(astronaut)), "api_key": empty})
    assert response.json()["code"] == ErrorCode.MISSING_API_KEY


def test_a_trailing_slash_gets_the_not_found_envelope_not_a_redirect(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    body = {"image": b64(encode(astronaut)), "api_key": api_key}
    response = client.post(f"{AGE}/", json=body, follow_redirects=False)
    assert response.status_code == 200
    assert response.json()["code"] == ErrorCode.NOT_FOUND


@pytest.mark.parametrize("encoding", ["", "identity", " Identity "])
def test_an_uncompressed_content_encoding_is_accepted(
    client: TestClient, api_key: str, astronaut: np.ndarray, encoding: str
) -> None:
    body = json.dumps({"image": b64(encode(astronaut)), "api_key": api_key})
    headers = {**JSON_TYPE, "Content-Encoding": encoding}
    assert client.post(AGE, content=body, headers=headers).json()["result"] == "Ok"


def test_a_repeated_field_is_named_as_written_in_json(client: TestClient) -> None:
    body = b'{"image": "", "a\\"b": 1, "a\\"b": 2}'
    response = client.post(AGE, content=body, headers=JSON_TYPE).json()
    assert response["code"] == ErrorCode.DUPLICATE_FIELD
    assert 'The field "a\\"b" appears' in response["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_python_s_json_extensions_are_not_json(client: TestClient, constant: str) -> None:
    for body in (constant, f'{{"image": "", "api_key": "k", "extra": {constant}}}'):
        response = client.post(AGE, content=body, headers=JSON_TYPE).json()
        assert response["code"] == ErrorCode.INVALID_JSON, body


def test_a_long_number_in_an_extra_field_is_valid_json(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    """Python's int() refuses over 4,300 digits; JSON sets no such limit."""
    image = json.dumps(b64(encode(astronaut)))
    body = f'{{"image": {image}, "api_key": "{api_key}", "extra": {"1" * 5000}}}'
    assert client.post(AGE, content=body, headers=JSON_TYPE).json()["result"] == "Ok"


def test_a_content_type_sent_twice_is_refused(client: TestClient, api_key: str) -> None:
    headers = [("Content-Type", "application/json"), ("Content-Type", "text/plain")]
    response = client.post(AGE, content=json.dumps(_json("", api_key)), headers=headers)
    assert response.json()["code"] == ErrorCode.DUPLICATE_FIELD


def test_a_key_header_sent_twice_is_refused_not_guessed(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    headers = [("X-API-Key", "fa_bad"), ("X-API-Key", api_key)]
    response = client.post(AGE, json={"image": b64(encode(astronaut))}, headers=headers)
    assert response.json()["code"] == ErrorCode.DUPLICATE_FIELD
    assert '"X-API-Key"' in response.json()["message"]


@pytest.mark.parametrize(
    "encodings", [["identity", "gzip"], ["identity, gzip"]], ids=["two-headers", "a-list"]
)
def test_every_content_encoding_counts_not_only_the_first(
    client: TestClient, api_key: str, astronaut: np.ndarray, encodings: list[str]
) -> None:
    body = gzip.compress(json.dumps({"image": b64(encode(astronaut)), "api_key": api_key}).encode())
    headers = [("Content-Type", "application/json")] + [("Content-Encoding", e) for e in encodings]
    response = client.post(AGE, content=body, headers=headers)
    assert response.json()["code"] == ErrorCode.UNSUPPORTED_CONTENT_ENCODING


def test_a_long_unknown_path_is_quoted_short_and_escaped(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="faceapi.access"):
        answer = client.post("/%1b[31m" + "a" * 8000, json={}).json()
    assert answer["code"] == ErrorCode.NOT_FOUND
    assert "/\\x1b[31maaa" in answer["message"]
    assert len(answer["message"]) < 400
    (logged,) = [record.path for record in caplog.records if hasattr(record, "path")]
    assert logged.startswith("/\\x1b[31maaa")
    assert len(logged) < 200


def test_a_key_put_in_the_path_is_neither_echoed_nor_logged(
    client: TestClient, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys are never logged, even where a client puts one by mistake."""
    secret = key_secret(api_key)
    with caplog.at_level(logging.INFO, logger="faceapi.access"):
        unprefixed = api_key.removeprefix("fa_")  # copied without it: still the secret
        for path in (f"{AGE}/{api_key}", f"/{api_key}/x", f"/{unprefixed}"):
            assert secret not in client.post(path, json={}).text
            assert secret not in client.get(path).text
    logged = [record.path for record in caplog.records if hasattr(record, "path")]
    assert len(logged) == 6
    masked = unprefixed.removesuffix(secret) + "***"  # "<id>_***"
    assert all(masked in path and secret not in path for path in logged)


def test_a_very_large_photo_is_answered_alike_and_faces_are_measured_in_its_pixels(
    make_client: AppFactory, astronaut: np.ndarray
) -> None:
    """Decoded at half size (4400 to 2200 px); her face is about 820 px across in the file.

    The reference is the same picture sent at 2200 px, which is decoded as it is.
    """
    picture = Image.fromarray(astronaut)
    half, large = (encode(picture.resize((side, side)), quality=90) for side in (2200, 4400))
    answers = {}
    for min_face_side in (20, 600, 1000):
        client = make_client(min_face_side=min_face_side)
        key = KeyService(client.app.state.services.store).create("large").secret
        answers[min_face_side] = post(client, AGE, half if min_face_side == 20 else large, key)
    assert abs(answers[20]["data"]["age"] - answers[600]["data"]["age"]) <= 1
    assert answers[1000]["code"] == ErrorCode.FACE_TOO_SMALL
    size = int(answers[1000]["message"].split(" pixels")[0].rsplit(" ", 1)[1])
    assert 780 <= size <= 860


def test_a_small_face_in_a_large_photo_is_found(
    make_client: AppFactory, astronaut: np.ndarray
) -> None:
    """Her face, about 55 px across in a 1920 px photo, is under 20 px at the detector's 640
    px; it used to be answered 3001, no face. Now it is found, or too small where it is."""
    photo = Image.new("RGB", (1920, 1440), (120, 130, 140))
    photo.paste(Image.fromarray(astronaut).resize((160, 160)), (900, 500))
    answers = {}
    for min_face_side in (20, 100):
        client = make_client(min_face_side=min_face_side)
        key = KeyService(client.app.state.services.store).create("small face").secret
        answers[min_face_side] = post(client, AGE, encode(photo, quality=95), key)
    assert answers[20]["result"] == "Ok", answers[20]
    assert answers[100]["code"] == ErrorCode.FACE_TOO_SMALL


def test_a_small_tight_face_crop_is_found(make_client: AppFactory, astronaut: np.ndarray) -> None:
    """A thumbnail that is nothing but a face, 48 px wide: RetinaFace missed it at that size."""
    face = Image.fromarray(astronaut[82:165, 203:248]).resize((48, 89))
    answers = {}
    for min_side in (0, 160):
        client = make_client(detector_min_side=min_side)
        key = KeyService(client.app.state.services.store).create("thumbnail").secret
        answers[min_side] = post(client, AGE, encode(face, "PNG"), key)
    assert answers[0]["code"] == ErrorCode.NO_FACE_FOUND
    assert answers[160]["result"] == "Ok", answers[160]


def test_a_small_face_in_a_small_photo_is_too_small_not_absent(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    """Her face, 18 px wide in a 64 px picture, is found once enlarged, and is under 20 px."""
    photo = Image.new("RGB", (64, 64), (120, 130, 140))
    photo.paste(Image.fromarray(astronaut[57:177, 178:273]).resize((18, 23)), (21, 21))
    answer = post(client, AGE, encode(photo, "PNG"), api_key)
    assert answer["code"] == ErrorCode.FACE_TOO_SMALL, answer


def test_png_with_exif_rotation_gives_the_identical_answer(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    """A phone stores a portrait sideways with an orientation tag: the answer must not change."""
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    sideways = encode(Image.fromarray(np.rot90(astronaut)), "PNG", exif=exif)
    upright = encode(astronaut, "PNG")
    for path in (AGE, GENDER, EXPRESSION):
        assert post(client, path, sideways, api_key) == post(client, path, upright, api_key)


def test_jpeg_with_exif_rotation_gives_the_same_answer(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    """As above, through JPEG: re-encoding the turned pixels only adds compression noise."""
    exif = Image.Exif()
    exif[0x0112] = 8
    sideways = encode(Image.fromarray(np.rot90(astronaut, k=3)), "JPEG", quality=95, exif=exif)
    upright = encode(astronaut, "JPEG", quality=95)
    ages = [post(client, AGE, image, api_key)["data"]["age"] for image in (sideways, upright)]
    assert abs(ages[0] - ages[1]) <= 1
    genders = [post(client, GENDER, image, api_key)["data"] for image in (sideways, upright)]
    assert genders[0]["gender"] == genders[1]["gender"]
    assert abs(genders[0]["genderProbability"] - genders[1]["genderProbability"]) <= 2
    moods = [post(client, EXPRESSION, image, api_key)["data"] for image in (sideways, upright)]
    assert max(abs(moods[0][label] - moods[1][label]) for label in EXPRESSION_KEYS) <= 3


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_photo_turned_without_exif_gives_the_upright_answer(
    client: TestClient, api_key: str, astronaut: np.ndarray, quarter_turns: int
) -> None:
    """Stored turned and no tag to say so: she read 42.9 (M), 22.0 (M) and 39.2 (M) before,
    against 29.0 (F) upright, since the models were given a face lying on its side."""
    turned = encode(np.rot90(astronaut, quarter_turns), "PNG")
    upright = encode(astronaut, "PNG")
    for path in (AGE, GENDER, EXPRESSION):
        assert post(client, path, turned, api_key) == post(client, path, upright, api_key)


# Each case: settings to change, then a function (client, key, images) -> response.
Case = tuple[dict[str, Any], Callable[[TestClient, str, dict[str, bytes]], httpx2.Response]]


def _json(image: Any, key: Any) -> dict[str, Any]:
    return {"image": image, "api_key": key}


ERROR_CASES: dict[ErrorCode, Case] = {
    ErrorCode.INVALID_JSON: (
        {},
        lambda c, k, i: c.post(AGE, content=b'{"image": "abc", ', headers=JSON_TYPE),
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        {},
        lambda c, k, i: c.post(AGE, data={"image": "abc", "api_key": k}),
    ),
    ErrorCode.UNSUPPORTED_CONTENT_ENCODING: (
        {},
        lambda c, k, i: c.post(
            AGE,
            content=gzip.compress(json.dumps(_json(b64(i["face"]), k)).encode()),
            headers={**JSON_TYPE, "Content-Encoding": "gzip"},
        ),
    ),
    ErrorCode.DUPLICATE_FIELD: (
        {},
        lambda c, k, i: c.post(
            AGE,
            content=f'{{"image": "{b64(i["face"])}", "api_key": "{k}", "api_key": "x"}}',
            headers=JSON_TYPE,
        ),
    ),
    ErrorCode.INVALID_BODY: ({}, lambda c, k, i: c.post(AGE, json=["image", "api_key"])),
    ErrorCode.INVALID_FIELD_TYPE: ({}, lambda c, k, i: c.post(AGE, json=_json(12345, k))),
    ErrorCode.BODY_TOO_LARGE: (
        {"max_body_bytes": 4096},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["face"]), k)),
    ),
    ErrorCode.NOT_FOUND: ({}, lambda c, k, i: c.post("/faceapi/v1/face_mood", json=_json("", k))),
    ErrorCode.METHOD_NOT_ALLOWED: ({}, lambda c, k, i: c.get(AGE)),
    ErrorCode.MISSING_IMAGE: ({}, lambda c, k, i: c.post(AGE, json={"api_key": k})),
    ErrorCode.INVALID_BASE64: ({}, lambda c, k, i: c.post(AGE, json=_json("@@not*base64@@", k))),
    ErrorCode.EMPTY_IMAGE: ({}, lambda c, k, i: c.post(AGE, json=_json("", k))),
    ErrorCode.UNSUPPORTED_IMAGE_FORMAT: (
        {},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["random"]), k)),
    ),
    ErrorCode.CORRUPT_IMAGE: ({}, lambda c, k, i: c.post(AGE, json=_json(b64(i["truncated"]), k))),
    ErrorCode.IMAGE_TOO_LARGE: (
        {"max_image_bytes": 2048},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["face"]), k)),
    ),
    ErrorCode.IMAGE_TOO_MANY_PIXELS: (
        {},
        lambda c, k, i: c.post(AGE, json=_json(b64(png_claiming(50_000, 50_000)), k)),
    ),
    ErrorCode.IMAGE_TOO_SMALL: ({}, lambda c, k, i: c.post(AGE, json=_json(b64(i["tiny"]), k))),
    ErrorCode.IMAGE_TOO_MANY_SCANS: (
        {},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["endless scans"]), k)),
    ),
    ErrorCode.NO_FACE_FOUND: ({}, lambda c, k, i: c.post(AGE, json=_json(b64(i["cat"]), k))),
    ErrorCode.FACE_TOO_SMALL: (
        {"min_face_side": 300},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["face"]), k)),
    ),
    ErrorCode.MISSING_API_KEY: ({}, lambda c, k, i: c.post(AGE, json={"image": b64(i["face"])})),
    ErrorCode.INVALID_API_KEY: (
        {},
        lambda c, k, i: c.post(AGE, json=_json(b64(i["face"]), k[:-2] + "xx")),
    ),
    ErrorCode.RATE_LIMITED: (
        {"rate_limit_per_second": 0.1, "rate_limit_burst": 1},
        lambda c, k, i: [c.post(AGE, json=_json(b64(i["face"]), k)) for _ in range(2)][-1],
    ),
}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def images(astronaut: np.ndarray, cat: np.ndarray) -> dict[str, bytes]:
    face = encode(astronaut)
    return {
        "face": face,
        "truncated": face[: len(face) // 2],
        "random": np.random.default_rng(1).bytes(4000),
        "tiny": encode(astronaut[:16, :16]),
        "endless scans": progressive_jpeg(astronaut, MAX_JPEG_SCANS + 1),
        "cat": encode(cat),
    }


@pytest.mark.parametrize("strict", [False, True], ids=["http-200", "strict-http"])
@pytest.mark.parametrize("code", list(ERROR_CASES), ids=lambda code: code.name)
def test_error_codes(
    make_client: AppFactory, images: dict[str, bytes], code: ErrorCode, strict: bool
) -> None:
    settings, send = ERROR_CASES[code]
    client = make_client(strict_http_status=strict, **settings)
    key = KeyService(client.app.state.services.store).create("errors").secret
    response = send(client, key, images)
    body = response.json()
    assert body == {"result": "Err", "code": int(code), "message": body["message"], "data": {}}
    assert len(body["message"]) > 20
    assert response.status_code == (code.http_status if strict else 200)
    if code is ErrorCode.RATE_LIMITED:
        assert int(response.headers["Retry-After"]) >= 1
    # The server is unharmed: a good request right after succeeds, where the case's own
    # limits allow one; otherwise it still answers readiness checks.
    if settings:
        assert client.get("/readyz").status_code == 200
    else:
        assert post_status(client, key, images["face"]) == "Ok"


def test_chunked_body_over_the_limit_is_refused(
    make_client: AppFactory, images: dict[str, bytes]
) -> None:
    """Without a Content-Length the limit is enforced while the body streams in."""
    client = make_client(max_body_bytes=4096)
    key = KeyService(client.app.state.services.store).create("chunked").secret
    payload = json.dumps(_json(b64(images["face"]), key)).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    response = client.post(AGE, content=chunks(), headers=JSON_TYPE)
    assert "content-length" not in response.request.headers
    assert response.json()["code"] == ErrorCode.BODY_TOO_LARGE
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("settings", "image_bytes", "code"),
    [({}, 11_000_000, 2005), ({}, 11_000_001, 2006), ({"max_image_bytes": 300_000}, 300_001, 2006)],
)
def test_the_largest_image_in_line_broken_base64_reaches_the_image_limit(
    make_client: AppFactory, settings: dict, image_bytes: int, code: int
) -> None:
    """The body limit follows the image limit: with the two set apart, an image within its
    limit, sent base64 with CRLF line breaks, was refused as too large a body (1005)."""
    client = make_client(**settings)
    key = KeyService(client.app.state.services.store).create("large").secret
    image = b"\xff\xd8\xff" + bytes(image_bytes - 3)  # a JPEG's signature, then nothing
    encoded = base64.b64encode(image).decode()
    wrapped = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    answer = client.post(AGE, json=_json("data:image/jpeg;base64," + wrapped, key)).json()
    assert answer["code"] == code, answer["message"]


def post_status(client: TestClient, key: str, image: bytes) -> str:
    return client.post(AGE, json=_json(b64(image), key)).json()["result"]


def test_revoked_key_is_refused(client: TestClient, astronaut: np.ndarray) -> None:
    keys = KeyService(client.app.state.services.store)
    new = keys.create("to revoke")
    assert post_status(client, new.secret, encode(astronaut)) == "Ok"
    keys.revoke(new.record.id)
    body = client.post(AGE, json=_json(b64(encode(astronaut)), new.secret)).json()
    assert body["code"] == ErrorCode.INVALID_API_KEY


@pytest.mark.parametrize("key", ["fa_0123456789ab_\\ud800", "fa_\\ud800_secret", "fa_ké_y"])
def test_a_key_that_is_not_ascii_is_invalid_not_a_failure(
    client: TestClient, astronaut: np.ndarray, key: str
) -> None:
    """A JSON lone surrogate could not be hashed: it got 5001 and logged a traceback."""
    body = f'{{"image": "{b64(encode(astronaut))}", "api_key": "{key}"}}'
    answer = client.post(AGE, content=body, headers=JSON_TYPE).json()
    assert answer["code"] == ErrorCode.INVALID_API_KEY


@pytest.mark.parametrize("strict", [False, True])
def test_server_busy_answers_at_once(
    make_client: AppFactory, astronaut: np.ndarray, strict: bool
) -> None:
    """One analysis slot and no waiting room: concurrent requests beyond it are turned away."""
    client = make_client(inference_threads=1, max_queue=0, strict_http_status=strict)
    services = client.app.state.services
    key = KeyService(services.store).create("busy")
    body = _json(b64(encode(astronaut)), key.secret)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post(AGE, json=body) for _ in range(6)))

    responses = asyncio.run(burst())
    codes = [response.json()["code"] for response in responses]
    assert 0 in codes
    assert ErrorCode.SERVER_BUSY in codes
    assert services.usage.used_this_month(key.record.id) == codes.count(0)  # busy costs nothing
    busy = next(r for r in responses if r.json()["code"] == ErrorCode.SERVER_BUSY)
    assert busy.headers["Retry-After"] == "1"
    assert busy.status_code == (503 if strict else 200)
    assert post_status(client, key.secret, encode(astronaut)) == "Ok"


@pytest.mark.parametrize("strict", [False, True])
def test_internal_error_quotes_a_logged_request_id(
    make_client: AppFactory,
    tmp_path: Path,
    astronaut: np.ndarray,
    caplog: pytest.LogCaptureFixture,
    strict: bool,
) -> None:
    """A real fault (the limits table vanished under us) gives 5001, not a stack trace."""
    client = make_client(strict_http_status=strict)
    key = KeyService(client.app.state.services.store).create("x").secret
    with sqlite3.connect(tmp_path / "api.sqlite3") as db:
        db.execute("DROP TABLE rate_limits")
    with caplog.at_level(logging.ERROR, logger="faceapi.errors"):
        response = client.post(AGE, json=_json(b64(encode(astronaut)), key))
    body = response.json()
    assert body["code"] == ErrorCode.INTERNAL_ERROR
    assert response.status_code == (500 if strict else 200)
    request_id = response.headers["X-Request-ID"]
    assert request_id in body["message"]
    assert "Traceback" not in body["message"]
    assert any(getattr(r, "request_id", None) == request_id for r in caplog.records)
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_database_locked_by_another_process_is_busy_not_broken(
    make_client: AppFactory,
    tmp_path: Path,
    astronaut: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It used to be 5001, an internal error, after the wait, and a second wait to count it."""
    monkeypatch.setattr(sql, "BUSY_TIMEOUT_MS", 100)
    client = make_client(strict_http_status=True)
    key = KeyService(client.app.state.services.store).create("locked out").secret
    holder = sqlite3.connect(tmp_path / "api.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.WARNING, logger="faceapi"):
            response = client.post(AGE, json=_json(b64(encode(astronaut)), key))
    finally:
        holder.close()
    assert not caplog.records  # no traceback, no second wait to count the request
    assert response.json()["code"] == ErrorCode.SERVER_BUSY
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert post_status(client, key, encode(astronaut)) == "Ok"


def test_a_usage_count_that_fails_does_not_change_the_answer(
    make_client: AppFactory,
    tmp_path: Path,
    astronaut: np.ndarray,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The analysis is done and paid for; losing its count in the statistics used to turn
    the answer into 5001."""
    client = make_client()
    key = KeyService(client.app.state.services.store).create("x").secret
    with sqlite3.connect(tmp_path / "api.sqlite3") as db:
        db.execute("DROP TABLE usage")
    with caplog.at_level(logging.ERROR, logger="faceapi.api"):
        assert post_status(client, key, encode(astronaut)) == "Ok"
    assert [r.message for r in caplog.records] == ["usage not recorded"]


def test_usage_is_counted_by_endpoint_and_code(
    client: TestClient, api_key: str, images: dict[str, bytes]
) -> None:
    post(client, AGE, images["face"], api_key)
    post(client, AGE, images["face"], api_key)
    post(client, AGE, images["cat"], api_key)
    post(client, EXPRESSION, images["face"], api_key)
    rows = client.app.state.services.usage.report(since=date(2000, 1, 1))
    counts = {(row.endpoint, row.code): row.count for row in rows}
    assert counts == {
        ("face_age_detection", 0): 2,
        ("face_age_detection", int(ErrorCode.NO_FACE_FOUND)): 1,
        ("face_expression_detection", 0): 1,
    }


def test_logs_hold_request_facts_but_never_keys_or_images(
    client: TestClient, api_key: str, images: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        post(client, AGE, images["face"], api_key)
        post(client, AGE, images["cat"], api_key)
    access = [r for r in caplog.records if r.name == "faceapi.access"]
    assert [r.code for r in access] == [0, int(ErrorCode.NO_FACE_FOUND)]  # type: ignore[attr-defined]
    assert all(r.request_id and r.duration_ms >= 0 for r in access)  # type: ignore[attr-defined]
    logged = "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert key_secret(api_key) not in logged
    assert b64(images["face"])[:200] not in logged


def test_request_id_is_echoed(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == (
        "abc-123"
    )
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_health_readiness_and_models(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    models = assert_envelope_ok(client.get("/faceapi/v1/models").json())["models"]
    assert {model["task"] for model in models} >= {"detection", "age and gender", "expression"}
    for model in models:
        assert model["licence"]
        assert model["preprocessing"]
        assert all(len(file["sha256"]) == 64 for file in model["files"])


def test_readiness_fails_once_the_database_file_is_deleted_or_replaced(
    make_client: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """New connections would open a new, empty file: readiness used to stay "ready"."""
    client = make_client()
    assert client.get("/readyz").status_code == 200
    (tmp_path / "api.sqlite3").rename(tmp_path / "moved.sqlite3")
    with caplog.at_level(logging.ERROR):
        assert [client.get("/readyz").status_code for _ in range(3)] == [503] * 3
    (tmp_path / "api.sqlite3").write_bytes(b"")  # a new file under the old name
    assert client.get("/readyz").json()["status"] == "unavailable"
    unreachable = [r for r in caplog.records if r.getMessage().startswith("database unreachable")]
    assert len(unreachable) == 1  # once, not with every probe


def test_openapi_documents_the_contract(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path in (AGE, GENDER, EXPRESSION):
        operation = document["paths"][path]["post"]
        request = operation["requestBody"]["content"]["application/json"]
        assert set(request["schema"]["required"]) == {"image", "api_key"}
        assert request["examples"]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]["ok"]
    for code in ErrorCode:
        assert f"| {int(code)} |" in document["info"]["description"]
    responses = document["paths"][AGE]["post"]["responses"]
    for code in ErrorCode:  # each at the status strict_http_status sends it with
        if code.http_status not in (404, 405):
            assert f"{int(code)} {code.name}" in responses[str(code.http_status)]["description"]
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]
    docs = client.get("/docs")
    assert "swagger-ui" in docs.text.lower()
    assert docs.headers["Content-Security-Policy"] == "frame-ancestors 'none'"  # not framed
    assert docs.headers["X-Frame-Options"] == "DENY"
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for other in ("redoc.standalone.js", "..%2F__init__.py"):  # only Swagger UI's own files
        assert client.get(f"/docs/assets/{other}").json()["code"] == ErrorCode.NOT_FOUND


def test_the_documented_example_works_as_sent_with_a_real_key(
    client: TestClient, api_key: str
) -> None:
    """What "Try it out" in /docs sends once the reader puts in a key, and the header option."""
    document = client.get("/openapi.json").json()
    for path in (AGE, GENDER, EXPRESSION):
        operation = document["paths"][path]["post"]
        example = operation["requestBody"]["content"]["application/json"]["examples"]["photo"]
        body = example["value"] | {"api_key": api_key}
        shown = operation["responses"]["200"]["content"]["application/json"]["examples"]["ok"]
        assert client.post(path, json=body).json() == shown["value"], path
        (header,) = operation["parameters"]
        assert (header["name"], header["in"]) == ("X-API-Key", "header")
        with_header = {"image": body["image"]}
        answer = client.post(path, json=with_header, headers={header["name"]: api_key})
        assert answer.json()["result"] == "Ok"


@pytest.mark.parametrize("strict", [False, True], ids=["http-200", "strict-http"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/faceapi/v1/models"])
def test_load_balancer_checks_may_use_head(
    make_client: AppFactory, strict: bool, path: str
) -> None:
    client = make_client(strict_http_status=strict)
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == client.get(path).headers["content-length"]
