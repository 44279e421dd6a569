"""A real `faceapi serve` process on a free port and a fresh database, and its CLI beside it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

FACEAPI = [sys.executable, "-m", "faceapi.cli"]


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    environment: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*FACEAPI, *args],
            env=self.environment,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def new_key(self, name: str) -> str:
        return self.cli("keys", "create", "--name", name).strip().splitlines()[-1]

    def analyze(self, endpoint: str, image: str, key: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/faceapi/v1/{endpoint}", json={"image": image, "api_key": key}, timeout=60
        )


@contextmanager
def running_server(folder: Path, workers: int = 2, **settings: str) -> Iterator[Server]:
    """`faceapi serve` with FACEAPI_* `settings` while the block runs; fails if never ready."""
    environment = {
        **os.environ,
        "FACEAPI_DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        **{f"FACEAPI_{name.upper()}": value for name, value in settings.items()},
    }
    port = _free_port()
    log = folder / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*FACEAPI, "serve", "--port", str(port), "--workers", str(workers)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while not _ready(url):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"server did not become ready:\n{log.read_text()}")
        time.sleep(0.2)
    try:
        yield Server(url, log, environment)
    finally:
        process.terminate()
        process.wait(15)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz").status_code == 200
    except httpx.TransportError:
        return False
