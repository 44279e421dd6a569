"""The three analysis endpoints, the models listing, and health checks."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from faceapi.api import envelope
from faceapi.api.base64_image import decode_base64_image
from faceapi.api.contract import API_PREFIX, ENDPOINTS, Endpoint
from faceapi.api.request_body import read_image_and_key
from faceapi.api.schemas import EXAMPLE_IMAGE, AnalyzeRequest, Envelope
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.container import Services
from faceapi.storage import StoreBusyError

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
                    "summary": "A base64 JPEG: put your key in api_key, or empty it and fill "
                    "in X-API-Key",
                    "value": {"image": EXAMPLE_IMAGE, "api_key": "fa_3f9c2b7a1d4e_Yx..."},
                }
            },
        }
    },
}

KEY_HEADER_DOC = {
    "name": "X-API-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The key, where the body's api_key is absent, null or empty. A key in the "
    "body wins.",
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
            responses={200: _response_doc(endpoint), **_strict_error_docs(endpoint)},
            openapi_extra={"requestBody": REQUEST_DOC, "parameters": [KEY_HEADER_DOC]},
        )
    _add_reading_route(app, f"{API_PREFIX}/models", list_models)
    _add_reading_route(app, "/healthz", healthz)
    _add_reading_route(
        app, "/readyz", readyz, responses={503: {"description": "The database does not answer."}}
    )


def _add_reading_route(
    app: FastAPI, path: str, handler: Callable[..., Awaitable[Any]], **documented: Any
) -> None:
    """A GET route that answers HEAD too, as HTTP requires and load balancers' checks expect;
    HEAD stays out of the OpenAPI document, where it would repeat GET's operation id."""
    app.add_api_route(path, handler, methods=["GET"], tags=["service"], **documented)
    app.add_api_route(path, handler, methods=["HEAD"], include_in_schema=False)


def _analysis_handler(endpoint: Endpoint) -> Handler:
    tasks = frozenset({endpoint.task})

    async def analyze(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        sent = await read_image_and_key(request)
        key = await anyio.to_thread.run_sync(services.keys.authenticate, sent.api_key)
        request.state.key_id = key.id
        code: int | None = ErrorCode.INTERNAL_ERROR
        try:
            # A place first, so that a busy server does not spend the key's rate or quota.
            with services.queue.place():
                await anyio.to_thread.run_sync(services.usage.admit, key)
                analysis = await services.queue.run(
                    lambda: services.engine.analyze(decode_base64_image(sent.image), tasks)
                )
            response = envelope.ok(endpoint.data(analysis))
            code = 0
            request.state.result_code = 0
            return response
        except FaceApiError as failure:
            code = failure.code
            raise
        except StoreBusyError:
            code = None  # counting it would wait for the same lock again
            raise
        finally:
            if code is not None:
                await anyio.to_thread.run_sync(_record_usage, services, key.id, endpoint.name, code)

    analyze.__name__ = endpoint.name
    return analyze


def _record_usage(services: Services, key_id: str, endpoint: str, code: int) -> None:
    """Count the request in the usage statistics; a failure here never changes the answer."""
    try:
        services.usage.record(key_id, endpoint, code)
    except Exception:
        log.exception("usage not recorded", extra={"key_id": key_id, "code": code})


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
    state = request.app.state
    try:
        await anyio.to_thread.run_sync(services.store.ping)
    except Exception:
        # Probes come every few seconds: the cause is logged once, not with every probe.
        if not state.database_unreachable:
            log.exception("database unreachable; logged again only once /readyz recovers")
        state.database_unreachable = True
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    state.database_unreachable = False
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


def _strict_error_docs(endpoint: Endpoint) -> dict[int, dict[str, Any]]:
    """The HTTP statuses errors get with strict_http_status, from the one table of codes.

    A route's own path and method rule out 404 and 405.
    """
    codes_by_status: dict[int, list[str]] = defaultdict(list)
    for code in ErrorCode:
        if code.http_status not in (404, 405):
            codes_by_status[code.http_status].append(f"{int(code)} {code.name}")
    return {
        status: {
            "model": Envelope[endpoint.model],  # type: ignore[name-defined]
            "description": f"Only with strict_http_status: {', '.join(codes)}.",
        }
        for status, codes in sorted(codes_by_status.items())
    }
