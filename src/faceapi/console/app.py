"""The developer console: an app of server-rendered pages, mounted next to the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from faceapi.console.errors import add_error_pages
from faceapi.console.guards import verify_csrf
from faceapi.console.headers import ConsoleHeadersMiddleware
from faceapi.console.pages import accounts, admin, keys, try_it, usage
from faceapi.console.rendering import make_templates
from faceapi.console.sessions import SessionCodec, SessionMiddleware
from faceapi.console.state import Console
from faceapi.services.container import Services
from faceapi.settings import Settings

CONSOLE_PATH = "/console"
STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI, services: Services, settings: Settings) -> None:
    """Serve the console under /console, and send visitors of / and /console there."""
    app.mount(CONSOLE_PATH, create_console(services, settings))

    async def to_console(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{CONSOLE_PATH}/")

    for path in ("/", CONSOLE_PATH):
        app.add_api_route(path, to_console, methods=["GET"], include_in_schema=False)


def create_console(services: Services, settings: Settings) -> FastAPI:
    # No slash redirects: their Location would echo the client's Host header.
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    console.state.console = Console(
        services, make_templates(), settings.allow_signup, settings.max_image_bytes
    )
    for page in (accounts, keys, usage, try_it, admin):
        console.include_router(page.router, dependencies=[Depends(verify_csrf)])
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_error_pages(console)
    secret = (
        settings.secret_key.get_secret_value().encode()
        if settings.secret_key
        else services.accounts.signing_secret()
    )
    codec = SessionCodec(secret, services.sessions.lifetime)
    console.add_middleware(SessionMiddleware, codec=codec)
    console.add_middleware(ConsoleHeadersMiddleware, static_prefix="/static/")
    return console
