"""Who may see a page, and whether a form came from one of our pages (CSRF)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from faceapi.console.state import console_of, session_of
from faceapi.storage import AccountRecord

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequiredError(Exception):
    """The page needs a signed-in account; the console answers with the sign-in page."""


class CsrfError(Exception):
    """A form arrived without the CSRF token of the session that should have sent it."""


def current_account(request: Request) -> AccountRecord | None:
    """The signed-in account; None if nobody is, or the session was ended or has expired."""
    session = session_of(request)
    if session.session_id is None:
        return None
    account = console_of(request).services.sessions.account_of(session.session_id)
    if account is None:
        session.sign_out()  # the browser drops the dead session id along with its CSRF token
    return account


def require_account(
    account: Annotated[AccountRecord | None, Depends(current_account)],
) -> AccountRecord:
    if account is None:
        raise SignInRequiredError
    return account


def require_admin(account: Annotated[AccountRecord, Depends(require_account)]) -> AccountRecord:
    if not account.is_admin:
        raise HTTPException(403, "Only administrators can open this page.")
    return account


async def verify_csrf(request: Request) -> None:
    """Every unsafe request must echo the session's CSRF token in its form."""
    if request.method in _SAFE_METHODS:
        return
    token = (await request.form()).get("csrf_token")
    expected = session_of(request).csrf_token
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected.encode()):
        raise CsrfError


MaybeSignedIn = Annotated[AccountRecord | None, Depends(current_account)]
SignedIn = Annotated[AccountRecord, Depends(require_account)]
Admin = Annotated[AccountRecord, Depends(require_admin)]
