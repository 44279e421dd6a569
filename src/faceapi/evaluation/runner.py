"""Run one system over many images on all cores: a process pool, one system per worker.

ONNX sessions are single-threaded by design, so parallelism comes from processes. Workers
are spawned (not forked) so none inherits a half-initialised runtime or a Node pipe.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from tqdm import tqdm

from faceapi.evaluation.systems import Outcome, System, SystemSpec, build_system

# Each worker's system, or why it could not be built: raising it from `_analyze` reports the
# failure to the caller, where an exception in a pool initializer would respawn forever.
_worker: System | Exception | None = None


@dataclass(frozen=True, slots=True)
class SystemRun:
    """A system's outcomes, one per image in the order given, and its versions."""

    name: str
    outcomes: tuple[Outcome, ...]
    versions: dict[str, Any]


def run_system(spec: SystemSpec, images: Sequence[Path], workers: int) -> SystemRun:
    """Analyse `images` with `workers` processes, with a progress bar on a terminal."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(spec,)) as pool:
        name, versions = pool.apply(_describe_worker)
        answers = pool.imap(_analyze, images, chunksize=4)
        outcomes = tuple(tqdm(answers, total=len(images), desc=name, unit="image", disable=None))
        pool.close()
        pool.join()  # lets each worker's Finalize close its system
    return SystemRun(name, outcomes, versions)


def _start_worker(spec: SystemSpec) -> None:
    global _worker
    try:
        system = build_system(spec)
    except Exception as error:  # reported by the first task, see _worker
        _worker = error
        return
    _worker = system
    Finalize(system, system.close, exitpriority=10)


def _system() -> System:
    if isinstance(_worker, Exception):
        raise _worker
    assert _worker is not None
    return _worker


def _describe_worker() -> tuple[str, dict[str, Any]]:
    system = _system()
    return system.name, system.versions()


def _analyze(image: Path) -> Outcome:
    start = time.perf_counter()
    outcome = _system().analyze(image)
    return replace(outcome, timings={**outcome.timings, "total": time.perf_counter() - start})
