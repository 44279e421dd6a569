"""Per-key usage counting and rate limiting, kept in the store so every worker agrees."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.storage import Store, UsageRow


class UsageService:
    def __init__(self, store: Store, rate_per_second: float, burst: int) -> None:
        """`rate_per_second` 0 means no limit."""
        self._store = store
        self._rate = rate_per_second
        self._burst = max(1, burst)

    def admit(self, key_id: str) -> None:
        """Raise RATE_LIMITED, with the seconds to wait, if the key is over its limit."""
        if self._rate <= 0:
            return
        wait = self._store.take_rate_token(key_id, time.time(), 1 / self._rate, self._burst)
        if wait is not None:
            raise FaceApiError(ErrorCode.RATE_LIMITED, retry_after=max(1, math.ceil(wait)))

    def record(self, key_id: str, endpoint: str, code: int) -> None:
        self._store.record_request(key_id, endpoint, code, datetime.now(UTC))

    def report(self, since: date, key_id: str | None = None) -> list[UsageRow]:
        return self._store.usage(since, key_id)
