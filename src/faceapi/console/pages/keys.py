"""The Settings page: an account's API keys, made, shown once, rotated and revoked here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from faceapi.console.guards import SignedIn
from faceapi.console.rendering import confirmation, render
from faceapi.console.state import FormText, console_of, redirect, url
from faceapi.services.keys import NewKey
from faceapi.storage import AccountRecord, ApiKeyRecord

router = APIRouter()
NEW_KEY_COOKIE = "faceapi_new_key"
NEW_KEY_SECONDS = 60  # from the form's answer to the page that shows the key


def managed_key(request: Request, key_id: str, account: SignedIn) -> ApiKeyRecord:
    """The key in the path, if this account may manage it (its own, or any for an admin)."""
    key = console_of(request).services.keys.get(key_id)
    if key is None or not (key.account_id == account.id or account.is_admin):
        raise HTTPException(404, "There is no such key among yours.")
    return key


ManagedKey = Annotated[ApiKeyRecord, Depends(managed_key)]


def active_key(key: ManagedKey) -> ApiKeyRecord:
    if not key.active:
        raise HTTPException(404, "This key is already revoked.")
    return key


ActiveKey = Annotated[ApiKeyRecord, Depends(active_key)]


@router.get("/settings", name="settings")
def settings_page(request: Request, account: SignedIn) -> Response:
    return _settings(request, account)


@router.post("/settings/keys", name="create_key")
def create_key(request: Request, account: SignedIn, name: FormText = "") -> Response:
    try:
        new = console_of(request).services.keys.create(name, account.id)
    except ValueError as error:
        return _settings(request, account, error=str(error), status_code=400)
    return _to_show_once(request, new)


@router.get("/settings/keys/{key_id}/rotate", name="rotate_key")
def confirm_rotation(request: Request, account: SignedIn, key: ActiveKey) -> Response:
    return confirmation(
        request,
        account,
        title=f"Rotate the key “{key.name}”?",
        message=f"A new key replaces {key.prefix}, which stops working at once: every client "
        "that sends it is refused until you give it the new key.",
        action=url(request, "rotate_key", key_id=key.id),
        button="Rotate the key",
        back=url(request, "settings"),
    )


@router.post("/settings/keys/{key_id}/rotate")
def rotate(request: Request, account: SignedIn, key: ActiveKey) -> Response:
    try:
        new = console_of(request).services.keys.rotate(key.id)
    except ValueError as error:  # the same form submitted twice: the other one rotated it
        return _settings(request, account, error=str(error), status_code=409)
    return _to_show_once(request, new, replaced=key)


@router.get("/settings/keys/new", name="new_key")
def show_once(request: Request, account: SignedIn, replaced: str = "") -> Response:
    """The only page that ever shows a key, once: its cookie goes with this answer, so a
    reload finds none and leads back to the keys. It is never cached (see headers.py)."""
    keys = console_of(request).services.keys
    secret = request.cookies.get(NEW_KEY_COOKIE, "")
    record = keys.find_active(secret)  # None without the cookie: shown already
    response: Response
    if record is None or not (record.account_id == account.id or account.is_admin):
        response = redirect(request, "settings")
    else:
        old = keys.get(replaced)
        context = {
            "account": account,
            "new": NewKey(record, secret),
            "replaced": old if old and old.account_id == record.account_id else None,
        }
        response = render(request, "key_created.html", context)
    response.delete_cookie(NEW_KEY_COOKIE, path=url(request, "new_key"))
    return response


@router.get("/settings/keys/{key_id}/revoke", name="revoke_key")
def confirm_revocation(request: Request, account: SignedIn, key: ActiveKey) -> Response:
    return confirmation(
        request,
        account,
        title=f"Revoke the key “{key.name}”?",
        message=f"{key.prefix} stops working at once, for good. This cannot be undone.",
        action=url(request, "revoke_key", key_id=key.id),
        button="Revoke the key",
        back=url(request, "settings"),
    )


@router.post("/settings/keys/{key_id}/revoke")
def revoke(request: Request, account: SignedIn, key: ManagedKey) -> Response:
    console_of(request).services.keys.revoke(key.id)
    return redirect(request, "settings" if key.account_id == account.id else "admin")


def _settings(
    request: Request, account: AccountRecord, *, error: str | None = None, status_code: int = 200
) -> Response:
    services = console_of(request).services
    keys = services.keys.list(account.id)
    context = {
        "account": account,
        "keys": [(key, services.usage.limits_for(key)) for key in reversed(keys)],
        "error": error,
    }
    return render(request, "settings.html", context, status_code=status_code)


def _to_show_once(request: Request, new: NewKey, replaced: ApiKeyRecord | None = None) -> Response:
    """Redirect to the page that shows the key, which comes in a cookie for that page alone:
    answered with the key itself, a reload of the form's answer posted it again, making
    another key each time."""
    response = redirect(request, "new_key")
    if replaced is not None:
        response.headers["Location"] += f"?replaced={replaced.id}"
    response.set_cookie(
        NEW_KEY_COOKIE,
        new.secret,
        max_age=NEW_KEY_SECONDS,
        path=url(request, "new_key"),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
