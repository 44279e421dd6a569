"""Closed-loop HTTP load: N clients, each sending its next request as soon as one is answered."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np

from faceapi.errors import code_name
from faceapi.evaluation.metrics import Metrics

REQUEST_TIMEOUT = 120.0  # seconds; a 1920-px photo at 16 clients on 2 cores can queue a while
_JSON = {"content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class Call:
    """One request the clients can send; POST bodies are encoded once, up front."""

    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    """How long each level runs: `seconds` of sending, or exactly `requests` requests."""

    seconds: float | None = None
    requests: int | None = None

    def allows(self, sent: int, started: float) -> bool:
        if self.requests is not None:
            return sent < self.requests
        assert self.seconds is not None
        return time.perf_counter() - started < self.seconds


@dataclass(slots=True)
class LevelResult:
    concurrency: int
    elapsed: float = 0.0  # seconds from the first request to the last answer
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter[str] = field(default_factory=Counter)  # ErrorCode name, HTTP_x or exception

    def summary(self) -> Metrics:
        """Throughput of successful requests, their latency percentiles, errors by code."""
        latencies_ms = np.array(self.latencies) * 1000
        return {
            "concurrency": self.concurrency,
            "requests": len(self.latencies) + self.errors.total(),
            "ok": len(self.latencies),
            "elapsed_s": self.elapsed,
            "requests_per_second": len(self.latencies) / self.elapsed if self.elapsed else 0.0,
            "latency_ms": {
                name: float(np.percentile(latencies_ms, q)) if len(latencies_ms) else None
                for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
            },
            "errors": dict(sorted(self.errors.items())),
        }


def run_level(url: str, calls: list[Call], concurrency: int, budget: Budget) -> LevelResult:
    """Drive `url` with `concurrency` clients, cycling through `calls`, until `budget` is spent."""
    return asyncio.run(_drive(url, calls, concurrency, budget))


async def _drive(url: str, calls: list[Call], concurrency: int, budget: Budget) -> LevelResult:
    result = LevelResult(concurrency)
    sent = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT) as client:
        started = time.perf_counter()

        async def client_loop() -> None:
            while budget.allows(number := next(sent), started):
                call = calls[number % len(calls)]
                begin = time.perf_counter()
                error = await _send(client, call)
                if error is None:
                    result.latencies.append(time.perf_counter() - begin)
                else:
                    result.errors[error] += 1

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


async def _send(client: httpx.AsyncClient, call: Call) -> str | None:
    """None on success, else what went wrong: the envelope's error code, HTTP status, exception."""
    try:
        response = await client.request(
            call.method, call.path, content=call.body, headers=_JSON if call.body else None
        )
    except httpx.HTTPError as error:
        return type(error).__name__
    if response.status_code != 200:
        return f"HTTP_{response.status_code}"
    if call.body is None:
        return None  # GET /healthz has no envelope
    code = response.json().get("code")
    return None if code == 0 else code_name(code)
