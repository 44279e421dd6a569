"""Try it: the browser calls the public API with one of the developer's keys, as a client would."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from faceapi.api.contract import ENDPOINTS
from faceapi.console.guards import SignedIn
from faceapi.console.rendering import render
from faceapi.console.state import console_of

router = APIRouter()


@router.get("/try", name="try_it")
def try_it_page(request: Request, account: SignedIn) -> Response:
    keys = [key for key in console_of(request).services.keys.list(account.id) if key.active]
    context = {"account": account, "keys": keys, "endpoints": [e.path for e in ENDPOINTS]}
    return render(request, "try.html", context)
