"""How the console words dates, limits and error codes (Jinja filters)."""

from __future__ import annotations

from faceapi.errors import code_name
from faceapi.services.usage import Limits
from faceapi.text import moment, plain_number, quantity


def limits(value: Limits) -> str:
    if value.rate_per_second <= 0 and value.monthly_quota <= 0:
        return "no limits"
    rate = (
        f"{plain_number(value.rate_per_second)}/s, burst {value.burst}"
        if value.rate_per_second > 0
        else "no rate limit"
    )
    quota = f"{value.monthly_quota:,} a month" if value.monthly_quota > 0 else "no monthly quota"
    return f"{rate}; {quota}"


def endpoint_label(name: str) -> str:
    """ "face_age_detection" -> "age"."""
    return name.removeprefix("face_").removesuffix("_detection")


FILTERS = {
    "moment": moment,
    "limits": limits,
    "error_name": code_name,
    "endpoint_label": endpoint_label,
    "quantity": quantity,
}
