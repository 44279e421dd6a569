"""The three analysis endpoints, the models listing, and health checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from faceapi.api import envelope
from faceapi.api.base64_image import decode_base64_image
from faceapi.api.contract import API_PREFIX, ENDPOINTS, Endpoint
from faceapi.api.schemas import EXAMPLE_IMAGE, AnalyzeRequest, Envelope
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.container import Services
from faceapi.services.text import quoted

log = logging.getLogger("faceapi.api")

Handler = Callable[[Request], Awaitable[JSONResponse]]

# The same body for all three endpoints.
REQUEST_DOC = {
    "required": True,
    "content": {
        "application/json": {
            "schema": AnalyzeRequest.model_json_schema(),
            "examples": {
                "photo": {
                    "summary": "A base64 JPEG",
                    "value": {"image": EXAMPLE_IMAGE, "api_key": "fa_3f9c2b7a1d4e_Yx..."},
                }
            },
        }
    },
}


def add_routes(app: FastAPI) -> None:
    for endpoint in ENDPOINTS:
        app.add_api_route(
            endpoint.path,
            _analysis_handler(endpoint),
            methods=["POST"],
            summary=endpoint.summary,
            name=endpoint.name,
            tags=["analysis"],
            response_model=None,
            responses={200: _response_doc(endpoint)},
            openapi_extra={"requestBody": REQUEST_DOC},
        )
    app.add_api_route(f"{API_PREFIX}/models", list_models, methods=["GET"], tags=["service"])
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["service"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["service"])


def _analysis_handler(endpoint: Endpoint) -> Handler:
    tasks = frozenset({endpoint.task})

    async def analyze(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        body = await _json_object(request)
        image = _string_field(body, "image", ErrorCode.MISSING_IMAGE)
        api_key = _api_key(body, request.headers.get("x-api-key"))
        key = await anyio.to_thread.run_sync(services.keys.authenticate, api_key)
        request.state.key_id = key.id
        code: int = ErrorCode.INTERNAL_ERROR
        try:
            await anyio.to_thread.run_sync(services.usage.admit, key)
            analysis = await services.queue.run(
                lambda: services.engine.analyze(decode_base64_image(image), tasks)
            )
            code = 0
            request.state.result_code = 0
            return envelope.ok(endpoint.data(analysis))
        except FaceApiError as failure:
            code = failure.code
            raise
        finally:
            await anyio.to_thread.run_sync(services.usage.record, key.id, endpoint.name, code)

    analyze.__name__ = endpoint.name
    return analyze


async def _json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise FaceApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    if request.headers.get("content-encoding", "").strip().lower() not in ("", "identity"):
        raise FaceApiError(ErrorCode.UNSUPPORTED_CONTENT_ENCODING)
    raw = await request.body()
    try:
        body = await anyio.to_thread.run_sync(_parse_json, raw)  # big bodies: off the event loop
    except _DuplicateFieldError as duplicate:
        raise FaceApiError(ErrorCode.DUPLICATE_FIELD, field=quoted(duplicate.name)) from None
    except (ValueError, RecursionError) as error:
        raise FaceApiError(ErrorCode.INVALID_JSON) from error
    if not isinstance(body, dict):
        raise FaceApiError(ErrorCode.INVALID_BODY)
    return body


class _DuplicateFieldError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _parse_json(raw: bytes) -> Any:
    """json.loads, refusing an object that names a field twice.

    json.loads keeps the last of two "api_key"s; a proxy or log reading the first would then
    see another key than the one served, so neither is guessed at.
    """
    return json.loads(raw, object_pairs_hook=_unique_fields)


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise _DuplicateFieldError(name)
        fields[name] = value
    return fields


def _api_key(body: dict[str, Any], header: str | None) -> str:
    """The body's key; the X-API-Key header stands in when the body's is absent, null or ""."""
    if body.get("api_key") in (None, ""):
        if not header:
            raise FaceApiError(ErrorCode.MISSING_API_KEY)
        return header
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


async def list_models(request: Request) -> JSONResponse:
    """The models in use: source package, version, licence, preprocessing and SHA-256."""
    services: Services = request.app.state.services
    return envelope.ok({"models": services.engine.describe_models()})


async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    """Models are loaded and the database answers."""
    services: Services = request.app.state.services
    try:
        await anyio.to_thread.run_sync(services.store.ping)
    except Exception:
        log.exception("database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ready", "models": len(services.engine.describe_models())})


def _response_doc(endpoint: Endpoint) -> dict[str, Any]:
    failure = FaceApiError(ErrorCode.NO_FACE_FOUND)
    return {
        "model": Envelope[endpoint.model],  # type: ignore[name-defined]
        "description": "Always HTTP 200 unless strict_http_status is on; see `result`.",
        "content": {
            "application/json": {
                "examples": {
                    "ok": {
                        "summary": "A face was analysed",
                        "value": envelope.ok_body(endpoint.example),
                    },
                    "error": {
                        "summary": "No face in the photo",
                        "value": envelope.error_body(failure),
                    },
                }
            }
        },
    }
