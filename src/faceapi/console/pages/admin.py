"""Administration: every account and key, disabling and enabling accounts, per-key limits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from faceapi.console.guards import Admin
from faceapi.console.pages.keys import ManagedKey
from faceapi.console.rendering import confirmation, render
from faceapi.console.state import FormText, console_of, redirect, url
from faceapi.services.keys import parse_limits
from faceapi.storage import AccountRecord, ApiKeyRecord, KeyLimits
from faceapi.text import plain_number

router = APIRouter()


@router.get("/admin", name="admin")
def admin_page(request: Request, admin: Admin) -> Response:
    services = console_of(request).services
    accounts = services.accounts.list()
    keys = services.keys.list()
    requests = services.usage.requests_by_key()
    by_account: Counter[str | None] = Counter()
    for key in keys:
        by_account[key.account_id] += requests[key.id]
    context = {
        "account": admin,
        "accounts": accounts,
        "active_keys": Counter(key.account_id for key in keys if key.active),
        "requests_by_account": by_account,
        "keys": [(key, services.usage.limits_for(key)) for key in reversed(keys)],
        "requests_by_key": requests,
        "emails": {account.id: account.email for account in accounts},
    }
    return render(request, "admin.html", context)


def other_account(request: Request, admin: Admin, account_id: str) -> AccountRecord:
    """The account in the path, if it is not the administrator's own."""
    target = console_of(request).services.accounts.get(account_id)
    if target is None:
        raise HTTPException(404, "There is no such account.")
    if target.id == admin.id:
        raise HTTPException(400, "You cannot disable or enable your own account.")
    return target


OtherAccount = Annotated[AccountRecord, Depends(other_account)]


@dataclass(frozen=True, slots=True)
class AccountChange:
    """What the page that asks before disabling or enabling an account says."""

    route: str
    title: str  # "{email}" is the account's
    message: str
    button: str
    danger: bool


DISABLING = AccountChange(
    "disable_account",
    "Disable {email}?",
    "Its sessions end and its API keys are refused from the next request on, until it is "
    "enabled again.",
    "Disable the account",
    danger=True,
)
ENABLING = AccountChange(
    "enable_account",
    "Enable {email} again?",
    "It can sign in again, and its API keys work again from the next request on, except those "
    "revoked one by one. The sessions it had when it was disabled stay ended.",
    "Enable the account",
    danger=False,
)


@router.get("/admin/accounts/{account_id}/disable", name=DISABLING.route)
def confirm_disabling(request: Request, admin: Admin, target: OtherAccount) -> Response:
    return _confirm_change(request, admin, target, DISABLING)


@router.post("/admin/accounts/{account_id}/disable")
def disable(request: Request, target: OtherAccount) -> Response:
    console_of(request).services.accounts.disable(target.id)
    return redirect(request, "admin")


@router.get("/admin/accounts/{account_id}/enable", name=ENABLING.route)
def confirm_enabling(request: Request, admin: Admin, target: OtherAccount) -> Response:
    return _confirm_change(request, admin, target, ENABLING)


@router.post("/admin/accounts/{account_id}/enable")
def enable(request: Request, target: OtherAccount) -> Response:
    console_of(request).services.accounts.enable(target.id)
    return redirect(request, "admin")


def _confirm_change(
    request: Request, admin: AccountRecord, target: AccountRecord, change: AccountChange
) -> Response:
    return confirmation(
        request,
        admin,
        title=change.title.format(email=target.email),
        message=change.message,
        action=url(request, change.route, account_id=target.id),
        button=change.button,
        back=url(request, "admin"),
        danger=change.danger,
    )


@router.get("/admin/keys/{key_id}/limits", name="key_limits")
def limits_page(request: Request, admin: Admin, key: ManagedKey) -> Response:
    return _limits_form(request, admin, key, _as_fields(key.limits))


@router.post("/admin/keys/{key_id}/limits")
def set_limits(
    request: Request,
    admin: Admin,
    key: ManagedKey,
    rate_per_second: FormText = "",
    burst: FormText = "",
    monthly_quota: FormText = "",
) -> Response:
    form = {"rate_per_second": rate_per_second, "burst": burst, "monthly_quota": monthly_quota}
    try:
        limits = parse_limits(rate_per_second, burst, monthly_quota)
        console_of(request).services.keys.set_limits(key.id, limits)  # checks the ranges
    except ValueError as error:
        return _limits_form(request, admin, key, form, str(error))
    return redirect(request, "admin")


def _limits_form(
    request: Request,
    admin: AccountRecord,
    key: ApiKeyRecord,
    fields: dict[str, str],
    error: str | None = None,
) -> Response:
    services = console_of(request).services
    context = {
        "account": admin,
        "key": key,
        "fields": fields,
        "defaults": services.usage.defaults,
        "owner": services.accounts.get(key.account_id) if key.account_id else None,
        "error": error,
    }
    return render(request, "key_limits.html", context, status_code=400 if error else 200)


def _as_fields(limits: KeyLimits) -> dict[str, str]:
    """The limits as the form shows them, so that saving it unchanged stores the same."""
    rate, burst, quota = limits.rate_per_second, limits.burst, limits.monthly_quota
    return {
        "rate_per_second": "" if rate is None else plain_number(rate),
        "burst": "" if burst is None else str(burst),
        "monthly_quota": "" if quota is None else str(quota),
    }
