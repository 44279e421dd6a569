"""Where one request's time goes: each stage of the engine, in process, per image kind."""

from __future__ import annotations

from collections.abc import Sequence

from faceapi.engine.pipeline import Engine, Task
from faceapi.evaluation.bench.images import BenchImage
from faceapi.evaluation.metrics import Metrics, timing_metrics
from faceapi.settings import Settings


def stage_profile(images: Sequence[BenchImage], runs: int) -> Metrics:
    """Median and p95 per stage over `runs` analyses of each image, all three tasks at once.

    The server runs one task per request, so a request pays decode, detect and align plus one
    model; here every model's stage is shown side by side.
    """
    settings = Settings()
    engine = Engine.load(settings.npm_models_dir, settings.engine_options())
    tasks = frozenset(Task)
    profile: Metrics = {}
    for image in images:
        engine.analyze(image.data, tasks)  # untimed: first calls allocate
        analyses = [engine.analyze(image.data, tasks) for _ in range(runs)]
        stages = timing_metrics([{**a.timings, "total": sum(a.timings.values())} for a in analyses])
        slowest = max(
            (stage for stage in stages if stage != "total"),
            key=lambda stage: stages[stage]["median_ms"],
        )
        profile[image.kind] = {
            "runs": runs,
            "faces_found": analyses[0].faces_found,
            "stages": stages,
            "slowest": slowest,
        }
    return profile
