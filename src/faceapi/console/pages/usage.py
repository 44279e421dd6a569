"""Usage: requests per day and endpoint and errors by code, per key or per account, 30 days."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from faceapi.api.contract import ENDPOINTS
from faceapi.console.chart import daily_chart
from faceapi.console.guards import SignedIn
from faceapi.console.pages.keys import managed_key
from faceapi.console.rendering import render
from faceapi.console.state import console_of
from faceapi.services.usage import REPORT_DAYS

router = APIRouter()
ENDPOINT_NAMES = [endpoint.name for endpoint in ENDPOINTS]


@router.get("/usage", name="usage")
def usage_page(request: Request, account: SignedIn, key: str = "", of: str = "") -> Response:
    """`key`: one key's usage; `of`: an account's (administrators); else the viewer's own."""
    services = console_of(request).services
    selected = managed_key(request, key, account) if key else None
    owner_id = selected.account_id if selected else (of if of and account.is_admin else account.id)
    owner = services.accounts.get(owner_id) if owner_id else None
    if owner_id and owner is None:
        raise HTTPException(404, "There is no such account.")
    # Keys of no account (made with the CLI) are only reached one at a time, by administrators.
    keys = services.keys.list(owner_id) if owner_id else [selected] if selected else []
    summary = services.usage.summary([selected.id] if selected else [k.id for k in keys])
    context = {
        "account": account,
        "owner": owner,
        "keys": keys,
        "selected": selected,
        "summary": summary,
        "busy_days": [day for day in reversed(summary.days) if day.total],
        "chart": daily_chart(summary, ENDPOINT_NAMES),
        "endpoints": ENDPOINT_NAMES,
        "report_days": REPORT_DAYS,
    }
    if selected:
        context["limits"] = services.usage.limits_for(selected)
        context["used_this_month"] = services.usage.used_this_month(selected.id)
    return render(request, "usage.html", context)
