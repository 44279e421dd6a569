"""`faceapi eval` (accuracy on a labelled folder, beside peers) and `faceapi bench` (speed)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from faceapi.engine.manifest import ModelUnavailableError
from faceapi.evaluation.dataset import SAMPLE_SEED, DatasetError, load_dataset
from faceapi.evaluation.metrics import Metrics
from faceapi.evaluation.peers.faceapijs import FaceApiJsError
from faceapi.evaluation.report import build_report, write_outputs
from faceapi.evaluation.runner import run_system
from faceapi.evaluation.systems import OURS, PEERS, SystemSpec, tasks_for

CORES = os.cpu_count() or 1


@click.command("eval")
@click.argument("dataset_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default: reports/DATASET, or reports/DATASET-SPLIT).",
)
@click.option("--split", help="Only the rows whose `split` column has this value, e.g. val.")
@click.option("--limit", type=click.IntRange(min=1), help="A seeded sample of this many rows.")
@click.option("--seed", type=int, default=SAMPLE_SEED, show_default=True, help="Seed of --limit.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=CORES,
    show_default="CPU cores",
    help="Processes per system, each with its own models.",
)
@click.option(
    "--crops",
    is_flag=True,
    help="Images are tight face crops (FER2013): skip the detector, the whole frame is the face.",
)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    type=click.Choice(sorted(PEERS)),
    help="Also run this system on the same images, and compare (repeatable).",
)
@click.pass_context
def evaluate(
    context: click.Context,
    dataset_dir: Path,
    out: Path | None,
    split: str | None,
    limit: int | None,
    seed: int,
    workers: int,
    crops: bool,
    peers: tuple[str, ...],
) -> None:
    """Measure accuracy and time per stage on DATASET_DIR (a folder with labels.csv)."""
    try:
        dataset = load_dataset(dataset_dir, split=split, limit=limit, seed=seed)
    except DatasetError as error:
        raise click.ClickException(str(error)) from error
    tasks = tasks_for(dataset.columns)
    for peer in peers:
        if not tasks & PEERS[peer].tasks:
            raise click.UsageError(f"{peer} estimates none of: {', '.join(dataset.columns)}")
    images = [sample.path for sample in dataset.samples]
    click.echo(f"{dataset.name}: {len(images):,} images, labels {', '.join(dataset.columns)}")
    try:
        runs = [
            run_system(SystemSpec(kind, tasks, crops), images, workers)
            for kind in dict.fromkeys((OURS, *peers))
        ]
    except (ModelUnavailableError, FaceApiJsError) as error:
        raise click.ClickException(str(error)) from error
    report = build_report(
        command=_command_line(context), dataset=dataset, crops=crops, workers=workers, runs=runs
    )
    folder = out or Path("reports") / dataset.name.replace("/", "-")
    written = write_outputs(folder, report, dataset, runs)
    for name, metrics in report["systems"].items():
        click.echo(f"{name}: {_headline(metrics)}")
    click.echo(f"Wrote {len(written)} files to {folder}; start with {folder / 'summary.md'}")


def _headline(metrics: Metrics) -> str:
    parts = [f"no face {100 * (metrics['detection']['no_face_share'] or 0):.1f}%"]
    if "age" in metrics and metrics["age"]["mae"] is not None:
        parts.append(f"age MAE {metrics['age']['mae']:.2f}")
    for attribute in ("gender", "expression"):
        if attribute in metrics:
            parts.append(f"{attribute} accuracy {100 * metrics[attribute]['accuracy']:.1f}%")
    return ", ".join(parts)


def _command_line(context: click.Context) -> str:
    """The command as it could be retyped: arguments, then every option not at its default."""
    words = ["faceapi"]  # as installed, however it was launched
    config = context.parent.params.get("config") if context.parent else None
    if config is not None:
        words += ["--config", str(config)]
    words.append(context.info_name or "")
    for parameter in context.command.params:
        value = context.params[parameter.name or ""]
        if isinstance(parameter, click.Argument):
            words.append(str(value))
        elif value != parameter.default and value not in (None, (), False):
            flag = parameter.opts[0]
            if isinstance(parameter, click.Option) and parameter.is_flag:
                words.append(flag)
            else:
                values = value if isinstance(value, tuple) else (value,)
                words += [word for v in values for word in (flag, str(v))]
    return shlex.join(words)
