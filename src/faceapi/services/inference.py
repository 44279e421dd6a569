"""Bounded inference: a fixed number of analyses at once, a bounded wait, then 'server busy'."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from faceapi.errors import ErrorCode, FaceApiError

T = TypeVar("T")


class InferenceQueue:
    """Runs blocking inference in worker threads so the event loop never waits on a model."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self._limiter = anyio.CapacityLimiter(slots)
        self._max_waiting = max_waiting

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in a thread, or raise SERVER_BUSY at once when the queue is full."""
        statistics = self._limiter.statistics()
        if statistics.borrowed_tokens >= statistics.total_tokens and (
            statistics.tasks_waiting >= self._max_waiting
        ):
            raise FaceApiError(ErrorCode.SERVER_BUSY, retry_after=1)
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)
