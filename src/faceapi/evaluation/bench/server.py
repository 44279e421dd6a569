"""The server under test: `faceapi serve` started here, or one already running at a URL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

FACEAPI = [sys.executable, "-m", "faceapi.cli"]
STARTUP_TIMEOUT = 180.0  # seconds: models are verified and loaded before the port opens


class ServerError(RuntimeError):
    """The server could not be started, or a key could not be made for it."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    api_key: str
    pid: int | None = None  # the server process, when started here, to measure CPU and memory


@contextmanager
def local_server() -> Iterator[Target]:
    """`faceapi serve` on a free port, a fresh SQLite database, a key from `faceapi keys create`.

    The current settings (FACEAPI_* and --config) apply, except the database.
    """
    with tempfile.TemporaryDirectory(prefix="faceapi-bench-") as folder:
        environment = {
            **os.environ,
            "FACEAPI_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
            "FACEAPI_LOG_LEVEL": "warning",
        }
        key = _create_key(environment)
        port, log = _free_port(), Path(folder) / "server.log"
        url = f"http://127.0.0.1:{port}"
        with log.open("w") as output:
            process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
                [*FACEAPI, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_healthy(url, process, log)
            yield Target(url, key, process.pid)
        finally:
            _stop(process)


def _create_key(environment: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        [*FACEAPI, "keys", "create", "--name", "bench"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ServerError(f"faceapi keys create failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    raise ServerError(f"faceapi serve did not become healthy:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
