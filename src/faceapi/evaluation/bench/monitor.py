"""CPU and peak memory of the server's process tree while a load level runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

SAMPLE_INTERVAL = 0.05  # seconds between memory samples


@dataclass(slots=True)
class ResourceUse:
    """Filled in when the measured block ends; None for a server not started here."""

    cpu_percent: float | None = None  # CPU time over wall time, 100 = one core busy
    peak_rss_bytes: int | None = None


@contextmanager
def measure(pid: int | None) -> Iterator[ResourceUse]:
    """CPU use and peak resident memory of `pid` and its children during the block."""
    usage = ResourceUse()
    if pid is None:
        yield usage
        return
    root = psutil.Process(pid)
    peak = _PeakRss(root)
    cpu_before, wall_before = _cpu_seconds(root), time.perf_counter()
    peak.start()
    try:
        yield usage
    finally:
        peak.stop()
        wall = time.perf_counter() - wall_before
        usage.cpu_percent = 100 * (_cpu_seconds(root) - cpu_before) / wall
        usage.peak_rss_bytes = peak.bytes


def tree_rss(pid: int) -> int:
    """Resident memory of `pid` and its children now, in bytes."""
    return _rss(psutil.Process(pid))


class _PeakRss(threading.Thread):
    def __init__(self, root: psutil.Process) -> None:
        super().__init__(daemon=True)
        self._root = root
        self._done = threading.Event()
        self.bytes = _rss(root)

    def run(self) -> None:
        while not self._done.wait(SAMPLE_INTERVAL):
            self.bytes = max(self.bytes, _rss(self._root))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: psutil.Process) -> list[psutil.Process]:
    return [root, *root.children(recursive=True)]


def _cpu_seconds(root: psutil.Process) -> float:
    return sum(_ignore_gone(lambda p: sum(p.cpu_times()[:2]), p) for p in _tree(root))


def _rss(root: psutil.Process) -> int:
    return int(sum(_ignore_gone(lambda p: p.memory_info().rss, p) for p in _tree(root)))


def _ignore_gone(read: Callable[[psutil.Process], float], process: psutil.Process) -> float:
    """A child may exit between listing and reading; it then counts as nothing."""
    try:
        return float(read(process))
    except psutil.NoSuchProcess:
        return 0.0
