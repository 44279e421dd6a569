"""Jinja2 templates for console pages, with what every page needs already in its context."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from faceapi.console.formatting import FILTERS
from faceapi.console.state import console_of, session_of, url
from faceapi.storage import AccountRecord

TEMPLATES = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES, context_processors=[_page_context])
    templates.env.filters.update(FILTERS)
    return templates


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return console_of(request).templates.TemplateResponse(
        request, template, context or {}, status_code=status_code, headers=headers
    )


def confirmation(
    request: Request,
    account: AccountRecord,
    *,
    title: str,
    message: str,
    action: str,
    button: str,
    back: str,
    danger: bool = True,
) -> HTMLResponse:
    """A page that asks before a form acts; `danger` marks an action that takes something away."""
    context = {
        "account": account,
        "title": title,
        "message": message,
        "action": action,
        "button": button,
        "back": back,
        "danger": danger,
    }
    return render(request, "confirm.html", context)


def _page_context(request: Request) -> dict[str, Any]:
    return {"csrf_token": session_of(request).csrf_token, "url": partial(url, request)}
