"""Sign-up, sign-in, sign-out and the account page (change password)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from faceapi.console.guards import MaybeSignedIn, SignedIn
from faceapi.console.rendering import render
from faceapi.console.state import FormText, console_of, redirect, session_of
from faceapi.services.accounts import AccountError, SignInThrottledError
from faceapi.storage import AccountRecord

router = APIRouter()


@router.get("/", name="home")
def home(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings" if account else "sign_in")


@router.get("/sign-in", name="sign_in")
def sign_in_page(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings") if account else _sign_in_form(request)


@router.post("/sign-in")
def sign_in(request: Request, email: FormText = "", password: FormText = "") -> Response:
    accounts = console_of(request).services.accounts
    try:
        account = accounts.authenticate(email, password, _address(request))
    except AccountError as error:
        return _sign_in_form(request, email, error)
    _start_session(request, account)
    return redirect(request, "settings")


@router.get("/sign-up", name="sign_up")
def sign_up_page(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings") if account else _sign_up_form(request)


@router.post("/sign-up")
def sign_up(request: Request, email: FormText = "", password: FormText = "") -> Response:
    if not console_of(request).allow_signup:
        return _sign_up_form(request)
    accounts = console_of(request).services.accounts
    try:
        account = accounts.create(email, password, address=_address(request))
    except AccountError as error:
        return _sign_up_form(request, email, error)
    _start_session(request, account)
    return redirect(request, "settings")


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request) -> Response:
    _end_session(request)
    return redirect(request, "sign_in")


@router.get("/account", name="account")
def account_page(request: Request, account: SignedIn) -> Response:
    return render(request, "account.html", {"account": account})


@router.post("/account/password", name="change_password")
def change_password(
    request: Request, account: SignedIn, current: FormText = "", new: FormText = ""
) -> Response:
    accounts = console_of(request).services.accounts
    try:
        account = accounts.change_password(account, current, new)
    except AccountError as error:
        context = {"account": account, "error": str(error)}
        status_code = 429 if isinstance(error, SignInThrottledError) else 400
        return render(request, "account.html", context, status_code=status_code)
    _start_session(request, account)  # every session ended with the change; this one goes on
    notice = "Password changed. Every other session of this account is signed out."
    return render(request, "account.html", {"account": account, "notice": notice})


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _start_session(request: Request, account: AccountRecord) -> None:
    """A new session id on every sign-in: one seen before it (fixation) is worth nothing."""
    _end_session(request)
    session_id = console_of(request).services.sessions.start(account.id)
    session_of(request).sign_in(session_id)


def _end_session(request: Request) -> None:
    session = session_of(request)
    if session.session_id is not None:
        console_of(request).services.sessions.end(session.session_id)
    session.sign_out()


def _sign_in_form(request: Request, email: str = "", error: AccountError | None = None) -> Response:
    context = {"allow_signup": console_of(request).allow_signup}
    return _form(request, "sign_in.html", context, email, error)


def _sign_up_form(request: Request, email: str = "", error: AccountError | None = None) -> Response:
    allowed = console_of(request).allow_signup
    if not allowed:
        return render(request, "sign_up.html", {"allow_signup": False}, status_code=403)
    return _form(request, "sign_up.html", {"allow_signup": True}, email, error)


def _form(
    request: Request,
    template: str,
    context: dict[str, Any],
    email: str,
    error: AccountError | None,
) -> Response:
    """The form again, with what was typed (never the password) and what went wrong."""
    status_code, headers = 200, {}
    if isinstance(error, SignInThrottledError):
        status_code, headers = 429, {"Retry-After": str(error.retry_after)}
    elif error is not None:
        status_code = 400
    context = {**context, "email": email, "error": str(error) if error else None}
    return render(request, template, context, status_code=status_code, headers=headers)
