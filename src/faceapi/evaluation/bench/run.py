"""Every load level: /healthz as the framework's floor, then each image kind, each concurrency."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence

from faceapi.api.contract import Endpoint
from faceapi.evaluation.bench.images import BenchImage
from faceapi.evaluation.bench.load import Budget, Call, run_level
from faceapi.evaluation.bench.monitor import measure
from faceapi.evaluation.bench.server import Target
from faceapi.evaluation.metrics import Metrics

HEALTHZ = "healthz"
MB = 1024 * 1024


def load_levels(
    target: Target,
    images: Sequence[BenchImage],
    endpoints: Sequence[Endpoint],
    concurrency: Sequence[int],
    budget: Budget,
    *,
    warmup: int,
    on_level: Callable[[Metrics], None],
) -> list[Metrics]:
    """Each target at each concurrency, after `warmup` untimed rounds of its requests.

    Requests for an image rotate through `endpoints`, as a client using them all would.
    """
    targets = {HEALTHZ: [Call("GET", "/healthz")]}
    targets |= {image.kind: _image_calls(image, target.api_key, endpoints) for image in images}
    levels = []
    for name, calls in targets.items():
        run_level(target.url, calls, 1, Budget(requests=warmup * len(calls)))
        for clients in concurrency:
            levels.append({"target": name, **_measured_level(target, calls, clients, budget)})
            on_level(levels[-1])
    return levels


def _measured_level(target: Target, calls: list[Call], clients: int, budget: Budget) -> Metrics:
    client_cpu = time.process_time()
    with measure(target.pid) as server:
        result = run_level(target.url, calls, clients, budget)
    client_cpu = time.process_time() - client_cpu
    return {
        **result.summary(),
        "server_cpu_percent": server.cpu_percent,
        "server_peak_rss_mb": None if server.peak_rss_bytes is None else server.peak_rss_bytes / MB,
        # The load generator shares the machine: if it is near 100%, it is the bottleneck.
        "client_cpu_percent": 100 * client_cpu / result.elapsed if result.elapsed else None,
    }


def _image_calls(image: BenchImage, api_key: str, endpoints: Sequence[Endpoint]) -> list[Call]:
    encoded = base64.b64encode(image.data).decode("ascii")
    body = json.dumps({"image": encoded, "api_key": api_key}).encode()
    return [Call("POST", endpoint.path, body) for endpoint in endpoints]
