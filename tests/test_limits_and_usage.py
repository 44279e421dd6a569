"""Per-key limits, monthly quotas, rotation, and the 30-day usage summary and its chart."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest

from faceapi.console.chart import daily_chart
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.accounts import AccountService
from faceapi.services.inference import InferenceQueue
from faceapi.services.keys import KeyService, parse_limits
from faceapi.services.usage import Limits, UsageService, seconds_to_next_month, summarize
from faceapi.storage import ApiKeyRecord, KeyLimits, SqlStore, StoreBusyError, UsageRow, sql
from faceapi.text import plain_number

AGE, GENDER = "face_age_detection", "face_gender_detection"


def test_typed_limits_are_plain_decimals_and_blank_means_the_default() -> None:
    assert parse_limits(" 2.5 ", "", "1000") == KeyLimits(2.5, None, 1000)
    assert parse_limits(".5", "3", "0") == KeyLimits(0.5, 3, 0)
    assert parse_limits("1.", " ", "") == KeyLimits(1.0, None, None)
    for typed in ("1_000", "\u0661\u0660", "\uff13", "1e3", "nan", "inf", "+5", "0x10", ".", "--5"):
        with pytest.raises(ValueError, match="number of requests"):
            parse_limits(typed, "", "")
    for typed in ("2.0", "9" * 5000):  # not whole; more digits than int() converts
        with pytest.raises(ValueError, match="whole number"):
            parse_limits("", "", typed)
    # Numbers, though out of range: set_limits says so ("must be a whole number" did not).
    assert parse_limits("-1", "-5", "99999999999999999999999") == KeyLimits(
        -1.0, -5, 99999999999999999999999
    )


def test_a_rate_above_a_million_per_second_is_refused(store: SqlStore) -> None:
    """999999999999.99999 was stored as 1e12, shown as 13 digits, and refused when resent."""
    keys = KeyService(store)
    key = keys.create("fast").record
    with pytest.raises(ValueError, match="at most 1,000,000 per second"):
        keys.set_limits(key.id, parse_limits("999999999999.99999", "", ""))
    keys.set_limits(key.id, parse_limits("1000000", "", ""))


@pytest.mark.parametrize("rate", [1e-13, 0.00001, 1234567.0, 0.1234567, 2.0, 123456.125])
def test_a_rate_as_shown_reads_back_the_same(rate: float) -> None:
    """`:g` showed 1e-05 and 1.23457e+06, which the form then refused or rounded."""
    shown = plain_number(rate)
    assert "e" not in shown
    assert parse_limits(shown, "", "").rate_per_second == rate


def test_a_key_s_own_limits_override_the_defaults(store: SqlStore) -> None:
    keys = KeyService(store)
    usage = UsageService(store, Limits(rate_per_second=5, burst=10, monthly_quota=0))
    plain = keys.create("plain").record
    own = keys.create("own", limits=KeyLimits(rate_per_second=0, monthly_quota=100)).record
    assert usage.limits_for(plain) == Limits(5, 10, 0)
    assert usage.limits_for(own) == Limits(0, 10, 100)  # 0: no rate limit for this key


def test_limits_set_later_apply_to_the_next_request(store: SqlStore) -> None:
    keys = KeyService(store)
    usage = UsageService(store, Limits())
    key = keys.create("x").record
    usage.admit(key)
    assert keys.set_limits(key.id, KeyLimits(rate_per_second=0.01, burst=1))
    refreshed = keys.get(key.id)
    assert refreshed is not None
    usage.admit(refreshed)
    with pytest.raises(FaceApiError) as caught:
        usage.admit(refreshed)
    assert caught.value.code is ErrorCode.RATE_LIMITED


def test_the_monthly_quota_refuses_until_next_month(store: SqlStore) -> None:
    key = KeyService(store).create("x", limits=KeyLimits(monthly_quota=3)).record
    usage = UsageService(store, Limits())
    for _ in range(3):
        usage.admit(key)
        usage.record(key.id, AGE, 0)
    with pytest.raises(FaceApiError) as caught:
        usage.admit(key)
    usage.record(key.id, AGE, caught.value.code)
    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert "monthly quota of 3 requests" in caught.value.message
    now = datetime.now(UTC)
    assert caught.value.retry_after == pytest.approx(seconds_to_next_month(now), abs=5)
    assert usage.used_this_month(key.id) == 3  # the refused request is not counted


def test_a_quota_set_mid_month_counts_the_requests_already_made(store: SqlStore) -> None:
    keys = KeyService(store)
    usage = UsageService(store, Limits())
    key = keys.create("x").record
    for _ in range(5):
        usage.admit(key)
    assert usage.used_this_month(key.id) == 5
    assert keys.set_limits(key.id, KeyLimits(monthly_quota=5))
    limited = keys.get(key.id)
    assert limited is not None
    with pytest.raises(FaceApiError) as caught:
        usage.admit(limited)
    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert usage.used_this_month(key.id) == 5


def test_the_quota_starts_again_each_month(store: SqlStore) -> None:
    key = KeyService(store).create("x").record
    assert [store.take_quota(key.id, "2030-01", 2) for _ in range(3)] == [True, True, False]
    assert [store.take_quota(key.id, "2030-02", 2) for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (datetime(2030, 1, 31, 23, 59, 30, tzinfo=UTC), 30),
        (datetime(2030, 12, 31, 23, 0, tzinfo=UTC), 3600),  # into the next year
        (datetime(2030, 2, 1, 0, 0, tzinfo=UTC), 28 * 86400),
    ],
)
def test_seconds_to_next_month(now: datetime, seconds: int) -> None:
    assert seconds_to_next_month(now) == seconds


def test_rotation_keeps_name_owner_and_limits_and_revokes_the_old_key(store: SqlStore) -> None:
    keys = KeyService(store)
    limits = KeyLimits(rate_per_second=2, burst=4, monthly_quota=1000)
    old = keys.create("shop", limits=limits)
    new = keys.rotate(old.record.id)
    assert (new.record.name, new.record.account_id, new.record.limits) == ("shop", None, limits)
    assert new.secret != old.secret
    assert keys.authenticate(new.secret).id == new.record.id
    with pytest.raises(FaceApiError):
        keys.authenticate(old.secret)
    with pytest.raises(ValueError, match="active"):
        keys.rotate(old.record.id)


def test_a_rotation_that_fails_leaves_the_old_key_working(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old key was revoked first, on its own: a failure to add the new one left none."""
    keys = KeyService(store)
    old = keys.create("site")

    def busy(*_: object) -> None:
        raise StoreBusyError("the database stayed locked by another process")

    monkeypatch.setattr(sql, "_insert_key", busy)
    with pytest.raises(StoreBusyError):
        keys.rotate(old.record.id)
    assert [key.id for key in keys.list()] == [old.record.id]
    assert keys.authenticate(old.secret).id == old.record.id


def test_a_key_named_before_the_rules_for_names_can_still_be_rotated(store: SqlStore) -> None:
    legacy = dataclasses.replace(
        KeyService(store).create("placeholder").record, id="0123456789ab", name="shop\x07"
    )
    store.add_key(legacy)
    new = KeyService(store).rotate(legacy.id)
    assert new.record.name == "shop\x07"
    keys = {key.id: key for key in store.list_keys(None)}
    assert keys[new.record.id].active
    assert not keys[legacy.id].active


class _ReadsTogether:
    """A store whose key reads all return together: every caller has read before any writes."""

    def __init__(self, store: SqlStore, callers: int) -> None:
        self._store = store
        self._barrier = threading.Barrier(callers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        record = self._store.get_key(key_id)
        self._barrier.wait(timeout=10)
        return record


def test_a_rotation_submitted_twice_at_once_makes_one_new_key(store: SqlStore) -> None:
    old = KeyService(store).create("shop").record
    keys = KeyService(_ReadsTogether(store, callers=2))  # type: ignore[arg-type]

    def rotate(_: int) -> str:
        try:
            return keys.rotate(old.id).record.id
        except ValueError:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(rotate, range(2)))
    assert outcomes.count("refused") == 1
    assert [key.id for key in store.list_keys(None) if key.active] == [
        outcome for outcome in outcomes if outcome != "refused"
    ]


def test_keys_are_listed_per_owner(store: SqlStore) -> None:
    keys = KeyService(store)
    account = AccountService(store).create("ada@example.com", "correct horse battery")
    mine = keys.create("mine", account.id).record
    keys.create("nobody's")
    assert [key.id for key in keys.list(account.id)] == [mine.id]
    assert len(keys.list()) == 2


def _row(day: int, endpoint: str, code: int, count: int) -> UsageRow:
    return UsageRow("k", date(2030, 1, day), endpoint, code, count)


def test_summary_folds_rows_into_days_endpoints_and_error_codes() -> None:
    rows = [
        _row(1, AGE, 0, 5),
        _row(1, AGE, 3001, 2),
        _row(3, GENDER, 0, 4),
        _row(3, GENDER, 4003, 1),
        _row(9, AGE, 0, 50),  # outside the window
    ]
    summary = summarize(rows, date(2030, 1, 1), date(2030, 1, 4))
    assert [day.day.day for day in summary.days] == [1, 2, 3, 4]
    assert [day.total for day in summary.days] == [7, 0, 5, 0]
    assert [day.errors for day in summary.days] == [2, 0, 1, 0]
    assert summary.days[0].requests == {AGE: 7}
    assert summary.errors_by_code == {3001: 2, 4003: 1}
    assert (summary.total, summary.errors) == (12, 3)


def test_chart_stacks_each_day_by_endpoint_under_round_ticks() -> None:
    rows = [_row(1, AGE, 0, 5), _row(1, GENDER, 0, 2), _row(2, GENDER, 3001, 1)]
    chart = daily_chart(summarize(rows, date(2030, 1, 1), date(2030, 1, 2)), [AGE, GENDER])
    assert [tick.label for tick in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    age, gender, later = chart.bars
    assert (age.series, gender.series, later.series) == (0, 1, 1)
    assert gender.y + gender.height == pytest.approx(age.y)  # stacked on top
    assert age.height == pytest.approx(2.5 * gender.height)
    assert chart.bottom - age.y - age.height == pytest.approx(0)
    labels = [point.label for point in chart.errors]
    assert labels == ["2030-01-01: 0 errors", "2030-01-02: 1 error"]


def test_requests_arriving_together_get_one_place_each() -> None:
    """One slot and one waiting place: of five requests at once, two are taken, three turned
    away. Read from the thread limiter's statistics, all five used to pass."""
    queue = InferenceQueue(slots=1, max_waiting=1)
    release = threading.Event()

    async def request() -> int:
        try:
            with queue.place():
                await queue.run(release.wait)  # holds its slot until released
                return 0
        except FaceApiError as failure:
            return failure.code

    async def burst() -> list[int]:
        requests = [asyncio.create_task(request()) for _ in range(5)]
        await asyncio.sleep(0.2)
        release.set()
        return await asyncio.gather(*requests)

    codes = asyncio.run(burst())
    assert sorted(codes) == [0, 0, *[ErrorCode.SERVER_BUSY] * 3]
    with queue.place(), queue.place():  # every place was given back
        pass
