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
    # The API's own prefix, as a proxy serving the whole app under a path sets it.
    api_root = request.scope.get("app_root_path", "").rstrip("/")
    context = {
        "account": account,
        "keys": keys,
        "endpoints": [api_root + endpoint.path for endpoint in ENDPOINTS],
        "max_image_bytes": console_of(request).max_image_bytes,
    }
    return render(request, "try.html", context)
