"""Bounded inference: a fixed number of analyses at once, a bounded wait, then 'server busy'."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio
import anyio.to_thread

from faceapi.errors import ErrorCode, FaceApiError

T = TypeVar("T")


class InferenceQueue:
    """Runs blocking inference in worker threads so the event loop never waits on a model.

    At most `slots` analyses run at once and `max_waiting` more wait for a slot; a request
    beyond those is turned away before it costs anything.
    """

    def __init__(self, slots: int, max_waiting: int) -> None:
        self._limiter = anyio.CapacityLimiter(slots)
        self._places = slots + max_waiting
        self._held = 0

    @contextmanager
    def place(self) -> Iterator[None]:
        """Hold a place, running or waiting, while the block runs; raise SERVER_BUSY if none.

        Counted here, synchronously, rather than read from the limiter's statistics: requests
        arriving together all pass such a check before any of them has taken a slot.
        """
        if self._held >= self._places:
            raise FaceApiError(ErrorCode.SERVER_BUSY, retry_after=1)
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in a thread once a slot is free; call it inside `place()`."""
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)
