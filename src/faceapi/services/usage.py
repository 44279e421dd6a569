"""Per-key usage counts, rate limits and monthly quotas, in the store so every worker agrees."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.storage import ApiKeyRecord, KeyLimits, Store, UsageRow
from faceapi.text import plain_number, quantity

REPORT_DAYS = 30
T = TypeVar("T", int, float)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force for a key: a rate of 0 is no rate limit, a quota of 0 no quota."""

    rate_per_second: float = 0
    burst: int = 1
    monthly_quota: int = 0

    def overridden_by(self, own: KeyLimits) -> Limits:
        """These defaults, with every limit the key sets for itself instead."""
        return Limits(
            rate_per_second=_first(own.rate_per_second, self.rate_per_second),
            burst=max(1, _first(own.burst, self.burst)),
            monthly_quota=_first(own.monthly_quota, self.monthly_quota),
        )


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    requests: Counter[str]  # by endpoint, whatever the result
    errors: int

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Requests per day and endpoint, and errors by code, over a window of whole days."""

    days: list[DayUsage]  # every day of the window, oldest first
    errors_by_code: dict[int, int]  # ascending codes

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def errors(self) -> int:
        return sum(self.errors_by_code.values())


def summarize(rows: Iterable[UsageRow], first: date, last: date) -> UsageSummary:
    """Fold usage rows into the days `first` to `last`; rows outside them are left out."""
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    requests: dict[date, Counter[str]] = {day: Counter() for day in span}
    errors_on: Counter[date] = Counter()
    errors_by_code: Counter[int] = Counter()
    for row in rows:
        if row.day not in requests:
            continue
        requests[row.day][row.endpoint] += row.count
        if row.code != 0:
            errors_on[row.day] += row.count
            errors_by_code[row.code] += row.count
    days = [DayUsage(day, requests[day], errors_on[day]) for day in span]
    return UsageSummary(days, dict(sorted(errors_by_code.items())))


class UsageService:
    def __init__(self, store: Store, defaults: Limits) -> None:
        """`defaults` hold for every key that sets no limit of its own."""
        self._store = store
        self.defaults = defaults

    def limits_for(self, key: ApiKeyRecord) -> Limits:
        return self.defaults.overridden_by(key.limits)

    def admit(self, key: ApiKeyRecord) -> None:
        """Raise RATE_LIMITED, with the seconds to wait, if the key is over a limit."""
        limits = self.limits_for(key)
        if limits.rate_per_second > 0:
            interval = 1 / limits.rate_per_second
            wait = self._store.take_rate_token(key.id, time.time(), interval, limits.burst)
            if wait is not None:
                raise FaceApiError(
                    ErrorCode.RATE_LIMITED,
                    retry_after=max(1, math.ceil(wait)),
                    limit=(
                        f"at most {plain_number(limits.rate_per_second)} per second, "
                        f"{limits.burst} at once"
                    ),
                )
        now = datetime.now(UTC)
        # Counted with or without a quota, so that one set mid-month counts the month whole.
        if not self._store.take_quota(key.id, f"{now:%Y-%m}", limits.monthly_quota):
            raise FaceApiError(
                ErrorCode.RATE_LIMITED,
                retry_after=seconds_to_next_month(now),
                limit=f"its monthly quota of {quantity(limits.monthly_quota, 'requests')} "
                "is used up",
            )

    def record(self, key_id: str, endpoint: str, code: int) -> None:
        self._store.record_request(key_id, endpoint, code, datetime.now(UTC))

    def report(self, since: date, key_ids: Collection[str] | None = None) -> list[UsageRow]:
        """Raw usage rows of every key, or of `key_ids` only."""
        return self._store.usage(since, key_ids)

    def summary(self, key_ids: Collection[str] | None, days: int = REPORT_DAYS) -> UsageSummary:
        """The last `days` days, today (UTC) included, of every key or of `key_ids` only."""
        today = datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        return summarize(self.report(first, key_ids), first, today)

    def requests_by_key(self, days: int = REPORT_DAYS) -> Counter[str]:
        """Requests of every key over the last `days` days, today (UTC) included."""
        first = datetime.now(UTC).date() - timedelta(days=days - 1)
        totals: Counter[str] = Counter()
        for row in self.report(first):
            totals[row.key_id] += row.count
        return totals

    def used_this_month(self, key_id: str) -> int:
        """Requests admitted this calendar month (UTC): what the monthly quota counts."""
        return self._store.quota_used(key_id, f"{datetime.now(UTC):%Y-%m}")


def seconds_to_next_month(now: datetime) -> int:
    """Whole seconds from `now` (UTC) to the first instant of the next calendar month."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(year, month, 1, tzinfo=UTC)
    return max(1, math.ceil((start - now).total_seconds()))


def _first(own: T | None, default: T) -> T:
    return default if own is None else own
