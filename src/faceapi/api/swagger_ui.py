"""The interactive API documentation at /docs: Swagger UI 5 from the installed fastapi-offline.

FastAPI's own /docs page loads Swagger UI from a CDN, which a self-hosted server behind a
firewall cannot reach; ReDoc, likewise from a CDN, is not offered.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from faceapi.api.error_handlers import shown_path
from faceapi.errors import ErrorCode, FaceApiError

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# The only files of the package served: the package also holds ReDoc, which we do not offer.
_ASSETS = files("fastapi_offline") / "static"
SCRIPT, STYLE, ICON = "swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"


def add_swagger_ui(app: FastAPI) -> None:
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - documentation",
            swagger_js_url=f"{root}{ASSETS_PATH}/{SCRIPT}",
            swagger_css_url=f"{root}{ASSETS_PATH}/{STYLE}",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/{ICON}",
            # Swagger UI would otherwise send the document's address to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        # "Try it out" takes a key: no other site may frame the page to catch the clicks.
        page.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        page.headers["X-Frame-Options"] = "DENY"
        return page

    async def asset(request: Request, name: str) -> FileResponse:
        if name not in (SCRIPT, STYLE, ICON):
            raise FaceApiError(ErrorCode.NOT_FOUND, path=shown_path(request.url.path))
        return FileResponse(str(_ASSETS / name))

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{ASSETS_PATH}/{{name}}", asset, methods=["GET"], include_in_schema=False)
