"""The interactive API documentation at /docs: Swagger UI 5 from the installed fastapi-offline.

FastAPI's own /docs page loads Swagger UI from a CDN, which a self-hosted server behind a
firewall cannot reach; ReDoc, likewise from a CDN, is not offered.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# Only the package's files are used: Swagger UI's script and style sheet, and a favicon.
SWAGGER_UI_FILES = files("fastapi_offline") / "static"
DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"


def add_swagger_ui(app: FastAPI) -> None:
    app.mount(ASSETS_PATH, StaticFiles(directory=str(SWAGGER_UI_FILES)), name="swagger-ui")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - documentation",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # Swagger UI would otherwise send the document's address to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
