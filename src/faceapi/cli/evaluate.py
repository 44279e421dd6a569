"""`faceapi eval` (accuracy on a labelled folder, beside peers) and `faceapi bench` (speed)."""

from __future__ import annotations

import os
import platform
import shlex
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click

from faceapi.api.contract import ENDPOINTS
from faceapi.engine.manifest import ModelUnavailableError
from faceapi.evaluation.bench import report as bench_report
from faceapi.evaluation.bench.images import DEFAULT_DATA_DIR, bench_images, has_shared_images
from faceapi.evaluation.bench.load import Budget
from faceapi.evaluation.bench.monitor import tree_rss
from faceapi.evaluation.bench.profile import stage_profile
from faceapi.evaluation.bench.run import MB, load_levels
from faceapi.evaluation.bench.server import ServerError, Target, local_server
from faceapi.evaluation.dataset import SAMPLE_SEED, DatasetError, load_dataset
from faceapi.evaluation.metrics import Metrics
from faceapi.evaluation.peers.faceapijs import FaceApiJsError
from faceapi.evaluation.report import build_report, write_outputs
from faceapi.evaluation.runner import run_system
from faceapi.evaluation.systems import OURS, PEERS, SystemSpec, tasks_for

CORES = os.cpu_count() or 1
CONCURRENCY = (1, 2, 4, 8, 16)


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
    "--turn",
    type=click.Choice(["0", "90", "180", "270"]),
    default="0",
    help="Turn every image this many degrees anticlockwise, as a photo stored turned without "
    "an EXIF tag would arrive (our engine only).",
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
    turn: str,
    peers: tuple[str, ...],
) -> None:
    """Measure accuracy and time per stage on DATASET_DIR (a folder with labels.csv)."""
    if turn != "0" and peers:
        raise click.UsageError("--turn measures our engine only; leave out --peer")
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
            run_system(SystemSpec(kind, tasks, crops, int(turn)), images, workers)
            for kind in dict.fromkeys((OURS, *peers))
        ]
    except (ModelUnavailableError, FaceApiJsError) as error:
        raise click.ClickException(str(error)) from error
    report = build_report(
        command=_command_line(context),
        dataset=dataset,
        crops=crops,
        turn=int(turn),
        workers=workers,
        runs=runs,
    )
    folder = out or Path("reports") / dataset.name.replace("/", "-")
    written = write_outputs(folder, report, dataset, runs)
    for name, metrics in report["systems"].items():
        click.echo(f"{name}: {_headline(metrics)}")
    click.echo(f"Wrote {len(written)} files to {folder}; start with {folder / 'summary.md'}")


@click.command("bench")
@click.option("--url", help="Benchmark the server running here instead of starting one.")
@click.option(
    "--api-key",
    envvar="FACEAPI_BENCH_API_KEY",
    help="A key for the server at --url (or FACEAPI_BENCH_API_KEY). Never written to the report.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    multiple=True,
    default=CONCURRENCY,
    show_default=True,
    help="Concurrent clients of one level (repeatable).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds each level sends for.",
)
@click.option("--requests", type=click.IntRange(min=1), help="Requests per level, not --duration.")
@click.option(
    "--endpoint",
    "endpoints",
    type=click.Choice([endpoint.task.value for endpoint in ENDPOINTS]),
    multiple=True,
    help="Endpoints that image requests rotate through (repeatable; default: all three).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Untimed rounds of each target's requests before its levels.",
)
@click.option(
    "--profile-runs",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="In-process analyses per image for the stage profile.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA_DIR,
    envvar="FACEAPI_DATA_DIR",
    show_default=True,
    help="Shared data for the bench images; without it, scikit-image's astronaut is used.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports/bench"),
    show_default=True,
)
@click.pass_context
def bench(
    context: click.Context,
    url: str | None,
    api_key: str | None,
    concurrency: tuple[int, ...],
    duration: float,
    requests: int | None,
    endpoints: tuple[str, ...],
    warmup: int,
    profile_runs: int,
    data_dir: Path,
    out: Path,
) -> None:
    """Drive the server over HTTP at each concurrency, then profile each stage in process."""
    if url is not None and api_key is None:
        raise click.UsageError("--url needs --api-key")
    if not has_shared_images(data_dir):
        click.echo(f"{data_dir} has no bench images; using scikit-image's astronaut", err=True)
    images = bench_images(data_dir)
    chosen = [e for e in ENDPOINTS if not endpoints or e.task.value in endpoints]
    budget = Budget(requests=requests) if requests else Budget(seconds=duration)
    load_before = os.getloadavg()
    server: AbstractContextManager[Target] = (
        nullcontext(Target(url, api_key or "")) if url else local_server()
    )
    try:
        with server as target:
            idle_rss = tree_rss(target.pid) / MB if target.pid else None
            levels = load_levels(
                target, images, chosen, concurrency, budget, warmup=warmup, on_level=_echo_level
            )
    except ServerError as error:
        raise click.ClickException(str(error)) from error
    load_after = os.getloadavg()
    click.echo(f"Stage profile: {profile_runs} in-process runs per image")
    profile = stage_profile(images, profile_runs)
    report = bench_report.build_report(
        command=_command_line(context),
        machine={
            "cpus": CORES,
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": load_after,
        },
        server={"url": target.url, "started_here": url is None, "idle_rss_mb": idle_rss},
        images=images,
        endpoints=[endpoint.name for endpoint in chosen],
        budget=budget,
        levels=levels,
        profile=profile,
    )
    written = bench_report.write_outputs(out, report)
    click.echo(f"Wrote {len(written)} files to {out}; start with {out / 'summary.md'}")


def _echo_level(level: Metrics) -> None:
    latency = level["latency_ms"]
    click.echo(
        f"{level['target']:>14} x{level['concurrency']:<3} {level['requests_per_second']:8.1f} "
        f"req/s  p50 {latency['p50'] or 0:7.1f} ms  p95 {latency['p95'] or 0:7.1f} ms  "
        f"errors {sum(level['errors'].values())}"
    )


def _headline(metrics: Metrics) -> str:
    parts = [f"no face {100 * (metrics['detection']['no_face_share'] or 0):.1f}%"]
    if "age" in metrics and metrics["age"]["mae"] is not None:
        parts.append(f"age MAE {metrics['age']['mae']:.2f}")
    for attribute in ("gender", "expression"):
        if attribute in metrics:
            parts.append(f"{attribute} accuracy {100 * metrics[attribute]['accuracy']:.1f}%")
    return ", ".join(parts)


# Options whose values a report must not keep: reports get shared, keys must not be.
SECRET_OPTIONS = frozenset({"api_key"})


def _command_line(context: click.Context) -> str:
    """The command as it could be retyped: arguments, then every option not at its default.

    Secret values are written as "<hidden>".
    """
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
            elif parameter.name in SECRET_OPTIONS:
                words += [flag, "<hidden>"]
            else:
                values = value if isinstance(value, tuple) else (value,)
                words += [word for v in values for word in (flag, str(v))]
    return shlex.join(words)
