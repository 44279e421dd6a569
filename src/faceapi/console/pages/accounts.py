"""Sign-up, sign-in, sign-out and the account page (change password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from faceapi.console.guards import MaybeSignedIn, SignedIn
from faceapi.console.rendering import render
from faceapi.console.state import console_of, redirect, session_of
from faceapi.services.accounts import AccountError, SignInThrottledError
from faceapi.storage import AccountRecord

router = APIRouter()
Field = Annotated[str, Form()]


@router.get("/", name="home")
def home(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings" if account else "sign_in")


@router.get("/sign-in", name="sign_in")
def sign_in_page(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings") if account else _sign_in_form(request)


@router.post("/sign-in")
def sign_in(request: Request, email: Field = "", password: Field = "") -> Response:
    accounts = console_of(request).services.accounts
    address = request.client.host if request.client else "unknown"
    try:
        account = accounts.authenticate(email, password, address)
    except SignInThrottledError as error:
        headers = {"Retry-After": str(error.retry_after)}
        return _sign_in_form(request, email, str(error), status_code=429, headers=headers)
    except AccountError as error:
        return _sign_in_form(request, email, str(error), status_code=400)
    _start_session(request, account)
    return redirect(request, "settings")


@router.get("/sign-up", name="sign_up")
def sign_up_page(request: Request, account: MaybeSignedIn) -> Response:
    return redirect(request, "settings") if account else _sign_up_form(request)


@router.post("/sign-up")
def sign_up(request: Request, email: Field = "", password: Field = "") -> Response:
    if not console_of(request).allow_signup:
        return _sign_up_form(request)
    try:
        account = console_of(request).services.accounts.create(email, password)
    except AccountError as error:
        return _sign_up_form(request, email, str(error))
    _start_session(request, account)
    return redirect(request, "settings")


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request) -> Response:
    session_of(request).sign_out()
    return redirect(request, "sign_in")


@router.get("/account", name="account")
def account_page(request: Request, account: SignedIn) -> Response:
    return render(request, "account.html", {"account": account})


@router.post("/account/password", name="change_password")
def change_password(
    request: Request, account: SignedIn, current: Field = "", new: Field = ""
) -> Response:
    accounts = console_of(request).services.accounts
    try:
        account = accounts.change_password(account, current, new)
    except AccountError as error:
        context = {"account": account, "error": str(error)}
        return render(request, "account.html", context, status_code=400)
    _start_session(request, account)  # this session goes on; those with the old stamp end
    notice = "Password changed. Every other session of this account is signed out."
    return render(request, "account.html", {"account": account, "notice": notice})


def _start_session(request: Request, account: AccountRecord) -> None:
    stamp = console_of(request).services.accounts.session_stamp(account)
    session_of(request).sign_in(account.id, stamp)


def _sign_in_form(
    request: Request,
    email: str = "",
    error: str | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {"email": email, "error": error, "allow_signup": console_of(request).allow_signup}
    return render(request, "sign_in.html", context, status_code=status_code, headers=headers)


def _sign_up_form(request: Request, email: str = "", error: str | None = None) -> Response:
    allowed = console_of(request).allow_signup
    status_code = 403 if not allowed else 400 if error else 200
    context = {"email": email, "error": error, "allow_signup": allowed}
    return render(request, "sign_up.html", context, status_code=status_code)
