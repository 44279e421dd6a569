"""What every console page reaches through `request`: the services, its templates, its session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from faceapi.console.sessions import Session
from faceapi.services.container import Services

# A text field of a posted form; a missing one is empty, and the page says what is wrong.
FormText = Annotated[str, Form()]


@dataclass(frozen=True, slots=True)
class Console:
    services: Services
    templates: Jinja2Templates
    allow_signup: bool
    max_image_bytes: int  # Try it refuses a larger photo before sending it


def console_of(request: Request) -> Console:
    return request.app.state.console


def session_of(request: Request) -> Session:
    return request.state.session


def url(request: Request, name: str, **params: Any) -> str:
    """The path of a console route, wherever the console is mounted."""
    return request.scope.get("root_path", "") + request.app.router.url_path_for(name, **params)


def redirect(request: Request, name: str, **params: Any) -> RedirectResponse:
    """See Other: after a form, the browser GETs the page instead of re-posting."""
    return RedirectResponse(url(request, name, **params), status_code=303)
