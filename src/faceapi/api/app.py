"""The ASGI application: routes, envelope errors and middleware around shared services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from faceapi import __version__
from faceapi.api.error_handlers import add_error_handlers
from faceapi.api.middleware import RequestContextMiddleware
from faceapi.api.routes import add_routes
from faceapi.api.swagger_ui import add_swagger_ui
from faceapi.console import mount_console
from faceapi.docs import errors_table
from faceapi.engine.pipeline import Engine
from faceapi.services.accounts import AccountService
from faceapi.services.container import Services
from faceapi.services.inference import InferenceQueue
from faceapi.services.keys import KeyService
from faceapi.services.sessions import SessionService
from faceapi.services.usage import UsageService
from faceapi.settings import Settings
from faceapi.storage import open_store

DESCRIPTION = """\
Age, gender and facial expression of the largest face in a photo.

Send `POST` with a JSON body `{{"image": "<base64>", "api_key": "<key>"}}`. Every answer is the
envelope `{{"result": "Ok"|"Err", "code": int, "message": str, "data": {{...}}}}`, sent with
HTTP 200 (or, with `strict_http_status`, the HTTP status listed below).

## Error codes

{errors}
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app; `engine` may be given to share its loaded models (tests, benchmarks)."""
    settings = settings or Settings.load()
    if engine is None:
        engine = Engine.load(settings.npm_models_dir, settings.engine_options())
    else:
        engine = engine.configured(settings.engine_options())
    store = open_store(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="Face API",
        version=__version__,
        description=DESCRIPTION.format(errors=errors_table()),
        lifespan=lifespan,
        # A redirect is not an envelope, and its Location would echo the client's Host header.
        redirect_slashes=False,
        docs_url=None,  # served by add_swagger_ui, without a CDN
        redoc_url=None,
    )
    services = Services(
        engine=engine,
        store=store,
        keys=KeyService(store),
        usage=UsageService(store, settings.default_limits()),
        accounts=AccountService(store),
        sessions=SessionService(store, timedelta(hours=settings.session_lifetime_hours)),
        queue=InferenceQueue(settings.analysis_slots(), settings.max_queue),
    )
    app.state.services = services
    app.state.database_unreachable = False  # as /readyz last found it
    add_routes(app)
    add_swagger_ui(app)
    mount_console(app, services, settings)
    add_error_handlers(app, strict_http_status=settings.strict_http_status)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        strict_http_status=settings.strict_http_status,
    )
    return app
